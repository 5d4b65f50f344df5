// SPDX-License-Identifier: Apache-2.0
// Interop 4: the hub is killed and restarted on the same port. The C client and the official
// JavaScript client both reconnect, subscribe again, and receive events published afterwards.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { runPeer } from "./hub_helpers.mjs";
import { stop, JS_PEER, startHubOn, runProbe, cPublish, waitFor, sleep } from "./sdk_helpers.mjs";

let hub;
const procs = [];
after(async () => {
  for (const p of procs) await stop(p);
  if (hub) await hub.stop();
});

function jsEvents(peer, id) {
  return peer.lines.filter((l) => l.startsWith(`EVENT ${id} `)).map((l) => JSON.parse(l.slice(`EVENT ${id} `.length)));
}

// Publish `phase` events from fresh C processes until both receivers saw one.
async function publishUntilBothSee(c, js, phase, ms) {
  let n = 0;
  const seen = () =>
    c.events("c-sub").some((e) => e.data.phase === phase) &&
    jsEvents(js, "js-sub").some((e) => e.data.phase === phase);
  await waitFor(async () => {
    await cPublish(hub.url, "test.restart", { phase, n: ++n });
    await sleep(200);
    return seen();
  }, ms, `both clients receiving '${phase}' events`);
  return n;
}

test("both clients come back after a hub restart on the same port", { timeout: 150000 }, async () => {
  hub = await startHubOn(0);
  const port = hub.port;
  const c = runProbe(hub.url, [
    "--meta", "--subscribe", "topic=test.restart", "--meta-json", JSON.stringify({ id: "c-sub" }),
    "--time", "120",
  ]);
  const js = runPeer(JS_PEER, ["subscribe", hub.url, "test.restart", "js-sub"]);
  procs.push(c, js);
  await waitFor(() => c.meta("connected").length === 1 && js.lines.includes("READY"), 20000, "both connected");
  await publishUntilBothSee(c, js, "before", 20000);

  await hub.kill("SIGKILL");
  await waitFor(() => c.meta("disconnected").length >= 1, 10000, "C client's ftrack.meta.disconnected");
  await sleep(1500); // both clients retry against a closed port meanwhile

  const restartedAt = Date.now();
  hub = await startHubOn(port, hub.dir);
  assert.equal(hub.port, port);
  await waitFor(() => c.meta("connected").length >= 2, 30000, "C client reconnected");
  const cBack = Date.now() - restartedAt;

  const published = await publishUntilBothSee(c, js, "after", 60000);
  const bothBack = Date.now() - restartedAt;
  console.log(`# C client reconnected ${cBack} ms after the restart began; both clients received ` +
    `events ${bothBack} ms after it (${published} publish attempt(s))`);

  // Nothing published after the restart was seen twice by either client.
  const after = c.events("c-sub").filter((e) => e.data.phase === "after").map((e) => e.id);
  assert.equal(new Set(after).size, after.length, c.dump());
  const jsAfter = jsEvents(js, "js-sub").filter((e) => e.data.phase === "after").map((e) => e.id);
  assert.equal(new Set(jsAfter).size, jsAfter.length);
  assert.equal(c.meta("connected").length, 2, c.dump());
});
