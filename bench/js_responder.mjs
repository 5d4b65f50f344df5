// SPDX-License-Identifier: Apache-2.0
// The @ftrack/api responder of the round-trip benchmark: the official JavaScript client,
// subscribed to one topic, answering each event with {items: []} (as ftrack-host's no-op
// plugin and the floor responder do).
//   node bench/js_responder.mjs [TOPIC]
// Connects with FTRACK_SERVER, FTRACK_API_USER and FTRACK_API_KEY; prints READY once the
// event hub is connected and the subscription is sent; runs until SIGTERM.
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
// The package is installed for the interop tests; import it from there.
const api = join(here, "..", "tests", "interop", "node_modules", "@ftrack", "api", "dist",
  "ftrack-javascript-api.es.js");
const { Session } = await import(api);

const topic = process.argv[2] || "ftrack.action.discover";
const session = new Session(process.env.FTRACK_SERVER, process.env.FTRACK_API_USER,
  process.env.FTRACK_API_KEY, { autoConnectEventHub: true });
await session.initializing;
const until = Date.now() + 15000;
while (!session.eventHub.isConnected()) {
  if (Date.now() > until) {
    console.error("js_responder: event hub did not connect");
    process.exit(3);
  }
  await new Promise((r) => setTimeout(r, 10));
}
session.eventHub.subscribe(`topic=${topic}`, () => ({ items: [] }));
console.log("READY");
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
setInterval(() => {}, 60000);
