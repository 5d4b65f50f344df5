// SPDX-License-Identifier: Apache-2.0
// Two (three) separate JavaScript processes through the embedded hub: delivery once per
// connection, target routing by subscriber metadata, replies back to the publisher.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startHub, rawClient, runPeer, waitFor, wireEvent, sleep } from "./hub_helpers.mjs";

const PEER = fileURLToPath(new URL("./hub_js_peer.mjs", import.meta.url));
let hub;
const peers = [];
before(async () => {
  hub = await startHub();
});
after(async () => {
  for (const p of peers) await p.kill();
  await hub.stop();
});

function events(peer, subscriber) {
  return peer.lines
    .filter((l) => l.startsWith(`EVENT ${subscriber} `))
    .map((l) => JSON.parse(l.slice(`EVENT ${subscriber} `.length)));
}

test("subscribe in one process, publish in another", { timeout: 60000 }, async () => {
  // Process A has two subscribers on one connection; B has one with role=b.
  const a = runPeer(PEER, ["subscribe", hub.url, "test.event", "a1,a2", "role=a"]);
  const b = runPeer(PEER, ["subscribe", hub.url, "test.event", "b1", "role=b"]);
  peers.push(a, b);
  await waitFor(() => a.lines.includes("READY") && b.lines.includes("READY"), 20000, "subscribers ready");

  // The JS client does not read acks: probe until both subscriptions are live on the hub.
  const raw = await rawClient(hub.url);
  let n = 0;
  await waitFor(async () => {
    await raw.publish(++n, wireEvent("test.event", { probe: n }));
    await sleep(50);
    return events(a, "a1").length > 0 && events(b, "b1").length > 0;
  }, 15000, "probe events at both subscribers");
  raw.close();
  await sleep(300);
  const before = { a1: events(a, "a1").length, a2: events(a, "a2").length, b1: events(b, "b1").length };

  const c = runPeer(PEER, ["publish", hub.url, "test.event", '{"n":1}', "", "2000"]);
  const d = runPeer(PEER, ["publish", hub.url, "test.event", '{"n":2}', "role=b", "2000"]);
  peers.push(c, d);
  await waitFor(() => c.lines.includes("DONE") && d.lines.includes("DONE"), 30000, "publishers done");

  const got = (peer, sub) => events(peer, sub).slice(before[sub]);
  // Broadcast: each callback exactly once (twice would mean the hub delivered per subscriber).
  for (const [peer, sub] of [[a, "a1"], [a, "a2"], [b, "b1"]]) {
    const n1 = got(peer, sub).filter((e) => e.data.n === 1);
    assert.equal(n1.length, 1, `${sub} got the broadcast ${n1.length} times`);
    assert.equal(n1[0].topic, "test.event");
    assert.ok(n1[0].source && n1[0].source.id, "forwarded with a source");
    assert.ok("sent" in n1[0], "forwarded with sent");
  }
  // Targeted at role=b: only B.
  assert.equal(got(b, "b1").filter((e) => e.data.n === 2).length, 1, "targeted event at b");
  assert.equal(got(a, "a1").filter((e) => e.data.n === 2).length, 0, "targeted event leaked to a");
  assert.equal(got(a, "a2").filter((e) => e.data.n === 2).length, 0, "targeted event leaked to a");

  // Replies reach the publisher: three subscriber callbacks answered the broadcast.
  const replies = c.lines.filter((l) => l.startsWith("REPLY ")).map((l) => JSON.parse(l.slice(6)));
  assert.deepEqual(replies.map((r) => r.data.answer).sort(), ["a1", "a2", "b1"]);
  for (const r of replies) assert.equal(r.topic, "ftrack.meta.reply");
  const dReplies = d.lines.filter((l) => l.startsWith("REPLY ")).map((l) => JSON.parse(l.slice(6)));
  assert.deepEqual(dReplies.map((r) => r.data.answer), ["b1"]);
});
