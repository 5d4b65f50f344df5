// SPDX-License-Identifier: Apache-2.0
// The example action (examples/action) in ftrack-host on its embedded hub, driven by ftrack's
// official JavaScript client in separate Node processes: discover lists "Say hello", launch
// without values gets the form, launch with values gets the greeting. Then the example SDK
// program (examples/publish_query) does the same discovery and queries /api.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { USER, KEY, hostBin, runPeer, waitFor } from "./hub_helpers.mjs";

const PEER = fileURLToPath(new URL("./hub_js_peer.mjs", import.meta.url));
const EXAMPLES = process.env.FTRACK_EXAMPLES_DIR;
let host;

// ftrack-host with no server: the embedded hub on an ephemeral port, only the example loaded.
async function startHost() {
  if (!EXAMPLES) throw new Error("FTRACK_EXAMPLES_DIR is not set");
  const dir = mkdtempSync(join(tmpdir(), "ftrack-action-"));
  const plugins = join(dir, "plugins");
  mkdirSync(plugins, { mode: 0o755 });
  chmodSync(dir, 0o755);
  copyFileSync(join(EXAMPLES, "plugins", "example_action.so"), join(plugins, "example_action.so"));
  chmodSync(join(plugins, "example_action.so"), 0o755);
  const env = { ...process.env, FTRACK_API_USER: USER, FTRACK_API_KEY: KEY };
  delete env.FTRACK_SERVER;
  delete env.FTRACK_EVENT_PLUGIN_PATH;
  const proc = spawn(
    hostBin(),
    ["--listen", "127.0.0.1:0", "--data-dir", join(dir, "data"), "--plugin-path", plugins],
    { env, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d.toString()));
  const exited = new Promise((r) => proc.on("exit", (code, signal) => r({ code, signal })));
  await waitFor(() => stderr.includes("ready:") || proc.exitCode !== null, 30000, "ftrack-host ready");
  if (proc.exitCode !== null) throw new Error(`ftrack-host exited ${proc.exitCode}:\n${stderr}`);
  const url = (stderr.match(/http:\/\/127\.0\.0\.1:\d+/) || [])[0];
  assert.ok(url, `no URL in the host's log:\n${stderr}`);
  return {
    url,
    log: () => stderr,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 20000);
      const r = await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
      return r;
    },
  };
}

// Publish one event from a separate JS client process; resolves to the replies' events.
async function publish(topic, data, waitMs = 1500) {
  const peer = runPeer(PEER, ["publish", host.url, topic, JSON.stringify(data), "", String(waitMs)]);
  try {
    await waitFor(() => peer.exit !== null, waitMs + 20000, `the ${topic} publisher`);
  } finally {
    await peer.kill();
  }
  assert.equal(peer.exit, 0, `publisher failed: ${peer.stderr}`);
  return peer.lines.filter((l) => l.startsWith("REPLY ")).map((l) => JSON.parse(l.slice(6)));
}

before(async () => {
  host = await startHost();
});
after(async () => {
  if (host) {
    const r = await host.stop();
    assert.equal(r.code, 0, `ftrack-host exited ${r.code} (${r.signal}):\n${host.log()}`);
  }
});

test("the JS client discovers and launches the example action", { timeout: 120000 }, async () => {
  // The plugin subscribes while the host starts; discovery is retried until it answers.
  let replies = [];
  await waitFor(async () => {
    replies = await publish("ftrack.action.discover", { selection: [] });
    return replies.length > 0;
  }, 30000, "a discover reply");
  assert.equal(replies.length, 1, `one plugin, one reply: ${JSON.stringify(replies)}`);
  const discover = replies[0];
  assert.equal(discover.topic, "ftrack.meta.reply");
  const items = discover.data.items;
  assert.ok(Array.isArray(items) && items.length === 1, JSON.stringify(discover.data));
  assert.equal(items[0].label, "Say hello");
  assert.equal(items[0].actionIdentifier, "example.hello");

  // Launch with the item's fields, as the web UI does: no values yet, so a form comes back.
  const [form] = await publish("ftrack.action.launch", { ...items[0], selection: [] });
  assert.ok(form, "no reply to the launch");
  assert.deepEqual(form.data, { items: [{ type: "text", name: "name", label: "Your name" }] });

  // Submit the form.
  const [result, ...more] = await publish("ftrack.action.launch", {
    ...items[0],
    selection: [],
    values: { name: "Ada" },
  });
  assert.ok(result, "no reply to the launch with values");
  assert.deepEqual(result.data, { success: true, message: "Hello, Ada!" });
  assert.equal(more.length, 0, "one launch, one reply");

  // Someone else's action: the launch subscription filters on the identifier.
  const other = await publish("ftrack.action.launch", { actionIdentifier: "someone.else" }, 1000);
  assert.equal(other.length, 0, `replied to another action: ${JSON.stringify(other)}`);
  assert.match(host.log(), /said hello to Ada/);
});

test("publish_query discovers the action and queries the server", { timeout: 60000 }, async () => {
  const env = { ...process.env, FTRACK_SERVER: host.url, FTRACK_API_USER: USER, FTRACK_API_KEY: KEY };
  const run = (args) =>
    new Promise((resolve) => {
      execFile(join(EXAMPLES, "bin", "publish_query"), args, { env, timeout: 30000 }, (error, stdout, stderr) =>
        resolve({ code: error ? error.code : 0, stdout, stderr }),
      );
    });
  const r = await run(["--topic", "ftrack.action.discover", "--data", '{"selection": []}', "--wait", "2"]);
  assert.equal(r.code, 0, `publish_query failed: ${r.stderr}`);
  const lines = r.stdout.trim().split("\n");
  assert.match(lines[0], /^published [0-9a-f]{32} \(ftrack\.action\.discover\)$/);
  const replies = lines.filter((l) => l.startsWith("reply: ")).map((l) => JSON.parse(l.slice(7)));
  assert.equal(replies.length, 1, r.stdout);
  assert.equal(replies[0].items[0].actionIdentifier, "example.hello");
  assert.ok(lines.includes("replies: 1"), r.stdout);
  const server = lines.find((l) => l.startsWith("server: "));
  assert.ok(server, r.stdout);
  assert.ok(JSON.parse(server.slice(8)).version, server);
  assert.ok(!r.stderr.includes(KEY) && !r.stdout.includes(KEY), "the API key was printed");

  // Usage errors exit 2 without connecting anywhere.
  const bad = await run(["--data", "[1,2]"]);
  assert.equal(bad.code, 2, bad.stderr);
  // A wrong key is a runtime failure (1) whose message does not repeat the key.
  const wrong = await new Promise((resolve) => {
    execFile(join(EXAMPLES, "bin", "publish_query"), [], { env: { ...env, FTRACK_API_KEY: "wrong-key-9f8e7d" }, timeout: 30000 },
      (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
  assert.equal(wrong.code, 1, wrong.stderr);
  assert.ok(!wrong.stderr.includes("wrong-key-9f8e7d"), wrong.stderr);
});
