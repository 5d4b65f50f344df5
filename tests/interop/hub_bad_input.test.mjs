// SPDX-License-Identifier: Apache-2.0
// Raw socket.io traffic against the embedded hub: routing rules (Appendix B) and bad input.
// After each bad frame the same connection must still route, and other connections must
// be unaffected.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { startHub, rawClient, waitFor, wireEvent, sleep } from "./hub_helpers.mjs";

let hub, watcher;
before(async () => {
  hub = await startHub(["--heartbeat", "0.3"]);
  // A bystander connection subscribed to everything the tests publish.
  watcher = await rawClient(hub.url);
  await watcher.subscribe(1, "watcher", "topic=probe");
});
after(async () => {
  watcher.close();
  const r = await hub.stop();
  assert.equal(r.code, 0);
});

let ackId = 100;
// The connection still routes: publish a probe on it and see the echo (and the bystander).
async function assertAlive(client, label) {
  const id = `probe-${++ackId}`;
  await client.subscribe(++ackId, `self-${ackId}`, "topic=probe");
  await client.publish(++ackId, wireEvent("probe", {}, { id }));
  await waitFor(() => client.events().some((e) => e.id === id), 5000, `${label}: echo on the same connection`);
  await waitFor(() => watcher.events().some((e) => e.id === id), 5000, `${label}: bystander delivery`);
}

