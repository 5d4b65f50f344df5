// SPDX-License-Identifier: Apache-2.0
// The official JavaScript client's Session against the embedded hub: start-up call, /api.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { Session } from "@ftrack/api";
import { startHub, USER, KEY } from "./hub_helpers.mjs";

let hub;
before(async () => {
  hub = await startHub();
});
after(async () => {
  const r = await hub.stop();
  assert.equal(r.code, 0, "hub exit code after SIGTERM");
});

test("Session completes its start-up call and query_server_information works", async () => {
  const session = new Session(hub.url, USER, KEY, { autoConnectEventHub: false });
  await session.initializing;
  assert.equal(session.serverVersion, "dev");
  assert.ok(Array.isArray(session.schemas) && session.schemas.length >= 11);
  for (const id of ["Project", "Task", "AssetVersion", "Component", "FileComponent", "Job", "User", "Note", "Status", "Location"]) {
    const schema = session.schemas.find((s) => s.id === id);
    assert.ok(schema, `schema ${id}`);
    assert.deepEqual(schema.primary_key.length > 0, true);
  }
  const [info] = await session.call([{ action: "query_server_information" }]);
  assert.equal(info.version, "dev");
  assert.match(info.schema_hash, /^[0-9a-f]{32}$/);
  assert.deepEqual(info.storage_scenario, { scenario: "ftrack.automatic", data: {} });
});

test("unsupported actions reject with the server's message", async () => {
  const session = new Session(hub.url, USER, KEY, { autoConnectEventHub: false });
  await session.initializing;
  await assert.rejects(session.call([{ action: "get_widget_url", name: "info" }]), /Invalid action u'get_widget_url'/);
});

test("wrong credentials reject the start-up call", async () => {
  const session = new Session(hub.url, USER, "wrong-key", { autoConnectEventHub: false });
  await assert.rejects(session.initializing, /API key is not valid/);
});
