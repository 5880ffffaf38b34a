// Quarantining media at Synapse's admin API over real HTTP on both engines: one medium (and lifting
// it), every medium a room's events refer to, every medium a user uploaded, protected media left out
// of those; the media of a room; a
// quarantined medium served to nobody (download and thumbnail 404) and its quarantine said in the
// user's media list; server admins only, and the errors of bad requests.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { assertError, call, registerUser, type TestUser } from "../client/helpers.ts";
import { ADMIN_YAML, registerAdmin } from "./helpers.ts";

const enc = encodeURIComponent;
const REMOTE = "mxc://elsewhere.example/remoteMedia1";

for (const engine of engines) {
  describe(`admin media quarantine [${engine}]`, () => {
    let hs: TestHomeserver;
    let admin: string;
    let alice: TestUser;
    let roomId: string;
    let image: string;
    let thumbnail: string;
    let encrypted: string;
    const mxc = (mediaId: string): string => `mxc://test.local/${mediaId}`;

    const upload = async (body: string): Promise<string> => {
      const res = await fetch(`${hs.baseUrl}/_matrix/media/v3/upload?filename=f.txt`, {
        method: "POST",
        headers: { authorization: `Bearer ${alice.accessToken}`, "content-type": "text/plain" },
        body,
      });
      assert.equal(res.status, 200);
      return ((await res.json()) as { content_uri: string }).content_uri.split("/").at(-1) as string;
    };
    const downloadStatus = async (mediaId: string): Promise<number> => {
      const res = await fetch(`${hs.baseUrl}/_matrix/client/v1/media/download/test.local/${mediaId}`, { headers: { authorization: `Bearer ${alice.accessToken}` } });
      await res.arrayBuffer();
      return res.status;
    };
    const post = (path: string, token = admin) => call(hs, "POST", `/_synapse/admin/v1${path}`, { token });
    const send = async (content: Record<string, unknown>, txn: string) => {
      const reply = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${txn}`, { token: alice.accessToken, body: content });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
    };

    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: `${ADMIN_YAML}\nrc_message: {per_second: 1000, burst_count: 1000}` });
      admin = await registerAdmin(hs, "root");
      alice = await registerUser(hs, "alice");
      const created = await call(hs, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { preset: "private_chat" } });
      roomId = created.body["room_id"] as string;
      [image, thumbnail, encrypted] = [await upload("image"), await upload("thumb"), await upload("ciphertext")];
      await send({ msgtype: "m.image", body: "a picture", url: mxc(image), info: { mimetype: "image/png", thumbnail_url: mxc(thumbnail) } }, "t1");
      await send({ msgtype: "m.file", body: "encrypted", file: { url: mxc(encrypted), v: "v2" } }, "t2");
      await send({ msgtype: "m.image", body: "from elsewhere", url: REMOTE }, "t3");
      await send({ msgtype: "m.text", body: "no media", url: "https://example.org/not-mxc" }, "t4");
    });
    after(() => hs.stop());

    it("lists the media a room's events refer to, ours and other servers'", async () => {
      const reply = await call(hs, "GET", `/_synapse/admin/v1/room/${enc(roomId)}/media`, { token: admin });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual((reply.body["local"] as string[]).sort(), [mxc(image), mxc(thumbnail), mxc(encrypted)].sort());
      assert.deepEqual(reply.body["remote"], [REMOTE]);
    });

    it("quarantines one medium, which then serves nobody, and lifts the quarantine", async () => {
      assert.equal(await downloadStatus(image), 200);
      assert.deepEqual((await post(`/media/quarantine/test.local/${image}`)).body, {});
      assert.equal(await downloadStatus(image), 404);
      const thumb = await fetch(`${hs.baseUrl}/_matrix/client/v1/media/thumbnail/test.local/${image}?width=32&height=32`, { headers: { authorization: `Bearer ${alice.accessToken}` } });
      assert.equal(thumb.status, 404);
      assert.equal(((await thumb.json()) as { errcode: string }).errcode, "M_NOT_FOUND");
      const listed = await call(hs, "GET", `/_synapse/admin/v1/users/${enc(alice.userId)}/media`, { token: admin });
      const entry = (listed.body["media"] as Array<Record<string, unknown>>).find((m) => m["media_id"] === image);
      const adminId = (await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token: admin })).body["user_id"];
      assert.equal(entry?.["quarantined_by"], adminId);
      assert.deepEqual((await post(`/media/unquarantine/test.local/${image}`)).body, {});
      assert.equal(await downloadStatus(image), 200);
    });

    it("quarantines every medium of a room once, and every medium of a user", async () => {
      const first = await post(`/room/${enc(roomId)}/media/quarantine`);
      assert.deepEqual(first.body, { num_quarantined: 4 });
      for (const id of [image, thumbnail, encrypted]) assert.equal(await downloadStatus(id), 404);
      assert.deepEqual((await post(`/quarantine_media/${enc(roomId)}`)).body, { num_quarantined: 0 }, "the older path; nothing new");
      const later = await upload("uploaded later");
      assert.equal(await downloadStatus(later), 200);
      assert.deepEqual((await post(`/user/${enc(alice.userId)}/media/quarantine`)).body, { num_quarantined: 1 });
      assert.equal(await downloadStatus(later), 404);
    });

    it("leaves protected media out of a user's or a room's quarantine, but not out of one of them alone", async () => {
      const kept = await upload("protected");
      const other = await upload("not protected");
      assert.deepEqual((await post(`/media/protect/${kept}`)).body, {});
      const listed = await call(hs, "GET", `/_synapse/admin/v1/users/${enc(alice.userId)}/media`, { token: admin });
      const safe = (id: string) => (listed.body["media"] as Array<Record<string, unknown>>).find((m) => m["media_id"] === id)?.["safe_from_quarantine"];
      assert.equal(safe(kept), true);
      assert.equal(safe(other), false);
      assert.deepEqual((await post(`/user/${enc(alice.userId)}/media/quarantine`)).body, { num_quarantined: 1 });
      assert.equal(await downloadStatus(kept), 200);
      assert.equal(await downloadStatus(other), 404);
      await post(`/media/quarantine/test.local/${kept}`);
      assert.equal(await downloadStatus(kept), 404, "named alone, it is quarantined all the same");
      await post(`/media/unquarantine/test.local/${kept}`);
      assert.deepEqual((await post(`/media/unprotect/${kept}`)).body, {});
      assert.deepEqual((await post(`/user/${enc(alice.userId)}/media/quarantine`)).body, { num_quarantined: 1 });
      assert.equal(await downloadStatus(kept), 404);
      assertError(await post(`/media/protect/bad.id`), 400, "M_INVALID_PARAM");
      assertError(await post(`/media/protect/${kept}`, alice.accessToken), 403, "M_FORBIDDEN");
    });

    it("answers errors: admins only, a room known here, a user of ours, a well-formed medium", async () => {
      assertError(await post(`/media/quarantine/test.local/${image}`, alice.accessToken), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", `/_synapse/admin/v1/room/${enc(roomId)}/media`, { token: alice.accessToken }), 403, "M_FORBIDDEN");
      assertError(await post(`/room/${enc("!unknown:test.local")}/media/quarantine`), 404, "M_NOT_FOUND");
      assertError(await post(`/room/not-a-room/media/quarantine`), 400, "M_INVALID_PARAM");
      assertError(await post(`/user/${enc("@bob:elsewhere.example")}/media/quarantine`), 400, "M_INVALID_PARAM");
      assertError(await post(`/media/quarantine/not%20a%20server/${image}`), 400, "M_INVALID_PARAM");
      assertError(await post(`/media/quarantine/test.local/bad.id`), 400, "M_INVALID_PARAM");
    });
  });
}