test("events are forwarded as received, acked, and never carry ack ids", async () => {
  const c = await rawClient(hub.url);
  await c.subscribe(1, "s1", "topic=fwd.exact");
  const ev = { id: "exact-1", topic: "fwd.exact", data: { "ü": [1, 2.5, null] }, source: { id: "x", user: { username: "u" } }, target: "", sent: null, inReplyToEvent: null };
  const text = JSON.stringify(ev);
  c.send(`5:2+::{"name":"ftrack.event","args":[${text}]}`);
  assert.deepEqual(await c.waitAck(2), { success: true });
  await waitFor(() => c.frames.some((f) => f.includes("exact-1") && f.startsWith("5:")), 5000, "echo");
  const frame = c.frames.find((f) => f.includes("exact-1") && f.startsWith("5:"));
  assert.equal(frame, `5:::{"name":"ftrack.event","args":[${text}]}`);
  // Python's spacing is forwarded byte for byte too.
  const py = '{"id": "py-1", "data": {}, "topic": "fwd.exact", "sent": null, "source": {"id": "h", "user": {"username": "u"}}, "target": "", "inReplyToEvent": null}';
  c.send(`5:3+::{"name": "ftrack.event", "args": [${py}]}`);
  await waitFor(() => c.frames.includes(`5:::{"name":"ftrack.event","args":[${py}]}`), 5000, "python-style echo");
  for (const f of c.frames.filter((x) => x.startsWith("5"))) assert.match(f, /^5:::\{/);
  c.close();
});

test("other events are normalised to exactly the wire keys", async () => {
  const c = await rawClient(hub.url);
  await c.subscribe(1, "s1", "topic=fwd.norm");
  await c.publish(2, { topic: "fwd.norm", data: { a: 1 }, extra: "dropped", in_reply_to_event: "orig-1" });
  await c.publish(3, { topic: "fwd.norm", id: "js-1", data: {}, target: "", inReplyToEvent: null, source: { id: "js", applicationId: "ftrack.api.javascript", user: { username: "j" } } });
  await waitFor(() => c.events().length >= 2, 5000, "two normalised events");
  const [e1, e2] = c.events();
  const keys = ["data", "id", "inReplyToEvent", "sent", "source", "target", "topic"];
  assert.deepEqual(Object.keys(e1).sort(), keys);
  assert.equal(e1.inReplyToEvent, "orig-1");
  assert.equal(e1.sent, null);
  assert.equal(e1.target, "");
  assert.match(e1.id, /^[0-9a-f]{32}$/);
  assert.deepEqual(e1.source.user, { username: "interop-user" });
  assert.ok(e1.source.id);
  assert.deepEqual(Object.keys(e2).sort(), keys);
  assert.equal(e2.id, "js-1");
  assert.equal(e2.sent, null);
  assert.equal(e2.source.applicationId, "ftrack.api.javascript");
  c.close();
});

test("subscribe is idempotent per connection; unsubscribe and meta topics", async () => {
  const c = await rawClient(hub.url);
  const spy = await rawClient(hub.url);
  await spy.subscribe(1, "spy", "topic=ftrack.meta.subscribe or topic=ftrack.meta.unsubscribe");
  await c.subscribe(1, "dup", "topic=idem");
  await c.subscribe(2, "dup", "topic=idem");
  await c.subscribe(3, "other", "topic=idem");
  await c.publish(4, wireEvent("idem", {}, { id: "idem-1" }));
  await waitFor(() => c.events().some((e) => e.id === "idem-1"), 5000, "delivery");
  await sleep(200);
  assert.equal(c.events().filter((e) => e.id === "idem-1").length, 1, "once per connection");
  c.send('5:5+::{"name":"ftrack.event","args":[{"topic":"ftrack.meta.unsubscribe","data":{"subscriber":{"id":"dup"}}}]}');
  assert.deepEqual(await c.waitAck(5), { success: true });
  c.send('5:6+::{"name":"ftrack.event","args":[{"topic":"ftrack.meta.unsubscribe","data":{"subscriber":{"id":"other"}}}]}');
  assert.deepEqual(await c.waitAck(6), { success: true });
  await c.publish(7, wireEvent("idem", {}, { id: "idem-2" }));
  await sleep(300);
  assert.equal(c.events().filter((e) => e.id === "idem-2").length, 0, "delivered after unsubscribe");
  // Unknown subscriber id: answered, connection alive.
  c.send('5:8+::{"name":"ftrack.event","args":[{"topic":"ftrack.meta.unsubscribe","data":{"subscriber":{"id":"never"}}}]}');
  const ack = await c.waitAck(8);
  assert.equal(ack.success, false);
  assert.match(ack.message, /never/);
  assert.equal(spy.events().length, 0, "meta subscribe/unsubscribe were broadcast");
  await assertAlive(c, "after unknown unsubscribe");
  spy.close();
  c.close();
});

test("targets match subscriber metadata; the publisher is included", async () => {
  const a = await rawClient(hub.url);
  const b = await rawClient(hub.url);
  await a.subscribe(1, "sub-a", "topic=tgt", { role: "a" });
  await b.subscribe(1, "sub-b", "topic=tgt", { role: "b" });
  await a.publish(2, wireEvent("tgt", {}, { id: "t-b", target: "role=b" }));
  await a.publish(3, wireEvent("tgt", {}, { id: "t-all" }));
  await a.publish(4, wireEvent("tgt", {}, { id: "t-id", target: "id=sub-a" }));
  await waitFor(() => b.events().some((e) => e.id === "t-all") && a.events().some((e) => e.id === "t-id"), 5000, "deliveries");
  await sleep(200);
  assert.deepEqual(a.events().map((e) => e.id).sort(), ["t-all", "t-id"]);
  assert.deepEqual(b.events().map((e) => e.id).sort(), ["t-all", "t-b"]);
  // A target that does not parse is refused.
  const ack = await a.publish(5, wireEvent("tgt", {}, { target: "role=(" }));
  assert.equal(ack.success, false);
  a.close();
  b.close();
});

test("heartbeats: the hub sends 2:: and accepts both replies", async () => {
  const c = await rawClient(hub.url);
  await waitFor(() => c.frames.filter((f) => f === "2::").length >= 2, 3000, "two heartbeats");
  c.send("2::");
  c.send("2:::");
  await assertAlive(c, "after heartbeat replies");
  c.close();
});

const BAD = [
  ["an empty frame", ""],
  ["a lone type", "5"],
  ["two fields", "5:"],
  ["an unknown packet code", "9::"],
  ["a non-numeric id", "5:abc::{}"],
  ["a noop", "8::"],
  ["a message packet", "3:1+::hello"],
  ["a json packet", "4:::{}"],
  ["an error packet", "7:::oops"],
  ["an ack from the client", "6:::1+[{}]"],
  ["a connect packet", "1::"],
];
for (const [what, frame] of BAD) {
  test(`bad input: ${what}`, async () => {
    const c = await rawClient(hub.url);
    c.send(frame);
    await assertAlive(c, what);
    c.close();
  });
}

const BAD_EVENTS = [
  ["malformed JSON", '5:1+::{"name":"ftrack.event","args":[{"topic":', /invalid JSON/],
  ["JSON that is not an object", "5:1+::[1,2]", /not an object/],
  ["the wrong event name", '5:1+::{"name":"other","args":[{"topic":"x"}]}', /ftrack.event/],
  ["two args", '5:1+::{"name":"ftrack.event","args":[{"topic":"x"},{"topic":"y"}]}', /one-element/],
  ["no topic", '5:1+::{"name":"ftrack.event","args":[{"data":{}}]}', /no topic/],
  ["a numeric topic", '5:1+::{"name":"ftrack.event","args":[{"topic":5}]}', /no topic/],
  ["deep nesting", `5:1+::{"name":"ftrack.event","args":[{"topic":"x","data":${"[".repeat(200)}${"]".repeat(200)}}]}`, /nested deeper/],
  ["a bad subscription", '5:1+::{"name":"ftrack.event","args":[{"topic":"ftrack.meta.subscribe","data":{"subscriber":{"id":"q"},"subscription":"topic="}}]}', /Expected a value/],
  ["a subscriber without id", '5:1+::{"name":"ftrack.event","args":[{"topic":"ftrack.meta.subscribe","data":{"subscriber":{},"subscription":"topic=x"}}]}', /id/],
  ["trailing garbage", '5:1+::{"name":"ftrack.event","args":[{"topic":"x"}]} junk', /trailing|invalid JSON/],
];
for (const [what, frame, message] of BAD_EVENTS) {
  test(`bad event: ${what} is answered`, async () => {
    const c = await rawClient(hub.url);
    c.send(frame);
    const ack = await c.waitAck(1);
    assert.equal(ack.success, false);
    assert.match(ack.message, message);
    await assertAlive(c, what);
    // Without an ack id nothing is sent back.
    const own = () => c.acks().filter((f) => Number(f.slice(4).split("+")[0]) < 100).length;
    const before = own();
    c.send(frame.replace("5:1+::", "5:::"));
    await assertAlive(c, `${what} (no ack id)`);
    assert.equal(own(), before, "an ack for an event without an id");
    c.close();
  });
}

test("bad input: invalid UTF-8 in a text frame", async () => {
  const c = await rawClient(hub.url);
  const bytes = Buffer.concat([Buffer.from('5:1+::{"name":"ftrack.event","args":[{"topic":"x'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]);
  c.ws.send(bytes, { binary: false });
  const ack = await c.waitAck(1);
  assert.equal(ack.success, false);
  assert.match(ack.message, /UTF-8/);
  await assertAlive(c, "invalid UTF-8");
  c.close();
});

test("bad input: a binary frame is dropped", async () => {
  const c = await rawClient(hub.url);
  c.ws.send(Buffer.from('5:1+::{"name":"ftrack.event","args":[{"topic":"probe"}]}'), { binary: true });
  await assertAlive(c, "binary frame");
  assert.equal(c.ack(1), undefined, "a binary frame was processed");
  assert.equal(c.binary, 0, "the hub sent a binary frame");
  c.close();
});

test("bad input: a frame over the size limit is refused, the connection survives", async () => {
  const c = await rawClient(hub.url);
  const big = "x".repeat(1536 * 1024);
  c.send(`5:1+::{"name":"ftrack.event","args":[{"topic":"probe","data":{"big":"${big}"}}]}`);
  const ack = await c.waitAck(1, 15000);
  assert.equal(ack.success, false);
  assert.match(ack.message, /larger than/);
  assert.equal(watcher.events().filter((e) => e.data && e.data.big).length, 0);
  await assertAlive(c, "oversized frame");
  c.close();
});

test("a websocket with an unknown sid or wrong credentials is refused", async () => {
  const { default: WebSocket } = await import("ws");
  const tryWs = (url) =>
    new Promise((resolve) => {
      const ws = new WebSocket(url);
      ws.once("unexpected-response", (_req, res) => resolve(res.statusCode));
      ws.once("open", () => {
        ws.terminate();
        resolve("open");
      });
      ws.once("error", () => resolve("error"));
    });
  const base = hub.url.replace("http", "ws");
  assert.equal(await tryWs(`${base}/socket.io/1/websocket/0123456789`), 401);
  const res = await fetch(`${hub.url}/socket.io/1/?api_user=interop-user&api_key=interop-key-5f0c2e`);
  const sid = (await res.text()).split(":")[0];
  assert.equal(await tryWs(`${base}/socket.io/1/websocket/${sid}?api_user=interop-user&api_key=bad`), 401);
  // The sid still works with the right (or no) credentials, exactly once.
  assert.equal(await tryWs(`${base}/socket.io/1/websocket/${sid}`), "open");
  assert.equal(await tryWs(`${base}/socket.io/1/websocket/${sid}`), 401);
});
