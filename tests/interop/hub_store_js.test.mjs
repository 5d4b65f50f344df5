// SPDX-License-Identifier: Apache-2.0
// The official JavaScript client against the embedded hub's entity store: session.query /
// create / update / delete on the sample studio, ftrack's errors, and the ftrack.update events
// a subscribed JavaScript client (another process) receives for each committed change; then
// an AssetVersion + FileComponent created from JS, uploaded and encoded (encode_media), with
// the Job followed to `done` and its outputs queryable.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Session } from "@ftrack/api";
import { startHub, runPeer, waitFor, USER, KEY } from "./hub_helpers.mjs";

const here = new URL(".", import.meta.url).pathname;
const seed = join(process.env.FTRACK_SOURCE_DIR || join(here, "..", ".."), "host", "hub", "seed-sample.json");
let hub, peer, session, tmp;

before(async () => {
  hub = await startHub(["--seed", seed]);
  tmp = mkdtempSync(join(tmpdir(), "ftrack-store-js-"));
  peer = runPeer(join(here, "hub_js_peer.mjs"), ["subscribe", hub.url, "ftrack.update", "watcher"]);
  await waitFor(() => peer.lines.includes("READY"), 20000, "the subscriber peer");
  session = new Session(hub.url, USER, KEY, { autoConnectEventHub: false });
  await session.initializing;
});

after(async () => {
  await peer?.kill();
  const r = await hub.stop();
  rmSync(tmp, { recursive: true, force: true });
  assert.equal(r.code, 0, "hub exit code after SIGTERM");
});

// ftrack.update events the peer received so far.
function updates() {
  return peer.lines.filter((l) => l.startsWith("EVENT watcher ")).map((l) => JSON.parse(l.slice("EVENT watcher ".length)));
}

function entitiesOf(pred) {
  return updates().flatMap((e) => e.data.entities.map((ent) => ({ event: e, ent }))).filter(({ ent }) => pred(ent));
}

test("query: projections, relations, where, order, paging metadata", async () => {
  const r = await session.query(
    'select name, parent.name, status.name from Task where parent.parent.name is "sq020" and type.name is "Compositing" order by parent.name descending limit 2',
  );
  assert.equal(r.action, "query");
  assert.deepEqual(r.data.map((t) => t.parent.name), ["sh030", "sh020"]);
  assert.equal(r.data[0].__entity_type__, "Task");
  assert.equal(r.data[0].status.name, "Ready to start");
  assert.deepEqual(r.metadata, { next: { offset: 2 } });
  const last = await session.query('select name from Task where parent.parent.name is "sq020" and type.name is "Compositing" offset 2 limit 2');
  assert.equal(last.data.length, 1);
  assert.equal(last.metadata.next.offset, null);
  const users = await session.query('select username from User where username like "%.%" order by username');
  assert.deepEqual(users.data.map((u) => u.username).slice(0, 2), ["anna.lind", "ben.okafor"]);
});

test("create, update and delete publish ftrack.update in ftrack's shape", async () => {
  const shot = (await session.query('select id from Shot where name is "sh020" and parent.name is "sq010"')).data[0];
  const approved = (await session.query('select id from Status where name is "Approved"')).data[0];
  const created = await session.create("Task", { name: "paint", parent_id: shot.id });
  assert.equal(created.action, "create");
  const task = created.data;
  assert.equal(task.__entity_type__, "Task");
  assert.equal(task.name, "paint");
  assert.match(task.id, /^[0-9a-f-]{36}$/);

  const updated = await session.update("Task", [task.id], { status_id: approved.id, description: "Paint out the rig" });
  assert.equal(updated.data.status_id, approved.id);
  assert.equal(updated.data.name, "paint");
  const check = await session.query(`select status.name, parent.name from Task where id is "${task.id}"`);
  assert.equal(check.data[0].status.name, "Approved");

  const deleted = await session.delete("Task", [task.id]);
  assert.deepEqual(deleted, { action: "delete", data: true });
  assert.equal((await session.query(`select id from Task where id is "${task.id}"`)).data.length, 0);

  const mine = () => entitiesOf((ent) => ent.entityId === task.id);
  await waitFor(() => mine().length >= 3, 10000, "three ftrack.update events for the task");
  const [add, upd, rem] = mine();
  for (const { event, ent } of [add, upd, rem]) {
    assert.equal(event.topic, "ftrack.update");
    assert.equal(event.source.user.username, USER);
    assert.equal(event.target, "");
    assert.equal(ent.entityType, "task");
    assert.equal(ent.entity_type, "Task");
    assert.equal(ent.parentId, shot.id);
    // Parents: the task, its shot, its sequence, the project ("show").
    assert.deepEqual(ent.parents.map((p) => p.entity_type), ["Task", "Shot", "Sequence", "Project"]);
    assert.equal(ent.parents[3].entityType, "show");
    assert.equal(ent.parents[3].parentId, null);
    assert.ok(event.data.parents.includes(shot.id));
    assert.equal(typeof event.data.user.userid, "string");
  }
  assert.equal(add.ent.action, "add");
  assert.ok(add.ent.keys.includes("name"));
  assert.deepEqual(add.ent.changes.name, { new: "paint", old: null });
  assert.equal(upd.ent.action, "update");
  assert.deepEqual([...upd.ent.keys].sort(), ["description", "statusid"]);
  assert.deepEqual(upd.ent.changes.statusid, { new: approved.id, old: null });
  assert.equal(rem.ent.action, "remove");
  assert.deepEqual(rem.ent.changes.name, { new: null, old: "paint" });
});

