// SPDX-License-Identifier: Apache-2.0
// The official JS client against the embedded hub over TLS: a private CA made for this run
// (openssl), `ftrack-host hub --tls-cert --tls-key`, and `ftrack-host` connected to it with
// --ca-file and an echo plugin answering discovery. The client, trusting the CA through
// NODE_EXTRA_CA_CERTS, opens its session over https (/api) and publishes a discovery over
// wss; the host's reply comes back. Without the CA the client cannot connect.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { USER, KEY, hostBin, runPeer, waitFor } from "./hub_helpers.mjs";

const PEER = fileURLToPath(new URL("./hub_js_peer.mjs", import.meta.url));
const pluginDir = join(process.env.FTRACK_TEST_PLUGIN_DIR || "", "echo");
const TRUST_VARS = ["NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"];
let dir, hub, host, url;

function openssl(...args) {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function makePki() {
  const p = (n) => join(dir, n);
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-days", "2", "-subj", "/CN=ftrack interop CA", "-keyout", p("ca.key"), "-out", p("ca.crt"),
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
  openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-subj", "/CN=localhost", "-keyout", p("hub.key"), "-out", p("hub.csr"));
  writeFileSync(p("hub.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  openssl("x509", "-req", "-in", p("hub.csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
    "-CAcreateserial", "-days", "2", "-extfile", p("hub.ext"), "-out", p("hub.crt"));
}

function start(args, env) {
  const proc = spawn(hostBin(), args, { env, stdio: ["ignore", "ignore", "pipe"] });
  const child = { proc, stderr: "" };
  proc.stderr.on("data", (d) => (child.stderr += d.toString()));
  child.exited = new Promise((r) => proc.on("exit", (code) => r(code)));
  return child;
}

async function stop(child) {
  if (!child || child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill("SIGTERM");
  const t = setTimeout(() => child.proc.kill("SIGKILL"), 10000);
  await child.exited;
  clearTimeout(t);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ftrack-tls-interop-"));
  makePki();
  const env = { ...process.env, FTRACK_API_USER: USER, FTRACK_API_KEY: KEY };
  for (const v of [...TRUST_VARS, "https_proxy", "HTTPS_PROXY", "FTRACK_SERVER"]) delete env[v];
  hub = start(["hub", "--listen", "127.0.0.1:0", "--data-dir", join(dir, "hub"),
    "--tls-cert", join(dir, "hub.crt"), "--tls-key", join(dir, "hub.key")], env);
  const port = await waitFor(() => (hub.stderr.match(/ready at https:\/\/127\.0\.0\.1:(\d+)/) || [])[1],
    20000, "the TLS hub's ready line");
  url = `https://localhost:${port}`;
  host = start(["--data-dir", join(dir, "host"), "--plugin-path", pluginDir,
    "--plugin-arg", "topic=ftrack.action.discover", "--ca-file", join(dir, "ca.crt")],
    { ...env, FTRACK_SERVER: url });
  await waitFor(() => host.stderr.includes("event hub connected"), 30000, "ftrack-host connected over TLS");
});

after(async () => {
  await stop(host);
  await stop(hub);
  rmSync(dir, { recursive: true, force: true });
});

test("@ftrack/api with NODE_EXTRA_CA_CERTS: /api over https, discovery over wss", { timeout: 60000 }, async () => {
  const peer = runPeer(PEER, ["publish", url, "ftrack.action.discover", '{"selection":[]}', "", "3000"],
    { NODE_EXTRA_CA_CERTS: join(dir, "ca.crt") });
  await waitFor(() => peer.lines.includes("DONE") || peer.exit !== null, 30000, "publisher done");
  await peer.kill();
  const replies = peer.lines.filter((l) => l.startsWith("REPLY ")).map((l) => JSON.parse(l.slice(6)));
  assert.equal(replies.length, 1, `replies: ${JSON.stringify(replies)} ${peer.stderr}`);
  assert.equal(replies[0].data.instance, "echo");
  assert.equal(replies[0].topic, "ftrack.meta.reply");
});

test("@ftrack/api without the CA does not connect", { timeout: 60000 }, async () => {
  const env = { NODE_EXTRA_CA_CERTS: "" };
  const peer = runPeer(PEER, ["publish", url, "ftrack.action.discover", "{}", "", "1000"], env);
  await waitFor(() => peer.exit !== null, 30000, "the untrusting client to give up");
  assert.notEqual(peer.exit, 0);
  assert.ok(!peer.lines.includes("DONE"));
  assert.match(peer.stderr, /certificate|self[- ]signed|issuer/i, peer.stderr.slice(-500));
});
