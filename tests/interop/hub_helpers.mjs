// SPDX-License-Identifier: Apache-2.0
// Helpers for the embedded hub's interop tests: start `ftrack-host hub` on an ephemeral
// port, talk raw socket.io 0.9 to it, run peer processes. Every wait has a time limit.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";

export const USER = "interop-user";
export const KEY = "interop-key-5f0c2e";

export function hostBin() {
  const bin = process.env.FTRACK_HOST_BIN;
  if (!bin) throw new Error("FTRACK_HOST_BIN is not set");
  return bin;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// Poll `fn` until it returns a truthy value; reject after `ms`.
export async function waitFor(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

// Start the hub; resolves to { url, port, proc, log(), stop() }.
export async function startHub(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), "ftrack-hub-"));
  const proc = spawn(hostBin(), ["hub", "--listen", "127.0.0.1:0", "--data-dir", dir, ...extraArgs], {
    env: { ...process.env, FTRACK_API_USER: USER, FTRACK_API_KEY: KEY },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d.toString()));
  const exited = new Promise((r) => proc.on("exit", (code, signal) => r({ code, signal })));
  const url = await waitFor(() => (stderr.match(/http:\/\/127\.0\.0\.1:\d+/) || [])[0], 20000, "the hub's URL line");
  return {
    url,
    port: Number(url.split(":")[2]),
    proc,
    log: () => stderr,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 10000);
      const r = await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
      return r;
    },
  };
}

// A raw socket.io 0.9 client: records every frame; send() writes a text frame.
export async function rawClient(url, { user = USER, key = KEY, query = true } = {}) {
  const res = await fetch(`${url}/socket.io/1/?api_user=${encodeURIComponent(user)}&api_key=${encodeURIComponent(key)}`);
  const body = await res.text();
  if (res.status !== 200) throw new Error(`handshake ${res.status}: ${body}`);
  const sid = body.split(":")[0];
  const qs = query ? `?api_user=${encodeURIComponent(user)}&api_key=${encodeURIComponent(key)}` : "";
  const ws = new WebSocket(`${url.replace("http", "ws")}/socket.io/1/websocket/${sid}${qs}`);
  const client = {
    ws,
    frames: [],
    binary: 0,
    closed: false,
    send: (text) => ws.send(text),
    events: () =>
      client.frames.filter((f) => f.startsWith("5:")).map((f) => JSON.parse(f.replace(/^5:::/, "")).args[0]),
    acks: () => client.frames.filter((f) => f.startsWith("6:")),
    ack: (n) => {
      const f = client.frames.find((x) => x.startsWith(`6:::${n}+`));
      return f ? JSON.parse(f.slice(`6:::${n}+`.length))[0] : undefined;
    },
    waitAck: (n, ms = 5000) => waitFor(() => client.ack(n), ms, `ack ${n}`),
    subscribe(n, id, subscription, extra = {}) {
      ws.send(
        `5:${n}+::` +
          JSON.stringify({
            name: "ftrack.event",
            args: [{ topic: "ftrack.meta.subscribe", data: { subscriber: { id, ...extra }, subscription } }],
          }),
      );
      return client.waitAck(n);
    },
    publish(n, event) {
      ws.send(`5:${n ? n + "+" : ""}::` + JSON.stringify({ name: "ftrack.event", args: [event] }));
      return n ? client.waitAck(n) : Promise.resolve();
    },
    close() {
      ws.terminate();
    },
  };
  ws.on("message", (data, isBinary) => {
    if (isBinary) client.binary++;
    else client.frames.push(data.toString());
  });
  ws.on("close", () => (client.closed = true));
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, r) => reject(new Error(`upgrade refused: ${r.statusCode}`)));
  });
  await waitFor(() => client.frames.includes("1::"), 5000, "1::");
  return client;
}

// A full wire event.
export function wireEvent(topic, data = {}, extra = {}) {
  return {
    id: `ev-${Math.random().toString(16).slice(2)}`,
    topic,
    data,
    source: { id: "raw-source", user: { username: USER } },
    target: "",
    sent: null,
    inReplyToEvent: null,
    ...extra,
  };
}

// Run `node script args...`; lines on stdout are collected. Resolves to a handle.
export function runPeer(script, args, env = {}) {
  const proc = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const peer = { proc, lines: [], stderr: "", exit: null };
  let buf = "";
  proc.stdout.on("data", (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      peer.lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  proc.stderr.on("data", (d) => (peer.stderr += d.toString()));
  peer.exited = new Promise((r) => proc.on("exit", (code) => r((peer.exit = code))));
  peer.kill = async () => {
    if (peer.exit === null) proc.kill("SIGTERM");
    await Promise.race([peer.exited, sleep(5000)]);
    if (peer.exit === null) proc.kill("SIGKILL");
  };
  return peer;
}