test("errors arrive as ftrack's, and a failed batch changes nothing", async () => {
  await assert.rejects(session.create("Task", { name: "x", no_such: 1 }), (e) => {
    assert.equal(e.name, "ServerValidationError");
    assert.match(e.message, /no_such/);
    return true;
  });
  await assert.rejects(session.update("Task", ["missing"], { name: "x" }), /No Task/);
  const before = updates().length;
  await assert.rejects(
    session.call([
      { action: "create", entity_type: "Project", entity_data: { __entity_type__: "Project", name: "half" } },
      { action: "create", entity_type: "Task", entity_data: { __entity_type__: "Task", parent_id: "nowhere" } },
    ]),
    /nowhere/,
  );
  assert.equal((await session.query('select id from Project where name is "half"')).data.length, 0);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(updates().length, before, "a rolled-back batch publishes nothing");
});

test("an AssetVersion and a FileComponent from JS, uploaded and encoded", async () => {
  const video = join(tmp, "clip.mov");
  const gen = spawnSync("ffmpeg", ["-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
    "testsrc=duration=1:size=160x120:rate=12", "-y", video]);
  assert.equal(gen.status, 0, `ffmpeg could not make the test clip: ${gen.stderr}`);
  const bytes = readFileSync(video);

  const shot = (await session.query('select id from Shot where name is "sh030" and parent.name is "sq010"')).data[0];
  const type = (await session.query('select id from AssetType where short is "review"')).data[0];
  const asset = (await session.create("Asset", { name: "sh030_review", context_id: shot.id, type_id: type.id })).data;
  const version = (await session.create("AssetVersion", { asset_id: asset.id, comment: "from JS" })).data;
  assert.equal(version.version, 1);
  const comp = (await session.create("FileComponent", { name: "main", file_type: ".mov", size: bytes.length, version_id: version.id, system_type: "file" })).data;

  const checksum = createHash("md5").update(bytes).digest("base64");
  const [meta] = await session.call([{ action: "get_upload_metadata", component_id: comp.id, file_name: "main.mov", file_size: bytes.length, checksum }]);
  const put = await fetch(meta.url, { method: "PUT", headers: meta.headers, body: bytes });
  assert.equal(put.status, 200, await put.text());
  await session.create("ComponentLocation", { component_id: comp.id, location_id: "3a372bde-05bc-11e4-8908-20c9d081909b", resource_identifier: comp.id });

  const [{ job_id: jobId }] = await session.call([{ action: "encode_media", component_id: comp.id, keep_original: true, version_id: version.id }]);
  let job;
  await waitFor(async () => {
    job = (await session.query(`select status, data from Job where id is "${jobId}"`)).data[0];
    return job.status === "done" || job.status === "failed";
  }, 60000, "the encode job");
  assert.equal(job.status, "done", job.data);
  const data = JSON.parse(job.data);
  assert.deepEqual(data.output.map((o) => o.format).sort(), ["image/jpeg", "video/mp4"]);
  assert.equal(data.source_component_id, comp.id);
  const outputs = await session.query(`select component.name, component.version_id from JobComponent where job_id is "${jobId}"`);
  assert.equal(outputs.data.length, 2);
  assert.ok(outputs.data.every((o) => o.component.version_id === version.id));
  const got = await fetch(session.getComponentUrl(data.output.find((o) => o.format === "video/mp4").component_id));
  assert.equal(got.status, 200);
  assert.equal(Buffer.from(await got.arrayBuffer()).subarray(4, 8).toString(), "ftyp");

  // The Job's life was published: added queued, then running, then done.
  await waitFor(() => entitiesOf((e) => e.entityId === jobId && e.changes?.status?.new === "done").length, 10000, "the job's done event");
  const statuses = entitiesOf((e) => e.entityId === jobId).map(({ ent }) => [ent.action, ent.entityType, ent.changes.status?.new]);
  assert.deepEqual(statuses, [["add", "job", "queued"], ["update", "job", "running"], ["update", "job", "done"]]);
  const added = entitiesOf((e) => e.action === "add" && e.entityType === "component" && data.output.some((o) => o.component_id === e.entityId));
  assert.equal(added.length, 2);
  assert.equal(added[0].ent.parents[1].entity_type, "AssetVersion");
});
