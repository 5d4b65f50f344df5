// SPDX-License-Identifier: Apache-2.0
// The C SDK's hub client against a scripted socket.io 0.9 server (node's `ws`): the bytes it
// sends (handshake headers, subscription announcements, `<n>+` ack ids counting from 1 and
// never reset, `2::` heartbeat replies) and its handling of bad input (binary, unknown codes,
// invalid JSON and UTF-8, missing topic, deep nesting, oversized frames, refused acks, `0::`).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { WebSocketServer } from "ws";
import { USER, stop, runProbe, waitFor } from "./sdk_helpers.mjs";

const handshakes = [];
const conns = []; // { frames: [], ws }
let server, wss;
const procs = [];

after(async () => {
  for (const p of procs) await stop(p);
  for (const c of conns) c.ws.terminate();
  wss?.close();
  await new Promise((r) => (server ? server.close(r) : r()));
});

const wire = (event) => `5:::${JSON.stringify({ name: "ftrack.event", args: [event] })}`;
const event = (topic, data) => ({
  id: `srv-${Math.random().toString(16).slice(2)}`,
  topic,
  data,
  source: { id: "server", user: { username: "server-user" } },
  target: "",
  sent: null,
  inReplyToEvent: null,
});

function deep(n) {
  let v = { marker: "deep" };
  for (let i = 0; i < n; i++) v = { v };
  return v;
}

function onConnection(ws) {
  const conn = { ws, frames: [], outCount: 0 };
  conns.push(conn);
  ws.on("message", (data, isBinary) => {
    const text = data.toString();
    conn.frames.push(isBinary ? "<binary>" : text);
    const m = /^5:(\d+)\+::(.*)$/s.exec(text);
    if (!m) return;
    const ev = JSON.parse(m[2]).args[0];
    let ack = { success: true };
    if (ev.topic === "test.out" && conn.outCount++ === 0) ack = { success: false, message: "refused for the test" };
    ws.send(`6:::${m[1]}+${JSON.stringify([ack])}`);
  });
  ws.send("1::");
  if (conns.length > 1) return; // the reconnection only has to re-announce
  ws.send("2::");
  ws.send(Buffer.from("5:::{}"), { binary: true });
  ws.send("9::");
  ws.send("5:::not json");
  ws.send(wire({ id: "no-topic", data: { marker: "no-topic" } }));
  ws.send(wire({ ...event("test.wire", deep(100)) }));
  const utf8 = [
    '5:::{"name":"ftrack.event","args":[{"topic":"test.wire","data":{"marker":"utf8","s":"',
    Buffer.from([0xff, 0xfe]),
    '"}}]}',
  ];
  ws.send(Buffer.concat(utf8.map((x) => Buffer.from(x))), { binary: false });
  ws.send(wire(event("test.wire", { marker: "huge", pad: "x".repeat(17 * 1024 * 1024) })));
  ws.send('5:::{"name":"other.name","args":[{"topic":"test.wire","data":{"marker":"name"}}]}');
  ws.send("7:::oops");
  ws.send(wire(event("test.wire", { ok: 1 })));
}

test("bytes on the wire and bad input from the server", { timeout: 60000 }, async () => {
  server = http.createServer((req, res) => {
    handshakes.push({ url: req.url, headers: req.headers });
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end("fakesid:60:60:websocket,xhr-polling");
  });
  wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    if (!req.url.startsWith("/socket.io/1/websocket/fakesid")) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}`;

  const p = runProbe(url, [
    "--meta", "--subscribe", "topic=test.wire", "--meta-json", JSON.stringify({ id: "wire-sub" }),
    "--publish", "test.out", "--count", "2", "--delay", "0.5", "--time", "20",
  ]);
  procs.push(p);
  await waitFor(() => p.events("wire-sub").some((e) => e.data.ok === 1), 15000, "the valid event");
  await waitFor(() => conns[0].frames.filter((f) => f.includes('"topic":"test.out"')).length === 2, 10000, "two publishes");
  const c1 = conns[0].frames;

  // handshake: credentials as headers, the session id in the websocket path
  assert.equal(handshakes[0].url, "/socket.io/1/");
  assert.equal(handshakes[0].headers["ftrack-user"], USER);
  assert.ok(handshakes[0].headers["ftrack-api-key"]);

  // every event frame asks for an ack with data, ids counting 1, 2, 3, ...
  const events = c1.filter((f) => f.startsWith("5:"));
  assert.ok(events.length >= 4, c1.join("\n"));
  events.forEach((f, i) => assert.ok(f.startsWith(`5:${i + 1}+::{"name":"ftrack.event","args":[{`), f.slice(0, 60)));
  const parsed = events.map((f) => JSON.parse(f.slice(f.indexOf("::") + 2)).args[0]);
  const hubId = p.lines.find((l) => l.connected).hub_id;
  const subs = parsed.filter((e) => e.topic === "ftrack.meta.subscribe");
  // (the probe's --meta subscriber is announced too, like any other)
  const announced = subs.map((e) => `${e.data.subscriber.id} ${e.data.subscription}`);
  assert.equal(announced.length, 3, announced.join("\n"));
  assert.ok(announced.includes(`${hubId} topic=ftrack.meta.reply`), announced.join("\n"));
  assert.ok(announced.includes("wire-sub topic=test.wire"), announced.join("\n"));
  for (const e of parsed) {
    assert.deepEqual(Object.keys(e), ["id", "data", "topic", "sent", "source", "target", "inReplyToEvent"]);
    assert.equal(e.source.id, hubId);
  }
  // the announcements precede the publishes
  assert.ok(parsed.findIndex((e) => e.topic === "test.out") > parsed.findLastIndex((e) => e.topic === "ftrack.meta.subscribe"));
  // the server's heartbeat was answered
  assert.ok(c1.includes("2::"), "no 2:: reply");
  assert.ok(!c1.includes("<binary>"), "the client sent a binary frame");

  // of all the bad input, only the valid event came through, and the connection survived
  assert.deepEqual(p.events("wire-sub").map((e) => e.data.ok ?? e.data.marker), [1]);
  assert.equal(p.meta("disconnected").length, 0, p.dump());
  // the refusal is logged when the publisher's queue takes the ack, which may come after the
  // publish frames were seen: wait for it rather than race it
  await waitFor(() => /Server refused the published event/.test(p.stderr), 10000, "the refusal log line");
  assert.match(p.stderr, /dropped a binary frame/);
  assert.match(p.stderr, /not valid JSON/);
  assert.match(p.stderr, /without a topic/);
  assert.match(p.stderr, /dropped a frame of more than/);
  assert.match(p.stderr, /Event server reported error: oops/);
  assert.match(p.stderr, /Server refused the published event: refused for the test/);

  // 0:: makes it reconnect with a new handshake; subscriptions are announced again and the
  // ack counter goes on from where it was
  const lastId = events.length;
  conns[0].ws.send("0::");
  await waitFor(() => conns.length === 2 && conns[1].frames.filter((f) => f.includes("ftrack.meta.subscribe")).length === 3,
    10000, "re-announced subscriptions");
  assert.equal(handshakes.length, 2);
  const again = conns[1].frames.filter((f) => f.startsWith("5:"));
  assert.ok(again[0].startsWith(`5:${lastId + 1}+::`), again[0].slice(0, 20));
  await waitFor(() => p.meta("connected").length === 2 && p.meta("disconnected").length === 1, 5000, "meta events");
});
