// The content repository over real HTTP (client-server-api#content-repository), on both engines.
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { localMediaPath } from "../../../src/homeserver/media/media-rules.ts";
import { engines } from "../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { ACCOUNTS_YAML, assertError, call, registerGuest, registerUser, type TestUser } from "../api/client/helpers.ts";

const MEDIA_YAML = `${ACCOUNTS_YAML}\nmax_upload_size: 200K`;

interface RawReply {
  readonly status: number;
  readonly headers: Headers;
  readonly bytes: Buffer;
  readonly json: Record<string, unknown>;
}

async function raw(
  hs: TestHomeserver,
  method: string,
  path: string,
  options: { token?: string; body?: Buffer | string; contentType?: string } = {},
): Promise<RawReply> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`;
  if (options.contentType !== undefined) headers["content-type"] = options.contentType;
  const res = await fetch(`${hs.baseUrl}${path}`, { method, headers, body: options.body });
  const bytes = Buffer.from(await res.arrayBuffer());
  let json: Record<string, unknown> = {};
  if ((res.headers.get("content-type") ?? "").startsWith("application/json")) json = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
  return { status: res.status, headers: res.headers, bytes, json };
}

function assertRawError(reply: RawReply, status: number, errcode: string): void {
  assert.equal(reply.status, status, `expected ${status} ${errcode}, got ${reply.status} ${reply.bytes.toString("utf8")}`);
  assert.equal(reply.json["errcode"], errcode);
}

async function upload(hs: TestHomeserver, user: TestUser, body: Buffer | string, contentType?: string, filename?: string): Promise<string> {
  const query = filename === undefined ? "" : `?filename=${encodeURIComponent(filename)}`;
  const reply = await raw(hs, "POST", `/_matrix/media/v3/upload${query}`, { token: user.accessToken, body, ...(contentType === undefined ? {} : { contentType }) });
  assert.equal(reply.status, 200, reply.bytes.toString("utf8"));
  const uri = reply.json["content_uri"] as string;
  assert.match(uri, /^mxc:\/\/test\.local\/[A-Za-z0-9_-]+$/);
  return uri.slice("mxc://".length);
}

async function image(width: number, height: number, format: "png" | "jpeg"): Promise<Buffer> {
  const img = sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 60 } } });
  return format === "png" ? img.png().toBuffer() : img.jpeg().toBuffer();
}

async function animatedGif(width: number, height: number): Promise<Buffer> {
  const frame = (background: string): Promise<Buffer> => sharp({ create: { width, height, channels: 3, background } }).png().toBuffer();
  return sharp([await frame("red"), await frame("blue")], { join: { animated: true } }).gif().toBuffer();
}

for (const engine of engines) {
  describe(`media repository [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: MEDIA_YAML });
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
    });
    after(() => hs.stop());

    it("answers the upload size limit on both config paths", async () => {
      // authed-content-repo.yaml /media/config: m.upload.size, the largest upload in bytes.
      const v1 = await call(hs, "GET", "/_matrix/client/v1/media/config", { token: alice.accessToken });
      assert.equal(v1.status, 200);
      assert.deepEqual(v1.body, { "m.upload.size": 200 * 1024 });
      const v3 = await call(hs, "GET", "/_matrix/media/v3/config", { token: alice.accessToken });
      assert.deepEqual(v3.body, { "m.upload.size": 200 * 1024 });
      // authed-content-repo.yaml: the config needs an access token.
      assertError(await call(hs, "GET", "/_matrix/client/v1/media/config"), 401, "M_MISSING_TOKEN");
    });

    it("uploads and downloads with the type, disposition and security headers", async () => {
      const png = await image(40, 30, "png");
      const [server, mediaId] = (await upload(hs, alice, png, "image/png", "cat picture.png")).split("/") as [string, string];
      assert.equal(server, "test.local");
      // The file is on disk, in the layout, before the upload is answered.
      assert.equal((await stat(localMediaPath(hs.config.mediaStorePath, mediaId))).size, png.length);
      const down = await raw(hs, "GET", `/_matrix/client/v1/media/download/${server}/${mediaId}`, { token: bob.accessToken });
      assert.equal(down.status, 200);
      assert.deepEqual(down.bytes, png);
      // downloadContentType: the type it was uploaded with.
      assert.equal(down.headers.get("content-type"), "image/png");
      // client-server-api#serving-inline-content: image/png is served inline, with the file name.
      assert.equal(down.headers.get("content-disposition"), 'inline; filename="cat picture.png"');
      // client-server-api#content-repository: the recommended Content-Security-Policy and (v1.4) CORP.
      assert.equal(
        down.headers.get("content-security-policy"),
        "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; object-src 'self';",
      );
      assert.equal(down.headers.get("cross-origin-resource-policy"), "cross-origin");
      // authed-content-repo.yaml download/{fileName}: the name in the path is the one given.
      const named = await raw(hs, "GET", `/_matrix/client/v1/media/download/${server}/${mediaId}/other.png`, { token: bob.accessToken });
      assert.equal(named.status, 200);
      assert.equal(named.headers.get("content-disposition"), 'inline; filename="other.png"');
      // authed-content-repo.yaml: downloads need an access token.
      assertRawError(await raw(hs, "GET", `/_matrix/client/v1/media/download/${server}/${mediaId}`), 401, "M_MISSING_TOKEN");
    });

    it("serves unsafe types as attachments and untyped uploads as application/octet-stream", async () => {
      const html = await upload(hs, alice, "<script>alert(1)</script>", "text/html", "x.html");
      const down = await raw(hs, "GET", `/_matrix/client/v1/media/download/${html}`, { token: alice.accessToken });
      // client-server-api#serving-inline-content: anything not listed is an attachment.
      assert.equal(down.headers.get("content-disposition"), 'attachment; filename="x.html"');
      assert.equal(down.headers.get("content-type"), "text/html");
      // content-repo.yaml contentType: application/octet-stream when not set.
      const untyped = await upload(hs, alice, Buffer.from([1, 2, 3]));
      const bytes = await raw(hs, "GET", `/_matrix/client/v1/media/download/${untyped}`, { token: alice.accessToken });
      assert.equal(bytes.headers.get("content-type"), "application/octet-stream");
      assert.equal(bytes.headers.get("content-disposition"), "attachment");
      assert.deepEqual(bytes.bytes, Buffer.from([1, 2, 3]));
      // Non-ASCII file names go as filename* (RFC 8187).
      const utf = await upload(hs, alice, "hi", "text/plain", "résumé.txt");
      const named = await raw(hs, "GET", `/_matrix/client/v1/media/download/${utf}`, { token: alice.accessToken });
      assert.equal(named.headers.get("content-disposition"), "inline; filename*=utf-8''r%C3%A9sum%C3%A9.txt");
    });

    it("refuses uploads larger than max_upload_size with 413 M_TOO_LARGE", async () => {
      // content-repo.yaml upload 413 (content-repo-security-considerations): too large is M_TOO_LARGE.
      const big = Buffer.alloc(200 * 1024 + 1, 7);
      assertRawError(await raw(hs, "POST", "/_matrix/media/v3/upload", { token: alice.accessToken, body: big, contentType: "application/octet-stream" }), 413, "M_TOO_LARGE");
      // Past the listener's body limit too (max_request_size, 8M by default).
      const huge = Buffer.alloc(9 * 1024 * 1024, 7);
      assertRawError(await raw(hs, "POST", "/_matrix/media/v3/upload", { token: alice.accessToken, body: huge, contentType: "application/octet-stream" }), 413, "M_TOO_LARGE");
      // content-repo.yaml upload: an access token is required.
      assertRawError(await raw(hs, "POST", "/_matrix/media/v3/upload", { body: "x", contentType: "text/plain" }), 401, "M_MISSING_TOKEN");
    });

    it("answers 404 M_NOT_FOUND for unknown, malformed and remote media", async () => {
      const token = alice.accessToken;
      assertRawError(await raw(hs, "GET", "/_matrix/client/v1/media/download/test.local/nosuchmediaid", { token }), 404, "M_NOT_FOUND");
      // content-repo-security-considerations: media IDs outside A-Za-z0-9_- are refused, never looked up.
      assertRawError(await raw(hs, "GET", "/_matrix/client/v1/media/download/test.local/..%2F..%2Fetc", { token }), 404, "M_NOT_FOUND");
      assertRawError(await raw(hs, "GET", "/_matrix/client/v1/media/download/bad_server!/abcdef", { token }), 404, "M_NOT_FOUND");
      // Another server's media are fetched over federation; a server that cannot be reached gives 502
      // (remote-media.test.ts covers the rest).
      assert.equal((await raw(hs, "GET", "/_matrix/client/v1/media/download/elsewhere.example/abcdef", { token })).status, 502);
      assert.equal((await raw(hs, "GET", "/_matrix/client/v1/media/thumbnail/elsewhere.example/abcdef?width=32&height=32", { token })).status, 502);
      // content-repo.yaml allow_remote=false: remote media are not fetched.
      assertRawError(await raw(hs, "GET", "/_matrix/media/v3/download/elsewhere.example/abcdef?allow_remote=false"), 404, "M_NOT_FOUND");
    });

    it("leaves what is not built unrecognized", async () => {
      // URL previews are not built: 404 M_UNRECOGNIZED, as every unknown endpoint.
      assertRawError(await raw(hs, "GET", "/_matrix/client/v1/media/preview_url?url=https://example.org", { token: alice.accessToken }), 404, "M_UNRECOGNIZED");
      assertRawError(await raw(hs, "GET", "/_matrix/media/v3/preview_url?url=https://example.org", { token: alice.accessToken }), 404, "M_UNRECOGNIZED");
    });

    it("freezes new media out of the deprecated unauthenticated endpoints", async () => {
      const id = await upload(hs, alice, await image(10, 10, "png"), "image/png");
      // client-server-api#content-repo-client-behaviour: media uploaded during the freeze are served
      // by the authenticated endpoints only; the deprecated ones MAY answer 404 M_NOT_FOUND.
      assertRawError(await raw(hs, "GET", `/_matrix/media/v3/download/${id}`), 404, "M_NOT_FOUND");
      assertRawError(await raw(hs, "GET", `/_matrix/media/v3/thumbnail/${id}?width=32&height=32`), 404, "M_NOT_FOUND");
      assert.equal((await raw(hs, "GET", `/_matrix/client/v1/media/download/${id}`, { token: alice.accessToken })).status, 200);
    });

    it("creates a media ID, waits for its upload, and keeps it for its creator", async () => {
      const created = await call(hs, "POST", "/_matrix/media/v1/create", { token: alice.accessToken, body: {} });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const uri = created.body["content_uri"] as string;
      assert.match(uri, /^mxc:\/\/test\.local\/[A-Za-z0-9_-]+$/);
      // content-repo.yaml create: unused_expires_at, 24 hours by default.
      const expires = created.body["unused_expires_at"] as number;
      assert.ok(Math.abs(expires - (Date.now() + 24 * 3600 * 1000)) < 60_000, String(expires));
      const id = uri.slice("mxc://".length);
      // authed-content-repo.yaml 504: not yet uploaded when the timeout passes.
      assertRawError(await raw(hs, "GET", `/_matrix/client/v1/media/download/${id}?timeout_ms=0`, { token: bob.accessToken }), 504, "M_NOT_YET_UPLOADED");
      assertRawError(await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${id}?width=32&height=32&timeout_ms=100`, { token: bob.accessToken }), 504, "M_NOT_YET_UPLOADED");
      // content-repo.yaml PUT upload 403: another user than the one that called /create.
      assertRawError(await raw(hs, "PUT", `/_matrix/media/v3/upload/${id}`, { token: bob.accessToken, body: "x", contentType: "text/plain" }), 403, "M_FORBIDDEN");
      // A download waiting (timeout_ms) gets the content as soon as it is uploaded.
      const waiting = raw(hs, "GET", `/_matrix/client/v1/media/download/${id}?timeout_ms=10000`, { token: bob.accessToken });
      await new Promise((r) => setTimeout(r, 200));
      const put = await raw(hs, "PUT", `/_matrix/media/v3/upload/${id}?filename=late.txt`, { token: alice.accessToken, body: "late bytes", contentType: "text/plain" });
      assert.equal(put.status, 200, put.bytes.toString("utf8"));
      assert.deepEqual(put.json, {});
      const down = await waiting;
      assert.equal(down.status, 200);
      assert.equal(down.bytes.toString("utf8"), "late bytes");
      assert.equal(down.headers.get("content-disposition"), 'inline; filename="late.txt"');
      // content-repo.yaml PUT upload 409: the media ID already has content.
      assertRawError(await raw(hs, "PUT", `/_matrix/media/v3/upload/${id}`, { token: alice.accessToken, body: "again", contentType: "text/plain" }), 409, "M_CANNOT_OVERWRITE_MEDIA");
      // content-repo.yaml PUT upload 404: an MXC ID not created with /create.
      assertRawError(await raw(hs, "PUT", "/_matrix/media/v3/upload/test.local/neverCreated1", { token: alice.accessToken, body: "x" }), 404, "M_NOT_FOUND");
      assertRawError(await raw(hs, "PUT", `/_matrix/media/v3/upload/elsewhere.example/${id.split("/")[1]!}`, { token: alice.accessToken, body: "x" }), 404, "M_NOT_FOUND");
    });

    it("refuses a PUT larger than max_upload_size, and limits pending uploads with 429", async () => {
      const created = await call(hs, "POST", "/_matrix/media/v1/create", { token: bob.accessToken });
      const id = (created.body["content_uri"] as string).slice("mxc://".length);
      assertRawError(await raw(hs, "PUT", `/_matrix/media/v3/upload/${id}`, { token: bob.accessToken, body: Buffer.alloc(200 * 1024 + 1) }), 413, "M_TOO_LARGE");
      // content-repo.yaml create: too many pending media uploads is 429 M_LIMIT_EXCEEDED (bob has 1, the limit is 5).
      for (let i = 0; i < 4; i++) assert.equal((await call(hs, "POST", "/_matrix/media/v1/create", { token: bob.accessToken })).status, 200);
      assertError(await call(hs, "POST", "/_matrix/media/v1/create", { token: bob.accessToken }), 429, "M_LIMIT_EXCEEDED");
      // Uploading one frees a place.
      assert.equal((await raw(hs, "PUT", `/_matrix/media/v3/upload/${id}`, { token: bob.accessToken, body: "ok" })).status, 200);
      assert.equal((await call(hs, "POST", "/_matrix/media/v1/create", { token: bob.accessToken })).status, 200);
    });

    it("makes crop and scale thumbnails, never upscaled", async () => {
      const id = await upload(hs, alice, await image(1000, 500, "png"), "image/png");
      const token = bob.accessToken;
      const crop = await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${id}?width=30&height=30&method=crop`, { token });
      assert.equal(crop.status, 200, crop.bytes.toString("utf8"));
      assert.equal(crop.headers.get("content-type"), "image/png");
      // authed-content-repo.yaml thumbnail Content-Disposition: MUST be inline, with a file name.
      assert.equal(crop.headers.get("content-disposition"), 'inline; filename="thumbnail.png"');
      assert.equal(crop.headers.get("cross-origin-resource-policy"), "cross-origin");
      // client-server-api#thumbnails: the standard 32x32 crop, no smaller than asked.
      assert.deepEqual(await dims(crop.bytes), { width: 32, height: 32 });
      // Kept and served again identically.
      const again = await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${id}?width=30&height=30&method=crop`, { token });
      assert.deepEqual(again.bytes, crop.bytes);
      // scale keeps the aspect ratio within the standard 320x240.
      const scale = await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${id}?width=300&height=100&method=scale`, { token });
      assert.deepEqual(await dims(scale.bytes), { width: 320, height: 160 });
      // method defaults to scale.
      assert.deepEqual(await dims((await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${id}?width=600&height=100`, { token })).bytes), { width: 640, height: 320 });
      // Larger than the standard sizes: made as asked.
      assert.deepEqual(await dims((await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${id}?width=900&height=900`, { token })).bytes), { width: 900, height: 450 });
      // Asked larger than the image: the original, never upscaled.
      const big = await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${id}?width=2000&height=2000&method=crop`, { token });
      assert.deepEqual(await dims(big.bytes), { width: 1000, height: 500 });
      // A crop that would need upscaling is cut within the image.
      const tall = await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${id}?width=800&height=800&method=crop`, { token });
      assert.deepEqual(await dims(tall.bytes), { width: 800, height: 500 });
    });

    it("keeps JPEG as JPEG and animates only when asked", async () => {
      const token = alice.accessToken;
      const jpeg = await upload(hs, alice, await image(400, 400, "jpeg"), "image/jpeg");
      const jt = await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${jpeg}?width=96&height=96&method=crop`, { token });
      assert.equal(jt.headers.get("content-type"), "image/jpeg");
      assert.deepEqual(await dims(jt.bytes), { width: 96, height: 96 });
      const gif = await upload(hs, alice, await animatedGif(200, 150), "image/gif");
      // authed-content-repo.yaml animated: not provided or false, no animated thumbnail.
      const still = await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${gif}?width=96&height=96&method=crop`, { token });
      assert.equal(still.headers.get("content-type"), "image/png");
      assert.equal((await sharp(still.bytes).metadata()).pages ?? 1, 1);
      // animated=true: an animated thumbnail, WebP preferred.
      const moving = await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${gif}?width=96&height=96&method=crop&animated=true`, { token });
      assert.equal(moving.status, 200, moving.bytes.toString("utf8"));
      assert.equal(moving.headers.get("content-type"), "image/webp");
      assert.equal((await sharp(moving.bytes).metadata()).pages, 2);
      // animated=true on a still image behaves as false.
      const stillJpeg = await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${jpeg}?width=96&height=96&method=crop&animated=true`, { token });
      assert.equal(stillJpeg.headers.get("content-type"), "image/jpeg");
      // A small animated GIF asked larger is answered as itself only when animation is wanted.
      const small = await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${gif}?width=800&height=600&animated=true`, { token });
      assert.equal(small.headers.get("content-type"), "image/gif");
      const smallStill = await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${gif}?width=800&height=600`, { token });
      assert.equal(smallStill.headers.get("content-type"), "image/png");
    });

    it("answers 400 for thumbnail parameters that make no sense, and for content it cannot thumbnail", async () => {
      const id = await upload(hs, alice, await image(100, 100, "png"), "image/png");
      const token = alice.accessToken;
      const path = `/_matrix/client/v1/media/thumbnail/${id}`;
      // authed-content-repo.yaml thumbnail 400: missing, non-integer or negative dimensions, unknown methods.
      assertRawError(await raw(hs, "GET", `${path}?height=32`, { token }), 400, "M_MISSING_PARAM");
      assertRawError(await raw(hs, "GET", `${path}?width=32`, { token }), 400, "M_MISSING_PARAM");
      assertRawError(await raw(hs, "GET", `${path}?width=-1&height=32`, { token }), 400, "M_INVALID_PARAM");
      assertRawError(await raw(hs, "GET", `${path}?width=0&height=32`, { token }), 400, "M_INVALID_PARAM");
      assertRawError(await raw(hs, "GET", `${path}?width=3.5&height=32`, { token }), 400, "M_INVALID_PARAM");
      assertRawError(await raw(hs, "GET", `${path}?width=32&height=32&method=stretch`, { token }), 400, "M_INVALID_PARAM");
      assertRawError(await raw(hs, "GET", `${path}?width=32&height=32&animated=maybe`, { token }), 400, "M_INVALID_PARAM");
      // authed-content-repo.yaml thumbnail: an access token is required.
      assertRawError(await raw(hs, "GET", `${path}?width=32&height=32`), 401, "M_MISSING_TOKEN");
      // Not an image, or an image that does not decode: the server cannot thumbnail it (400).
      const text = await upload(hs, alice, "hello", "text/plain");
      assertRawError(await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${text}?width=32&height=32`, { token }), 400, "M_UNKNOWN");
      const broken = await upload(hs, alice, "not really a png", "image/png");
      assertRawError(await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${broken}?width=32&height=32`, { token }), 400, "M_UNKNOWN");
      assertRawError(await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/test.local/nosuchmedia?width=32&height=32`, { token }), 404, "M_NOT_FOUND");
    });
  });

  describe(`media repository, enable_authenticated_media: false [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: `${MEDIA_YAML}\nenable_authenticated_media: false\nallow_guest_access: true` });
    });
    after(() => hs.stop());

    it("serves media uploaded before a freeze on the deprecated endpoints too", async () => {
      const alice = await registerUser(hs, "alice");
      const png = await image(100, 80, "png");
      const id = await upload(hs, alice, png, "image/png", "a.png");
      // client-server-api#content-repo-client-behaviour: media not frozen stay on the deprecated endpoints.
      const down = await raw(hs, "GET", `/_matrix/media/v3/download/${id}`);
      assert.equal(down.status, 200);
      assert.deepEqual(down.bytes, png);
      assert.equal(down.headers.get("content-disposition"), 'inline; filename="a.png"');
      assert.equal(down.headers.get("cross-origin-resource-policy"), "cross-origin");
      const thumb = await raw(hs, "GET", `/_matrix/media/v3/thumbnail/${id}?width=32&height=32&method=crop`);
      assert.equal(thumb.status, 200);
      assert.deepEqual(await dims(thumb.bytes), { width: 32, height: 32 });
      assert.equal((await raw(hs, "GET", `/_matrix/client/v1/media/download/${id}`, { token: alice.accessToken })).status, 200);
    });

    it("lets guests download and thumbnail, not upload", async () => {
      const alice = await registerUser(hs, "alice2");
      const id = await upload(hs, alice, await image(50, 50, "png"), "image/png");
      const guest = await registerGuest(hs);
      // modules/guest_access.md (v1.12): guests may use the authenticated download and thumbnail endpoints.
      assert.equal((await raw(hs, "GET", `/_matrix/client/v1/media/download/${id}`, { token: guest.accessToken })).status, 200);
      assert.equal((await raw(hs, "GET", `/_matrix/client/v1/media/thumbnail/${id}?width=32&height=32`, { token: guest.accessToken })).status, 200);
      // Uploads are not among the endpoints guests may use.
      assertRawError(await raw(hs, "POST", "/_matrix/media/v3/upload", { token: guest.accessToken, body: "x" }), 403, "M_GUEST_ACCESS_FORBIDDEN");
      assertError(await call(hs, "POST", "/_matrix/media/v1/create", { token: guest.accessToken }), 403, "M_GUEST_ACCESS_FORBIDDEN");
    });
  });
}

