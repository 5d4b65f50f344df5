// SPDX-License-Identifier: Apache-2.0
// The official JS client against `ftrack-host` on its embedded hub: a discover request
// answered by two plugin instances (one plugin configured twice), each with its own reply;
// then SIGTERM exits 0.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { USER, KEY, hostBin, runPeer, waitFor } from "./hub_helpers.mjs";

const PEER = fileURLToPath(new URL("./hub_js_peer.mjs", import.meta.url));
const pluginDir = join(process.env.FTRACK_TEST_PLUGIN_DIR || "", "echo");
let dir, host, stderr = "", exited;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ftrack-host-interop-"));
  const config = join(dir, "config.json");
  writeFileSync(
    config,
    JSON.stringify({
      arguments: { topic: "ftrack.action.discover" },
      plugins: {
        "echo-a": { plugin: "echo", arguments: { tag: "A" } },
        "echo-b": { plugin: "echo", arguments: { tag: "B" } },
      },
    }),
  );
  const env = { ...process.env, FTRACK_API_USER: USER, FTRACK_API_KEY: KEY };
  delete env.FTRACK_SERVER;
  host = spawn(
    hostBin(),
    ["--listen", "127.0.0.1:0", "--data-dir", join(dir, "data"), "--plugin-path", pluginDir, "--config", config],
    { env, stdio: ["ignore", "ignore", "pipe"] },
  );
  host.stderr.on("data", (d) => (stderr += d.toString()));
  exited = new Promise((r) => host.on("exit", (code, signal) => r({ code, signal })));
  await waitFor(() => stderr.includes("ready:"), 30000, "ftrack-host ready");
});

after(async () => {
  if (host.exitCode === null && host.signalCode === null) host.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

test("discover is answered by every matching plugin instance", { timeout: 60000 }, async () => {
  const url = stderr.match(/http:\/\/127\.0\.0\.1:\d+/)[0];
  assert.match(stderr, /ready: 2 plugin instances running/);
  assert.ok(!stderr.includes(KEY), "the key appeared in the host's output");
  const peer = runPeer(PEER, ["publish", url, "ftrack.action.discover", '{"selection":[]}', "", "3000"]);
  await waitFor(() => peer.lines.includes("DONE"), 30000, "publisher done");
  await peer.kill();
  const replies = peer.lines.filter((l) => l.startsWith("REPLY ")).map((l) => JSON.parse(l.slice(6)));
  const byInstance = Object.fromEntries(replies.map((r) => [r.data.instance, r]));
  assert.equal(replies.length, 2, `replies: ${JSON.stringify(replies)}`);
  assert.equal(byInstance["echo-a"].data.arguments.tag, "A");
  assert.equal(byInstance["echo-b"].data.arguments.tag, "B");
  for (const r of replies) {
    assert.equal(r.topic, "ftrack.meta.reply");
    assert.deepEqual(r.data.data, { selection: [] });
  }
});

test("SIGTERM exits 0", { timeout: 30000 }, async () => {
  host.kill("SIGTERM");
  const r = await exited;
  assert.equal(r.code, 0, stderr.slice(-2000));
  assert.match(stderr, /stopped cleanly/);
});
