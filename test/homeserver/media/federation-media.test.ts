// Other servers asking for this server's media over federation (server-server-api#content-repository).
import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { signRequest } from "../../../src/homeserver/federation/request-auth.ts";
import { multipartFrame } from "../../../src/homeserver/api/media/federation-media.ts";
import { engines } from "../../storage/engines.ts";
import { createTestPki, type TestPki } from "../federation/pki.ts";
import { startTlsHomeserver, type TlsHomeserver } from "../federation/tls-homeserver.ts";

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

/** One part of a multipart body: its headers (lower-cased names) and bytes. */
interface Part {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Splits a multipart/mixed body at its boundary (RFC 2046), checking the framing. */
function parseMultipart(contentType: string, body: Buffer): Part[] {
  const match = /^multipart\/mixed; boundary=([A-Za-z0-9'()+_,./:=?-]{1,70})$/.exec(contentType);
  assert.ok(match?.[1] !== undefined, contentType);
  const delimiter = Buffer.from(`--${match[1]}`);
  const parts: Part[] = [];
  let at = body.indexOf(delimiter);
  assert.equal(at, 0);
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === "--") break; // the close delimiter
    assert.equal(body.subarray(at, at + 2).toString(), "\r\n");
    const headerEnd = body.indexOf("\r\n\r\n", at);
    const headers: Record<string, string> = {};
    for (const line of body.subarray(at + 2, headerEnd).toString("utf8").split("\r\n")) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headerEnd + 4);
    assert.ok(next > 0);
    parts.push({ headers, body: body.subarray(headerEnd + 4, next) });
    at = next + 2;
  }
  return parts;
}

describe("multipart frame", () => {
  it("puts the JSON part first and the media's headers on the second (content_repository.yaml)", () => {
    const { head, tail } = multipartFrame("b0undary", {}, { "Content-Type": "text/plain", "Content-Disposition": "inline" });
    const body = Buffer.concat([head, Buffer.from("hello\r\n--not the end"), tail]);
    const parts = parseMultipart("multipart/mixed; boundary=b0undary", body);
    assert.equal(parts.length, 2);
    assert.deepEqual(parts[0]?.headers, { "content-type": "application/json" });
    assert.equal(parts[0]?.body.toString(), "{}");
    assert.deepEqual(parts[1]?.headers, { "content-type": "text/plain", "content-disposition": "inline" });
    assert.equal(parts[1]?.body.toString(), "hello\r\n--not the end");
  });
});

for (const engine of engines) {
  describe(`media over federation [${engine}]`, () => {
    let pki: TestPki;
    let a: TlsHomeserver;
    let b: TlsHomeserver;
    let userOfB: string;

    /** A request from A to B, signed with A's key (server-server-api#request-authentication). */
    const fromA = (path: string, options: { signed?: boolean } = {}): Promise<Reply> =>
      new Promise((resolve, reject) => {
        const headers: Record<string, string> = {};
        if (options.signed !== false) {
          headers["authorization"] = signRequest({ method: "GET", uri: path, origin: a.serverName, destination: b.serverName }, a.server.services.serverKeys.signingKey);
        }
        const req = httpsRequest({ host: "127.0.0.1", port: b.port, servername: "localhost", method: "GET", path, headers, ca: pki.caCert }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, contentType: res.headers["content-type"] ?? "", body: Buffer.concat(chunks) }));
        });
        req.on("error", reject);
        req.end();
      });

    before(async () => {
      pki = await createTestPki();
      a = await startTlsHomeserver(engine, pki, { host: "localhost" });
      b = await startTlsHomeserver(engine, pki, { host: "127.0.0.1" });
      userOfB = (await b.server.services.users.register({ localpart: "bob", password: undefined, inhibitLogin: true })).userId;
    });
    after(async () => {
      await a?.stop();
      await b?.stop();
      await pki?.cleanup();
    });

    it("answers a download as multipart/mixed: an empty JSON object, then the bytes", async () => {
      const uri = await b.server.services.media.upload(userOfB, Buffer.from("hello over federation"), "text/plain", "hello.txt");
      const mediaId = uri.split("/").pop()!;
      const reply = await fromA(`/_matrix/federation/v1/media/download/${mediaId}`);
      assert.equal(reply.status, 200, reply.body.toString());
      // content_repository.yaml: exactly two parts, JSON metadata (an empty object) then the media.
      const parts = parseMultipart(reply.contentType, reply.body);
      assert.equal(parts.length, 2);
      assert.equal(parts[0]?.headers["content-type"], "application/json");
      assert.deepEqual(JSON.parse(parts[0]!.body.toString()), {});
      assert.equal(parts[1]?.headers["content-type"], "text/plain");
      assert.equal(parts[1]?.headers["content-disposition"], 'inline; filename="hello.txt"');
      assert.equal(parts[1]?.body.toString(), "hello over federation");
    });

    it("answers a thumbnail the same way", async () => {
      const png = await sharp({ create: { width: 300, height: 300, channels: 3, background: "green" } }).png().toBuffer();
      const uri = await b.server.services.media.upload(userOfB, png, "image/png", undefined);
      const mediaId = uri.split("/").pop()!;
      const reply = await fromA(`/_matrix/federation/v1/media/thumbnail/${mediaId}?width=32&height=32&method=crop`);
      assert.equal(reply.status, 200, reply.body.toString());
      const parts = parseMultipart(reply.contentType, reply.body);
      assert.equal(parts[1]?.headers["content-type"], "image/png");
      assert.equal(parts[1]?.headers["content-disposition"], 'inline; filename="thumbnail.png"');
      const meta = await sharp(parts[1]!.body).metadata();
      assert.deepEqual([meta.width, meta.height], [32, 32]);
      // content_repository.yaml thumbnail 400: parameters that make no sense.
      const bad = await fromA(`/_matrix/federation/v1/media/thumbnail/${mediaId}?width=0&height=32`);
      assert.equal(bad.status, 400);
    });

    it("answers 404 M_NOT_FOUND for unknown media, and 401 to an unsigned request", async () => {
      const missing = await fromA("/_matrix/federation/v1/media/download/nosuchmedia");
      assert.equal(missing.status, 404);
      assert.equal((JSON.parse(missing.body.toString()) as { errcode: string }).errcode, "M_NOT_FOUND");
      // server-server-api#request-authentication: the endpoints need a signed request.
      const unsigned = await fromA("/_matrix/federation/v1/media/download/nosuchmedia", { signed: false });
      assert.equal(unsigned.status, 401);
    });

    it("answers 504 M_NOT_YET_UPLOADED for media created and not uploaded", async () => {
      const created = await b.server.services.media.create(userOfB);
      const mediaId = created.content_uri.split("/").pop()!;
      const reply = await fromA(`/_matrix/federation/v1/media/download/${mediaId}?timeout_ms=0`);
      assert.equal(reply.status, 504);
      assert.equal((JSON.parse(reply.body.toString()) as { errcode: string }).errcode, "M_NOT_YET_UPLOADED");
    });
  });
}
