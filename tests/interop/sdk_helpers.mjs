// SPDX-License-Identifier: Apache-2.0
// Helpers for the interop tests between the C SDK (tests/integration/progs/hub_client_probe.c)
// and the official JavaScript client, through the embedded hub. Every wait has a time limit.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { USER, KEY, hostBin, sleep, waitFor } from "./hub_helpers.mjs";

export { USER, KEY, sleep, waitFor };
export const JS_PEER = fileURLToPath(new URL("./hub_js_peer.mjs", import.meta.url));

export function probeBin() {
  const dir = process.env.FTRACK_TEST_BIN_DIR;
  if (!dir) throw new Error("FTRACK_TEST_BIN_DIR is not set");
  return join(dir, "hub_client_probe");
}

function collect(proc, handle) {
  let buf = "";
  proc.stdout.on("data", (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      handle.raw.push(line);
      try {
        handle.lines.push(JSON.parse(line));
      } catch {
        /* not JSON: kept in raw */
      }
    }
  });
  proc.stderr.on("data", (d) => (handle.stderr += d.toString()));
  handle.exited = new Promise((r) => proc.on("exit", (code) => r((handle.exit = code))));
  handle.kill = () => stop(handle);
}

// Wait up to `ms` for a process to exit (without leaving a timer behind).
export async function exitedWithin(handle, ms) {
  let timer;
  await Promise.race([handle.exited, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
  return handle.exit !== null;
}

// Stop a process started by runProbe or hub_helpers' runPeer: SIGTERM, SIGKILL after 5 s.
// (A timer left pending would keep node --test alive, so it is cleared.)
export async function stop(handle) {
  if (handle.exit !== null) return;
  handle.proc.kill("SIGTERM");
  let timer;
  await Promise.race([handle.exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
  clearTimeout(timer);
  if (handle.exit === null) {
    handle.proc.kill("SIGKILL");
    await handle.exited;
  }
}

// Run the C probe against `url`; its JSON lines land in handle.lines.
export function runProbe(url, args) {
  const proc = spawn(probeBin(), args, {
    env: { ...process.env, FTRACK_SERVER: url, FTRACK_API_USER: USER, FTRACK_API_KEY: KEY },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const handle = { proc, lines: [], raw: [], stderr: "", exit: null };
  collect(proc, handle);
  handle.events = (subscriber) =>
    handle.lines.filter((l) => l.event && (!subscriber || l.subscriber === subscriber)).map((l) => l.event);
  handle.replies = () => handle.lines.filter((l) => l.reply).map((l) => l.reply);
  handle.meta = (what) => handle.lines.filter((l) => l.meta === what);
  handle.dump = () => `stdout:\n${handle.raw.join("\n")}\nstderr:\n${handle.stderr}`;
  return handle;
}

// A hub we can kill and restart on the same port.
export async function startHubOn(port = 0, dir = mkdtempSync(join(tmpdir(), "ftrack-hub-"))) {
  const proc = spawn(hostBin(), ["hub", "--listen", `127.0.0.1:${port}`, "--data-dir", dir, "--heartbeat", "2"], {
    env: { ...process.env, FTRACK_API_USER: USER, FTRACK_API_KEY: KEY },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d.toString()));
  const exited = new Promise((r) => proc.on("exit", (code, signal) => r({ code, signal })));
  const url = await waitFor(() => (stderr.match(/http:\/\/127\.0\.0\.1:\d+/) || [])[0], 20000, "the hub's URL line");
  return {
    url,
    dir,
    port: Number(url.split(":")[2]),
    log: () => stderr,
    async kill(signal = "SIGKILL") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill("SIGKILL"), 10000);
      await exited;
      clearTimeout(t);
    },
    async stop(removeDir = true) {
      await this.kill("SIGTERM");
      if (removeDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// One C publish (a short-lived probe process); resolves to the probe handle after it exits.
export async function cPublish(url, topic, data, extra = []) {
  const p = runProbe(url, ["--publish", topic, "--data", JSON.stringify(data), "--time", "5", ...extra]);
  if (!(await exitedWithin(p, 15000))) {
    await p.kill();
    throw new Error(`C publisher did not exit\n${p.dump()}`);
  }
  return p;
}
