// media_retention (Synapse's remote_media_lifetime / local_media_lifetime): accesses written in
// batches, media not accessed within a lifetime purged (rows, files, thumbnails), remote ones
// fetched again when asked later. Two TLS homeservers on both engines (A with lifetimes, B
// without), then FederationRemoteMedia alone against a remote that answers when told to.
import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import sharp from "sharp";
import { multipartFrame } from "../../../src/homeserver/api/media/federation-media.ts";
import { accessResolutionMs, MediaAccesses } from "../../../src/homeserver/media/media-retention.ts";
import { localMediaPath, localThumbnailDir } from "../../../src/homeserver/media/media-rules.ts";
import { FederationRemoteMedia, remoteMediaPath } from "../../../src/homeserver/media/remote-media.ts";
import { Thumbnailer } from "../../../src/homeserver/media/thumbnailer.ts";
import type { TransportResponse } from "../../../src/homeserver/federation/transport.ts";
import { RemoteMediaStore } from "../../../src/storage/stores/remote-media.ts";
import { engines, forEachEngine } from "../../storage/engines.ts";
import { createTestPki, type TestPki } from "../federation/pki.ts";
import { startTlsHomeserver, type TlsHomeserver } from "../federation/tls-homeserver.ts";

const DAY = 24 * 60 * 60 * 1000;
const silent = pino({ level: "silent" });

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe("media accesses", () => {
  it("are written when the stored one is older than a tenth of the lifetime, at most an hour", () => {
    assert.equal(accessResolutionMs(undefined), 60 * 60 * 1000);
    assert.equal(accessResolutionMs(14 * DAY), 60 * 60 * 1000);
    assert.equal(accessResolutionMs(60 * 60 * 1000), 6 * 60 * 1000);
  });

  it("are remembered once each and written together, only when the stored one is stale", async () => {
    let now = 10 * DAY;
    const writes: [string[], number][] = [];
    const accesses = new MediaAccesses<string>((ids, ts) => Promise.resolve(void writes.push([ids, ts])), { resolutionMs: 1000, log: silent, now: () => now });
    accesses.mark("fresh", "fresh", now - 10); // stored a moment ago: nothing to write
    accesses.mark("old", "old", now - DAY);
    accesses.mark("old", "old", now - DAY);
    accesses.mark("older", "older", 0);
    await accesses.flush();
    assert.deepEqual(writes, [[["old", "older"], now]]);
    now += 1;
    await accesses.flush(); // nothing remembered: no write
    assert.equal(writes.length, 1);
  });

  it("drop a batch whose write fails, with a warning, and go on", async () => {
    let fail = true;
    const written: string[][] = [];
    const accesses = new MediaAccesses<string>(
      (ids) => (fail ? Promise.reject(new Error("database down")) : Promise.resolve(void written.push(ids))),
      { resolutionMs: 1000, log: silent },
    );
    accesses.mark("a", "a", 0);
    await accesses.flush();
    fail = false;
    accesses.mark("b", "b", 0);
    await accesses.flush();
    assert.deepEqual(written, [["b"]]);
  });
});

interface Reply {
  readonly status: number;
  readonly body: Buffer;
}