describe("rc_media_create", () => {
  it("limits each user's POST /media/v1/create with 429 M_LIMIT_EXCEEDED and retry_after_ms, as Synapse's key does", async () => {
    const hs = await startTestHomeserver("sqlite", { yaml: `${MEDIA_YAML}\nrc_media_create: {per_second: 0.01, burst_count: 2}` });
    try {
      const [alice, bob] = [await registerUser(hs, "alice"), await registerUser(hs, "bob")];
      for (let i = 0; i < 2; i++) assert.equal((await call(hs, "POST", "/_matrix/media/v1/create", { token: alice.accessToken })).status, 200);
      const refused = await call(hs, "POST", "/_matrix/media/v1/create", { token: alice.accessToken });
      assertError(refused, 429, "M_LIMIT_EXCEEDED");
      assert.equal(typeof refused.body["retry_after_ms"], "number");
      // Per user: bob has his own burst.
      assert.equal((await call(hs, "POST", "/_matrix/media/v1/create", { token: bob.accessToken })).status, 200);
    } finally {
      await hs.stop();
    }
  });
});

async function dims(bytes: Buffer): Promise<{ width: number; height: number }> {
  const meta = await sharp(bytes).metadata();
  return { width: meta.width, height: meta.pageHeight ?? meta.height };
}
