// Media at Synapse's admin API over real HTTP on both engines: pages of a user's media in the
// orders asked, deleting one medium (its download then 404, its file gone), deleting a user's media,
// deleting the media not accessed since a time (avatars in use kept), purging the remote media
// cache; server admins only, and the errors of bad requests.
import assert from "node:assert/strict";
import { access } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { localMediaPath } from "../../../../src/homeserver/media/media-rules.ts";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { assertError, call, registerUser, type TestUser } from "../client/helpers.ts";
import { ADMIN_YAML, registerAdmin } from "./helpers.ts";

const enc = encodeURIComponent;
type MediaJson = Record<string, unknown>;

for (const engine of engines) {
  describe(`admin media [${engine}]`, () => {
    let hs: TestHomeserver;
    let admin: string;
    let alice: TestUser;
    let bob: TestUser;
    /** Alice's uploads, in order: media IDs. */
    const uploads: string[] = [];
    let bobs: string;

    const upload = async (user: TestUser, body: string, name: string): Promise<string> => {
      const res = await fetch(`${hs.baseUrl}/_matrix/media/v3/upload?filename=${enc(name)}`, {
        method: "POST",
        headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "text/plain" },
        body,
      });
      assert.equal(res.status, 200);
      return ((await res.json()) as { content_uri: string }).content_uri.split("/").at(-1) as string;
    };
    const downloadStatus = async (mediaId: string): Promise<number> =>
      (await fetch(`${hs.baseUrl}/_matrix/client/v1/media/download/test.local/${mediaId}`, { headers: { authorization: `Bearer ${alice.accessToken}` } })).status;

    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ADMIN_YAML });
      admin = await registerAdmin(hs, "root");
      [alice, bob] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob")]);
      for (const [body, name] of [["a", "one.txt"], ["bbbbbbbb", "two.txt"], ["ccc", "three.txt"]] as const) {
        uploads.push(await upload(alice, body, name));
        // Distinct creation times, for the default order.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      bobs = await upload(bob, "bob's", "bob.txt");
    });
    after(() => hs.stop());

    const list = async (userId: string, query = ""): Promise<{ media: MediaJson[]; total: number; next: number | undefined }> => {
      const reply = await call(hs, "GET", `/_synapse/admin/v1/users/${enc(userId)}/media${query}`, { token: admin });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return { media: reply.body["media"] as MediaJson[], total: reply.body["total"] as number, next: reply.body["next_token"] as number | undefined };
    };
    const ids = (media: MediaJson[]): string[] => media.map((m) => m["media_id"] as string);

    it("tells who stores how much, in the orders asked", async () => {
      const stats = async (query = ""): Promise<Array<Record<string, unknown>>> => {
        const reply = await call(hs, "GET", `/_synapse/admin/v1/statistics/users/media${query}`, { token: admin });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        return reply.body["users"] as Array<Record<string, unknown>>;
      };
      const all = await stats();
      assert.deepEqual(
        all.map((u) => [u["user_id"], u["media_count"], u["media_length"]]),
        [
          [alice.userId, 3, 1 + 8 + 3],
          [bob.userId, 1, "bob's".length],
        ],
      );
      assert.deepEqual((await stats("?order_by=media_length&dir=b&limit=1")).map((u) => u["user_id"]), [alice.userId]);
      assert.deepEqual((await stats(`?search_term=${enc("BOB")}`)).map((u) => u["user_id"]), [bob.userId]);
      assert.deepEqual(await stats(`?until_ts=1000`), []);
      assertError(await call(hs, "GET", "/_synapse/admin/v1/statistics/users/media?order_by=colour", { token: admin }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "GET", "/_synapse/admin/v1/statistics/users/media", { token: bob.accessToken }), 403, "M_FORBIDDEN");
    });

    it("lists a user's media, oldest first, paged and in the orders asked", async () => {
      const all = await list(alice.userId);
      assert.equal(all.total, 3);
      assert.deepEqual(ids(all.media), uploads);
      const first = all.media[0] as MediaJson;
      assert.equal(first["upload_name"], "one.txt");
      assert.equal(first["media_length"], 1);
      assert.match(first["media_type"] as string, /^text\/plain/);
      assert.equal(typeof first["created_ts"], "number");
      const page = await list(alice.userId, "?limit=2");
      assert.deepEqual(ids(page.media), uploads.slice(0, 2));
      assert.equal(page.next, 2);
      assert.deepEqual(ids((await list(alice.userId, "?from=2")).media), uploads.slice(2));
      assert.deepEqual(ids((await list(alice.userId, "?order_by=media_length&dir=b")).media), [uploads[1], uploads[2], uploads[0]]);
      assert.deepEqual(ids((await list(bob.userId)).media), [bobs]);
    });

    it("deletes one medium: its download answers 404 and its file is gone", async () => {
      const [gone] = uploads;
      assert.equal(await downloadStatus(gone as string), 200);
      const reply = await call(hs, "DELETE", `/_synapse/admin/v1/media/test.local/${gone}`, { token: admin });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(reply.body, { deleted_media: [gone], total: 1 });
      assert.equal(await downloadStatus(gone as string), 404);
      await assert.rejects(access(localMediaPath(hs.config.mediaStorePath, gone as string)));
      assertError(await call(hs, "DELETE", `/_synapse/admin/v1/media/test.local/${gone}`, { token: admin }), 404, "M_NOT_FOUND");
    });

    it("deletes a user's media, and no one else's", async () => {
      const reply = await call(hs, "DELETE", `/_synapse/admin/v1/users/${enc(alice.userId)}/media`, { token: admin });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual((reply.body["deleted_media"] as string[]).sort(), uploads.slice(1).sort());
      assert.equal(reply.body["total"], 2);
      assert.equal((await list(alice.userId)).total, 0);
      assert.equal(await downloadStatus(bobs), 200);
    });

    it("answers only server admins, and refuses bad requests", async () => {
      const token = bob.accessToken;
      assertError(await call(hs, "GET", `/_synapse/admin/v1/users/${enc(bob.userId)}/media`, { token }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "DELETE", `/_synapse/admin/v1/users/${enc(bob.userId)}/media`, { token }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "DELETE", `/_synapse/admin/v1/media/test.local/${bobs}`, { token }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "DELETE", `/_synapse/admin/v1/media/elsewhere.example/abc`, { token: admin }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "GET", `/_synapse/admin/v1/users/${enc("@bob:elsewhere.example")}/media`, { token: admin }), 400, "M_INVALID_PARAM");
      for (const query of ["?order_by=colour", "?limit=0", "?from=x", "?dir=up"]) {
        assertError(await call(hs, "GET", `/_synapse/admin/v1/users/${enc(bob.userId)}/media${query}`, { token: admin }), 400, "M_INVALID_PARAM");
      }
      assert.equal(await downloadStatus(bobs), 200);
    });

    it("deletes the media not accessed since a time, but an avatar in use", async () => {
      const avatar = await upload(bob, "avatar", "avatar.txt");
      const avatarPath = `/_matrix/client/v3/profile/${enc(bob.userId)}/avatar_url`;
      assert.equal((await call(hs, "PUT", avatarPath, { token: bob.accessToken, body: { avatar_url: `mxc://test.local/${avatar}` } })).status, 200);
      const soon = Date.now() + 60_000;
      const reply = await call(hs, "POST", `/_synapse/admin/v1/media/delete?before_ts=${soon}`, { token: admin });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(reply.body, { deleted_media: [bobs], total: 1 });
      assert.equal(await downloadStatus(bobs), 404);
      assert.equal(await downloadStatus(avatar), 200);
      // Nothing left to delete; the server-named path answers the same.
      assert.deepEqual((await call(hs, "POST", `/_synapse/admin/v1/media/test.local/delete?before_ts=${soon}&keep_profiles=true&size_gt=0`, { token: admin })).body, { deleted_media: [], total: 0 });
      // No media of other servers is cached here: nothing to purge.
      assert.deepEqual((await call(hs, "POST", `/_synapse/admin/v1/purge_media_cache?before_ts=${soon}`, { token: admin })).body, { deleted: 0 });
      const bad = ["?before_ts=1000", "?before_ts=x", `?before_ts=${soon}&size_gt=5`, `?before_ts=${soon}&keep_profiles=false`];
      assertError(await call(hs, "POST", "/_synapse/admin/v1/media/delete", { token: admin }), 400, "M_MISSING_PARAM");
      for (const query of bad) assertError(await call(hs, "POST", `/_synapse/admin/v1/media/delete${query}`, { token: admin }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "POST", "/_synapse/admin/v1/purge_media_cache?before_ts=1000", { token: admin }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "POST", `/_synapse/admin/v1/media/elsewhere.example/delete?before_ts=${soon}`, { token: admin }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "POST", `/_synapse/admin/v1/media/delete?before_ts=${soon}`, { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", `/_synapse/admin/v1/purge_media_cache?before_ts=${soon}`, { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assert.equal(await downloadStatus(avatar), 200);
    });
  });
}