for (const engine of engines) {
  describe(`media_retention [${engine}]`, () => {
    let pki: TestPki;
    /** With remote_media_lifetime and local_media_lifetime of a day. */
    let a: TlsHomeserver;
    /** Without media_retention: keeps everything. */
    let b: TlsHomeserver;
    let userOfA: string;
    let tokenOfA: string;
    let userOfB: string;
    let tokenOfB: string;
    /** The media IDs A asked other servers for. */
    const asked: string[] = [];

    const client = (hs: TlsHomeserver, token: string, path: string): Promise<Reply> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest(
          { host: "127.0.0.1", port: hs.port, servername: "localhost", method: "GET", path, headers: { authorization: `Bearer ${token}` }, ca: pki.caCert },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          },
        );
        req.on("error", reject);
        req.end();
      });
    const errcode = (reply: Reply): unknown => (JSON.parse(reply.body.toString()) as { errcode?: unknown }).errcode;

    /** Makes media look last accessed `ago` milliseconds back (as if nobody had asked for it since). */
    const ageRemote = (hs: TlsHomeserver, serverName: string, mediaId: string, ago: number): Promise<unknown> =>
      hs.server.services.db.write("test_age_remote_media", (trx) =>
        trx.updateTable("remote_media").set({ last_access_ts: Date.now() - ago, fetched_ts: Date.now() - ago }).where("server_name", "=", serverName).where("media_id", "=", mediaId).execute(),
      );
    const ageLocal = (hs: TlsHomeserver, mediaId: string, ago: number): Promise<unknown> =>
      hs.server.services.db.write("test_age_local_media", async (trx) => {
        const then = Date.now() - ago;
        await trx.updateTable("local_media").set({ created_ts: then }).where("media_id", "=", mediaId).execute();
        await trx.updateTable("local_media").set({ upload_ts: then, last_access_ts: then }).where("media_id", "=", mediaId).where("upload_ts", "is not", null).execute();
      });
    const remoteRow = (hs: TlsHomeserver, serverName: string, mediaId: string) =>
      hs.server.services.db.read("test_remote_row", (trx) =>
        trx.selectFrom("remote_media").selectAll().where("server_name", "=", serverName).where("media_id", "=", mediaId).executeTakeFirst(),
      );
    const idOf = (uri: string): string => uri.split("/").pop()!;

    before(async () => {
      pki = await createTestPki();
      a = await startTlsHomeserver(engine, pki, { host: "localhost", yaml: "media_retention:\n  remote_media_lifetime: 1d\n  local_media_lifetime: 1d" });
      b = await startTlsHomeserver(engine, pki, { host: "127.0.0.1" });
      const alice = await a.server.services.users.register({ localpart: "alice", password: undefined });
      [userOfA, tokenOfA] = [alice.userId, alice.accessToken as string];
      const bob = await b.server.services.users.register({ localpart: "bob", password: undefined });
      [userOfB, tokenOfB] = [bob.userId, bob.accessToken as string];
      const federationClient = a.server.services.federation.client;
      const requestRaw = federationClient.requestRaw.bind(federationClient);
      federationClient.requestRaw = (method, destination, path, body, options) => {
        asked.push(path);
        return requestRaw(method, destination, path, body, options);
      };
    });
    after(async () => {
      await a?.stop();
      await b?.stop();
      await pki?.cleanup();
    });

    it("purges other servers' media not accessed within remote_media_lifetime, then fetches them again when asked", async () => {
      const mediaId = idOf(await b.server.services.media.upload(userOfB, Buffer.from("from B, for a while"), "text/plain", undefined));
      const path = `/_matrix/client/v1/media/download/${b.serverName}/${mediaId}`;
      assert.equal((await client(a, tokenOfA, path)).status, 200);
      const file = remoteMediaPath(a.config.mediaStorePath, b.serverName, mediaId);
      assert.ok(await exists(file));

      await ageRemote(a, b.serverName, mediaId, 2 * DAY);
      const purged = await a.server.services.mediaRetention.run();
      assert.ok(purged.remote >= 1, JSON.stringify(purged));
      assert.equal(await remoteRow(a, b.serverName, mediaId), undefined);
      assert.equal(await exists(file), false);

      // Asked again: fetched again from B, and kept again.
      const again = await client(a, tokenOfA, path);
      assert.equal(again.status, 200, again.body.toString());
      assert.equal(again.body.toString(), "from B, for a while");
      assert.equal(asked.filter((p) => p.includes(mediaId)).length, 2);
      assert.ok((await remoteRow(a, b.serverName, mediaId)) !== undefined);
      assert.ok(await exists(file));
    });

    it("keeps media downloaded or thumbnailed within the lifetime", async () => {
      const text = idOf(await b.server.services.media.upload(userOfB, Buffer.from("still wanted"), "text/plain", undefined));
      const png = await sharp({ create: { width: 200, height: 100, channels: 3, background: "blue" } }).png().toBuffer();
      const image = idOf(await b.server.services.media.upload(userOfB, png, "image/png", undefined));
      const download = `/_matrix/client/v1/media/download/${b.serverName}/${text}`;
      const thumbnail = `/_matrix/client/v1/media/thumbnail/${b.serverName}/${image}?width=32&height=32&method=crop`;
      assert.equal((await client(a, tokenOfA, download)).status, 200);
      assert.equal((await client(a, tokenOfA, thumbnail)).status, 200);
      // Stored two days ago, asked for just now: the access is remembered, written by the run, and keeps them.
      await ageRemote(a, b.serverName, text, 2 * DAY);
      await ageRemote(a, b.serverName, image, 2 * DAY);
      assert.equal((await client(a, tokenOfA, download)).status, 200);
      assert.equal((await client(a, tokenOfA, thumbnail)).status, 200);
      const before = Date.now();
      await a.server.services.mediaRetention.run();
      for (const mediaId of [text, image]) {
        const row = await remoteRow(a, b.serverName, mediaId);
        assert.ok(row !== undefined, mediaId);
        assert.ok(Number(row.last_access_ts) >= before - 1000, `${mediaId}: last access written`);
        assert.ok(await exists(remoteMediaPath(a.config.mediaStorePath, b.serverName, mediaId)));
      }
      assert.equal(asked.filter((p) => p.includes(text) || p.includes(image)).length, 2, "B is not asked again");
    });

    it("purges our media not accessed within local_media_lifetime, thumbnails too, never pending uploads or avatars", async () => {
      const { media, db } = a.server.services;
      const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: "red" } }).png().toBuffer();
      const old = idOf(await media.upload(userOfA, png, "image/png", "old.png"));
      const thumb = await client(a, tokenOfA, `/_matrix/client/v1/media/thumbnail/${a.serverName}/${old}?width=32&height=32&method=crop`);
      assert.equal(thumb.status, 200);
      assert.ok(await exists(localThumbnailDir(a.config.mediaStorePath, old)), "a standard thumbnail is kept on disk");
      const avatar = idOf(await media.upload(userOfA, png, "image/png", "me.png"));
      await db.write("test_set_avatar", (trx) => trx.updateTable("users").set({ avatar_url: `mxc://${a.serverName}/${avatar}` }).where("user_id", "=", userOfA).execute());
      const pending = idOf((await media.create(userOfA)).content_uri);
      const recent = idOf(await media.upload(userOfA, Buffer.from("new"), "text/plain", undefined));
      for (const mediaId of [old, avatar, pending]) await ageLocal(a, mediaId, 2 * DAY);

      const purged = await a.server.services.mediaRetention.run();
      assert.ok(purged.local >= 1, JSON.stringify(purged));
      assert.equal(await exists(localMediaPath(a.config.mediaStorePath, old)), false);
      assert.equal(await exists(localThumbnailDir(a.config.mediaStorePath, old)), false);
      // Gone is unknown: 404 M_NOT_FOUND, as for any media ID this server never made.
      const gone = await client(a, tokenOfA, `/_matrix/client/v1/media/download/${a.serverName}/${old}`);
      assert.equal(gone.status, 404);
      assert.equal(errcode(gone), "M_NOT_FOUND");
      for (const kept of [avatar, recent]) {
        assert.equal((await client(a, tokenOfA, `/_matrix/client/v1/media/download/${a.serverName}/${kept}`)).status, 200, kept);
      }
      // Created with /create and not uploaded yet: still there to be uploaded to.
      await media.uploadTo(userOfA, a.serverName, pending, Buffer.from("late but fine"), "text/plain", undefined);
      const late = await client(a, tokenOfA, `/_matrix/client/v1/media/download/${a.serverName}/${pending}`);
      assert.equal(late.body.toString(), "late but fine");
    });

    it("purges nothing when no lifetime is set", async () => {
      const local = idOf(await b.server.services.media.upload(userOfB, Buffer.from("B's own"), "text/plain", undefined));
      const remote = idOf(await a.server.services.media.upload(userOfA, Buffer.from("A's, cached on B"), "text/plain", undefined));
      assert.equal((await client(b, tokenOfB, `/_matrix/client/v1/media/download/${a.serverName}/${remote}`)).status, 200);
      await ageLocal(b, local, 1000 * DAY);
      await ageRemote(b, a.serverName, remote, 1000 * DAY);
      assert.equal(b.server.services.mediaRetention.enabled, false);
      assert.deepEqual(await b.server.services.mediaRetention.run(), { local: 0, remote: 0 });
      assert.ok((await remoteRow(b, a.serverName, remote)) !== undefined);
      assert.ok(await exists(localMediaPath(b.config.mediaStorePath, local)));
      assert.equal((await client(b, tokenOfB, `/_matrix/client/v1/media/download/${b.serverName}/${local}`)).status, 200);
    });
  });
}

