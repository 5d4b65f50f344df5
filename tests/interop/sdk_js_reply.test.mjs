// SPDX-License-Identifier: Apache-2.0
// Interop 1: the official JavaScript client (its own process) subscribes; the C SDK publishes
// with a reply callback; the JS client receives the event and its automatic reply reaches the
// C publisher's reply callback.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { runPeer } from "./hub_helpers.mjs";
import { stop, exitedWithin, JS_PEER, USER, startHubOn, runProbe, waitFor, sleep } from "./sdk_helpers.mjs";

let hub;
const procs = [];
before(async () => {
  hub = await startHubOn(0);
});
after(async () => {
  for (const p of procs) await stop(p);
  await hub.stop();
});

function jsEvents(peer, id) {
  return peer.lines.filter((l) => l.startsWith(`EVENT ${id} `)).map((l) => JSON.parse(l.slice(`EVENT ${id} `.length)));
}

test("JS subscriber answers a C publish; the reply reaches the C callback", { timeout: 90000 }, async () => {
  const js = runPeer(JS_PEER, ["subscribe", hub.url, "test.sdk.ask", "js-responder", "kind=js"]);
  procs.push(js);
  await waitFor(() => js.lines.includes("READY"), 20000, "JS subscriber ready");

  // The JS client never reads acks, so its subscription may still be in flight: retry a few
  // times until one C publish got through; each attempt is a fresh C process.
  let c;
  for (let attempt = 1; attempt <= 5; attempt++) {
    c = runProbe(hub.url, [
      "--publish", "test.sdk.ask", "--data", JSON.stringify({ question: attempt }),
      "--wait-reply", "--reply-timeout", "3", "--exit-after", "1", "--time", "10",
    ]);
    procs.push(c);
    await exitedWithin(c, 15000);
    if (c.replies().length > 0) break;
    await sleep(300);
  }
  assert.equal(c.exit, 0, c.dump());
  const published = c.lines.find((l) => l.published)?.published;
  const hubId = c.lines.find((l) => l.connected)?.hub_id;
  assert.ok(published && hubId, c.dump());

  // The JS client received exactly that event, as the C SDK published it.
  const got = jsEvents(js, "js-responder").filter((e) => e.id === published);
  assert.equal(got.length, 1, `JS got the event ${got.length} times\n${js.lines.join("\n")}`);
  const ev = got[0];
  assert.equal(ev.topic, "test.sdk.ask");
  assert.ok(ev.data.question >= 1);
  assert.equal(ev.source.id, hubId);
  assert.equal(ev.source.user.username, USER);
  assert.equal(ev.target, "");

  // Its automatic reply came back to the C reply callback.
  const replies = c.replies();
  assert.equal(replies.length, 1, c.dump());
  const r = replies[0];
  assert.equal(r.topic, "ftrack.meta.reply");
  assert.equal(r.inReplyToEvent, published);
  assert.equal(r.target, `id=${hubId}`);
  assert.deepEqual(r.data, { answer: "js-responder" });
  assert.equal(r.source.id, "js-responder"); // the JS client replies with its subscriber's id
  // and the window closed with the final NULL call
  assert.ok(c.lines.some((l) => l.reply_closed === published), c.dump());
});
