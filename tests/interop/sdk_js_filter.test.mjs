// SPDX-License-Identifier: Apache-2.0
// Interop 2: the C SDK subscribes with a compound expression and receives only the matching
// events published by the official JavaScript client; an event targeted at one subscriber's
// metadata reaches only that subscriber.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { runPeer } from "./hub_helpers.mjs";
import { stop, JS_PEER, startHubOn, runProbe, waitFor, sleep } from "./sdk_helpers.mjs";

let hub;
const procs = [];
before(async () => {
  hub = await startHubOn(0);
});
after(async () => {
  for (const p of procs) await stop(p);
  await hub.stop();
});

async function jsPublish(topic, data, target = "") {
  const p = runPeer(JS_PEER, ["publish", hub.url, topic, JSON.stringify(data), target, "300"]);
  procs.push(p);
  await waitFor(() => p.lines.includes("DONE") || p.exit !== null, 20000, `JS publish of ${topic}`);
  assert.ok(p.lines.includes("DONE"), `JS publisher failed: ${p.stderr}`);
}

test("compound subscription and targeted delivery, JS → C", { timeout: 120000 }, async () => {
  const c = runProbe(hub.url, [
    "--subscribe", "topic=test.a and data.kind=x or topic=test.b",
    "--meta-json", JSON.stringify({ id: "c-one", role: "one" }),
    "--subscribe", "topic=test.b or topic=test.end",
    "--meta-json", JSON.stringify({ id: "c-two", role: "two" }),
    "--time", "90",
  ]);
  procs.push(c);
  await waitFor(() => c.lines.some((l) => l.connected), 20000, "C subscriber connected");

  // Published in this order, each by its own JS process.
  await jsPublish("test.a", { kind: "x", n: 1 }); //   c-one
  await jsPublish("test.a", { kind: "y", n: 2 }); //   nobody
  await jsPublish("test.b", { n: 3 }); //              c-one, c-two
  await jsPublish("test.b", { n: 4 }, "role=two"); //  c-two only
  await jsPublish("test.b", { n: 5 }, "id=c-one"); //  c-one only
  await jsPublish("test.c", { kind: "x", n: 6 }); //   nobody
  await jsPublish("test.end", { n: 7 }); //            c-two: the end marker
  await waitFor(() => c.events("c-two").some((e) => e.topic === "test.end"), 15000, "end marker at C");
  await sleep(200);

  const ns = (sub) => c.events(sub).map((e) => e.data.n).sort((a, b) => a - b);
  assert.deepEqual(ns("c-one"), [1, 3, 5], c.dump());
  assert.deepEqual(ns("c-two"), [3, 4, 7], c.dump());
  for (const e of c.events()) {
    assert.equal(e.source.applicationId, "ftrack.api.javascript", "events come from the JS client");
    assert.ok(e.id && e.topic && "inReplyToEvent" in e);
  }
  // one delivery per event to the connection, then local dispatch per subscriber
  const ids = c.lines.filter((l) => l.event).map((l) => `${l.subscriber}/${l.event.id}`);
  assert.equal(new Set(ids).size, ids.length, "a subscriber saw an event twice");
});
