// SPDX-License-Identifier: Apache-2.0
// A peer process for the hub interop tests, using only the official @ftrack/api client.
//   node hub_js_peer.mjs subscribe URL TOPIC ID[,ID...] [KEY=VALUE...]
//       subscribes each id (metadata {id, ...KEY=VALUE}) to topic=TOPIC; prints
//       "READY" then "EVENT <subscriber id> <event json>" per callback; replies {"answer": ID}.
//   node hub_js_peer.mjs publish URL TOPIC DATA_JSON [TARGET] [WAIT_MS]
//       publishes one event with an onReply handler; prints "REPLY <event json>" per reply,
//       then "DONE" after WAIT_MS.
import { Session, Event } from "@ftrack/api";
import { USER, KEY } from "./hub_helpers.mjs";

const [mode, url, topic, ...rest] = process.argv.slice(2);
const session = new Session(url, USER, KEY, { autoConnectEventHub: true });
await session.initializing;
const until = Date.now() + 15000;
while (!session.eventHub.isConnected()) {
  if (Date.now() > until) {
    console.error("event hub did not connect");
    process.exit(3);
  }
  await new Promise((r) => setTimeout(r, 20));
}

if (mode === "subscribe") {
  const [ids, ...pairs] = rest;
  const extra = Object.fromEntries(pairs.map((p) => p.split("=")));
  for (const id of ids.split(",")) {
    session.eventHub.subscribe(
      `topic=${topic}`,
      (event) => {
        console.log(`EVENT ${id} ${JSON.stringify(event)}`);
        return { answer: id };
      },
      { id, ...extra },
    );
  }
  console.log("READY");
  setInterval(() => {}, 1000);
} else if (mode === "publish") {
  const [data, target = "", waitMs = "1500"] = rest;
  const event = new Event(topic, JSON.parse(data), { target });
  await session.eventHub.publish(event, {
    onReply: (reply) => console.log(`REPLY ${JSON.stringify(reply)}`),
  });
  setTimeout(() => {
    console.log("DONE");
    process.exit(0);
  }, Number(waitMs));
}
