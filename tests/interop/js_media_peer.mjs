// SPDX-License-Identifier: Apache-2.0
// A peer for the encode-media integration test (tests/integration/test_plugin_encode_media.sh),
// using only the official @ftrack/api client. Credentials come from FTRACK_API_USER and
// FTRACK_API_KEY. Every wait has a time limit.
//   node js_media_peer.mjs publish-media URL FILE
//       creates Project, AssetType, Status, Asset, AssetVersion and a FileComponent through
//       /api, uploads FILE (get_upload_metadata + PUT) and adds it to the server location;
//       prints "VERSION <id>", "COMPONENT <id>", "DONE".
//   node js_media_peer.mjs listen URL TOPIC SECONDS
//       prints "READY", then "EVENT <data json>" per event on TOPIC, for SECONDS.
//   node js_media_peer.mjs action URL VERSION_ID
//       publishes ftrack.action.discover then (if offered) ftrack.action.launch for the
//       version; prints "DISCOVER <reply data>" and "LAUNCH <reply data>".
//   node js_media_peer.mjs jobs URL
//       prints "JOBS <number of Job entities>".
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, extname } from "node:path";
import { Session, Event } from "@ftrack/api";

const SERVER_LOCATION = "3a372bde-05bc-11e4-8908-20c9d081909b";
const [mode, url, ...rest] = process.argv.slice(2);
const session = new Session(url, process.env.FTRACK_API_USER, process.env.FTRACK_API_KEY, {
  autoConnectEventHub: mode === "listen" || mode === "action",
});
await session.initializing;
setTimeout(() => {
  console.error("timed out");
  process.exit(4);
}, 60000).unref();

async function connected() {
  const until = Date.now() + 15000;
  while (!session.eventHub.isConnected()) {
    if (Date.now() > until) throw new Error("event hub did not connect");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function create(type, data) {
  const r = await session.create(type, data);
  return r.data;
}

if (mode === "publish-media") {
  const [file] = rest;
  const suffix = Math.random().toString(16).slice(2, 10);
  const project = await create("Project", { name: `media-${suffix}`, full_name: `Media ${suffix}` });
  const type = await create("AssetType", { name: `Upload ${suffix}`, short: `up${suffix}` });
  const status = await create("Status", { name: `Pending ${suffix}` });
  const asset = await create("Asset", { name: "shot010", context_id: project.id, type_id: type.id });
  const version = await create("AssetVersion", { asset_id: asset.id, version: 1, status_id: status.id });
  console.log(`VERSION ${version.id}`);
  const bytes = readFileSync(file);
  const ext = extname(file);
  const name = basename(file, ext);
  const component = await create("FileComponent", {
    name,
    file_type: ext,
    size: bytes.length,
    version_id: version.id,
    system_type: "file",
  });
  console.log(`COMPONENT ${component.id}`);
  const checksum = createHash("md5").update(bytes).digest("base64");
  const [meta] = await session.call([
    {
      action: "get_upload_metadata",
      component_id: component.id,
      file_name: `${name}${ext}`,
      file_size: bytes.length,
      checksum,
    },
  ]);
  const put = await fetch(meta.url, { method: "PUT", headers: meta.headers, body: bytes });
  if (!put.ok) throw new Error(`upload answered HTTP ${put.status}`);
  await create("ComponentLocation", {
    component_id: component.id,
    location_id: SERVER_LOCATION,
    resource_identifier: component.id,
  });
  console.log("DONE");
  process.exit(0);
} else if (mode === "listen") {
  const [topic, seconds] = rest;
  await connected();
  session.eventHub.subscribe(`topic=${topic}`, (event) => {
    console.log(`EVENT ${JSON.stringify(event.data)}`);
  });
  // READY once the hub has filed the subscription: the hub handles one connection's frames in
  // order, so an event on a private topic subscribed after it coming back proves it.
  const probeTopic = `${topic}.ready.${Math.random().toString(16).slice(2)}`;
  let filed = false;
  session.eventHub.subscribe(`topic=${probeTopic}`, () => (filed = true));
  const until = Date.now() + 15000;
  while (!filed && Date.now() < until) {
    await session.eventHub.publish(new Event(probeTopic, {}));
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!filed) throw new Error("the hub did not route to this listener within 15 s");
  console.log("READY");
  setTimeout(() => process.exit(0), Number(seconds) * 1000);
} else if (mode === "action") {
  const [versionId] = rest;
  await connected();
  const selection = [{ entityId: versionId, entityType: "assetversion" }];
  const replies = [];
  await session.eventHub.publish(new Event("ftrack.action.discover", { selection }), {
    onReply: (reply) => replies.push(reply),
  });
  const until = Date.now() + 10000;
  while (!replies.some((r) => r.data && r.data.items) && Date.now() < until)
    await new Promise((r) => setTimeout(r, 50));
  const offered = replies.find((r) => r.data && r.data.items);
  console.log(`DISCOVER ${JSON.stringify(offered ? offered.data : null)}`);
  if (!offered) process.exit(1);
  const item = offered.data.items[0];
  let launched = null;
  await session.eventHub.publish(new Event("ftrack.action.launch", { ...item, selection }), {
    onReply: (reply) => (launched = reply),
  });
  const until2 = Date.now() + 20000;
  while (!launched && Date.now() < until2) await new Promise((r) => setTimeout(r, 50));
  console.log(`LAUNCH ${JSON.stringify(launched ? launched.data : null)}`);
  process.exit(launched ? 0 : 1);
} else if (mode === "jobs") {
  const r = await session.query("select id, status from Job");
  console.log(`JOBS ${r.data.length}`);
  process.exit(0);
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