forEachEngine("media_retention and fetches under way", (getDb) => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "weft-media-retention-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("never purges media being fetched right now, and purges them once idle", async () => {
    const store = new RemoteMediaStore(getDb());
    /** One per fetch asked of the remote: answers it. */
    const answers: (() => void)[] = [];
    const asked = async (n: number): Promise<() => void> => {
      while (answers.length < n) await new Promise((resolve) => setTimeout(resolve, 5));
      return answers[n - 1]!;
    };
    const reply = (): TransportResponse => {
      const { head, tail } = multipartFrame("bnd", {}, { "Content-Type": "text/plain" });
      return { status: 200, headers: { "content-type": "multipart/mixed; boundary=bnd" }, body: Buffer.concat([head, Buffer.from("fresh bytes"), tail]) };
    };
    const remote = new FederationRemoteMedia({
      client: {
        requestRaw: () => new Promise<TransportResponse>((resolve) => answers.push(() => resolve(reply()))),
        fetchUrl: () => Promise.reject(new Error("not used")),
      },
      store,
      storePath: dir,
      maxUploadSize: 1024,
      thumbnailer: new Thumbnailer(),
      log: silent,
      remoteMediaLifetimeMs: DAY,
    });
    const options = { timeoutMs: 0, allowRemote: true, authenticated: true };
    // A row long unused whose file is lost: a download fetches it again, and the remote waits.
    const old = Date.now() - 10 * DAY;
    await store.put({ serverName: "origin.example", mediaId: "busymedia", contentType: "text/plain", uploadName: undefined, size: 3, fetchedTs: old, lastAccessTs: old });
    const download = remote.download("origin.example", "busymedia", options);
    const answer = await asked(1);
    assert.deepEqual(await remote.purgeNotAccessedSince(Date.now() - DAY, 10), { examined: 1, purged: [] });
    answer();
    const content = await download;
    assert.ok(content !== undefined);
    content.stream.destroy();
    assert.equal((await store.get("origin.example", "busymedia"))?.size, "fresh bytes".length);

    // Idle and old enough: purged, and the next download fetches it once more.
    assert.deepEqual(await remote.purgeNotAccessedSince(Date.now() + 1, 10), { examined: 1, purged: ["origin.example/busymedia"] });
    assert.equal(await store.get("origin.example", "busymedia"), undefined);
    assert.equal(await exists(remoteMediaPath(dir, "origin.example", "busymedia")), false);
    const again = remote.download("origin.example", "busymedia", options);
    (await asked(2))();
    (await again)?.stream.destroy();
    assert.equal(answers.length, 2);
  });

  it("fetches again media whose row is there without its file (as when a purge takes it during a download)", async () => {
    const store = new RemoteMediaStore(getDb());
    let fetches = 0;
    const remote = new FederationRemoteMedia({
      client: {
        requestRaw: () => {
          fetches++;
          const { head, tail } = multipartFrame("bnd", {}, { "Content-Type": "text/plain" });
          return Promise.resolve({ status: 200, headers: { "content-type": "multipart/mixed; boundary=bnd" }, body: Buffer.concat([head, Buffer.from("again"), tail]) });
        },
        fetchUrl: () => Promise.reject(new Error("not used")),
      },
      store,
      storePath: dir,
      maxUploadSize: 1024,
      thumbnailer: new Thumbnailer(),
      log: silent,
    });
    // The row says cached, the file is not there (as between a purge's row delete and a download's open).
    const now = Date.now();
    await store.put({ serverName: "origin.example", mediaId: "lostmedia", contentType: "text/plain", uploadName: undefined, size: 5, fetchedTs: now, lastAccessTs: now });
    const content = await remote.download("origin.example", "lostmedia", { timeoutMs: 0, allowRemote: true, authenticated: true });
    assert.ok(content !== undefined);
    content.stream.destroy();
    assert.equal(fetches, 1);
    // Kept again: served without asking.
    (await remote.download("origin.example", "lostmedia", { timeoutMs: 0, allowRemote: true, authenticated: true }))?.stream.destroy();
    assert.equal(fetches, 1);
  });
});
