// Other servers' media fetched over federation (server-server-api#content-repository): the pure
// rules (multipart answers, cache paths), then two TLS homeservers on both engines, and a fake
// remote answering garbage.
import assert from "node:assert/strict";
import { request as httpsRequest, createServer as createHttpsServer, type Server } from "node:https";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { MatrixError } from "../../../src/core/errors.ts";
import { FederationRemoteMedia } from "../../../src/homeserver/media/remote-media.ts";
import { Thumbnailer } from "../../../src/homeserver/media/thumbnailer.ts";
import type { RemoteMediaRow, RemoteMediaStore } from "../../../src/storage/stores/remote-media.ts";
import sharp from "sharp";
import { multipartFrame } from "../../../src/homeserver/api/media/federation-media.ts";
import { dispositionFileName, parseMultipartMedia, remoteMediaPath } from "../../../src/homeserver/media/remote-media.ts";
import { engines } from "../../storage/engines.ts";
import { createTestPki, type TestPki } from "../federation/pki.ts";
import { freePort, startTlsHomeserver, type TlsHomeserver } from "../federation/tls-homeserver.ts";

function frame(boundary: string, headers: Record<string, string>, body: string | Buffer): Buffer {
  const { head, tail } = multipartFrame(boundary, {}, headers);
  return Buffer.concat([head, Buffer.isBuffer(body) ? body : Buffer.from(body), tail]);
}

describe("remote media rules", () => {
  it("reads the JSON part then the bytes of a multipart answer (content_repository.yaml)", () => {
    const body = frame("xyz", { "Content-Type": "text/plain", "Content-Disposition": 'inline; filename="a.txt"' }, "hi\r\n--xy");
    const part = parseMultipartMedia("multipart/mixed; boundary=xyz", body);
    assert.deepEqual(part, { kind: "bytes", contentType: "text/plain", disposition: 'inline; filename="a.txt"', body: Buffer.from("hi\r\n--xy") });
    // A quoted boundary and a preamble (RFC 2046) are accepted.
    const quoted = parseMultipartMedia('multipart/mixed; boundary="xyz"', Buffer.concat([Buffer.from("preamble\r\n"), body]));
    assert.equal(quoted.kind, "bytes");
  });

  it("reads a Location second part", () => {
    const body = Buffer.from("--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b\r\nLocation: https://cdn.example/x\r\n\r\n\r\n--b--\r\n");
    assert.deepEqual(parseMultipartMedia("multipart/mixed; boundary=b", body), { kind: "location", location: "https://cdn.example/x" });
  });

  it("refuses what is not exactly two parts, JSON first", () => {
    const bad = (contentType: string | undefined, body: string): void => assert.throws(() => parseMultipartMedia(contentType, Buffer.from(body)), { name: "MalformedMediaResponse" });
    bad("text/plain", "hello");
    bad("multipart/mixed", "--b\r\n\r\n{}\r\n--b--");
    bad("multipart/mixed; boundary=b", "garbage");
    bad("multipart/mixed; boundary=b", "--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b--\r\n");
    bad("multipart/mixed; boundary=b", "--b\r\nContent-Type: text/plain\r\n\r\n{}\r\n--b\r\n\r\nx\r\n--b--\r\n");
    bad("multipart/mixed; boundary=b", "--b\r\nContent-Type: application/json\r\n\r\n[1]\r\n--b\r\n\r\nx\r\n--b--\r\n");
    bad("multipart/mixed; boundary=b", "--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b\r\n\r\nx\r\n--b\r\n\r\ny\r\n--b--\r\n");
    bad("multipart/mixed; boundary=b", "--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b\r\n\r\nno end");
  });

  it("reads file names of Content-Disposition", () => {
    assert.equal(dispositionFileName('inline; filename="a b.png"'), "a b.png");
    assert.equal(dispositionFileName("attachment; filename*=utf-8''%C3%A9t%C3%A9.txt"), "été.txt");
    assert.equal(dispositionFileName("inline; filename=x.txt"), "x.txt");
    assert.equal(dispositionFileName("inline"), undefined);
    assert.equal(dispositionFileName(undefined), undefined);
  });

  it("keeps remote files under remote_content/<server>, never outside", () => {
    assert.equal(remoteMediaPath("/store", "example.org", "abcdefgh"), "/store/remote_content/example.org/ab/cd/efgh");
    assert.equal(remoteMediaPath("/store", "[::1]:8448", "abcdefgh"), "/store/remote_content/%5B%3A%3A1%5D%3A8448/ab/cd/efgh");
    assert.throws(() => remoteMediaPath("/store", "..", "abcdefgh"));
    assert.throws(() => remoteMediaPath("/store", "example.org", "../../x"));
    assert.throws(() => remoteMediaPath("/store", "example.org", "ab"));
    assert.equal(remoteMediaPath("/store", "../etc", "abcdefgh"), "/store/remote_content/..%2Fetc/ab/cd/efgh");
  });
});

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** What the fake remote serves, by media ID (server-server content_repository.yaml and worse). */
function fakeRemote(pki: TestPki, port: number, seen: string[]): Server {
  const cert = pki.issue(["localhost"], ["127.0.0.1"]);
  return createHttpsServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const url = req.url ?? "";
    seen.push(url);
    const json = (status: number, body: object): void => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const multipart = (headers: Record<string, string>, body: string | Buffer): void => {
      res.writeHead(200, { "content-type": "multipart/mixed; boundary=bnd" });
      res.end(frame("bnd", headers, body));
    };
    if (url.startsWith("/files/redirected")) {
      res.writeHead(200, { "content-type": "text/plain", "content-disposition": 'inline; filename="far.txt"' });
      res.end("from the Location");
      return;
    }
    if (url.startsWith("/_matrix/media/v3/download/")) {
      if (!url.includes("allow_remote=false")) return json(400, { errcode: "M_UNKNOWN", error: "allow_remote must be false" });
      res.writeHead(200, { "content-type": "text/plain", "content-disposition": 'inline; filename="old.txt"' });
      res.end("from an older server");
      return;
    }
    const id = /^\/_matrix\/federation\/v1\/media\/download\/([^?]+)/.exec(url)?.[1];
    if (id === "garbagemedia") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("not multipart at all");
    } else if (id === "brokenmultipart") {
      res.writeHead(200, { "content-type": "multipart/mixed; boundary=bnd" });
      res.end("--bnd\r\nContent-Type: application/json\r\n\r\n{}\r\n--bnd\r\nContent-Type: text/plain\r\n\r\ncut short");
    } else if (id === "toolargemedia") {
      multipart({ "Content-Type": "application/octet-stream" }, Buffer.alloc(150 * 1024, 1));
    } else if (id === "slightlylarge") {
      multipart({ "Content-Type": "application/octet-stream" }, Buffer.alloc(100 * 1024 + 1, 1));
    } else if (id === "redirectmedia") {
      res.writeHead(200, { "content-type": "multipart/mixed; boundary=bnd" });
      res.end(`--bnd\r\nContent-Type: application/json\r\n\r\n{}\r\n--bnd\r\nLocation: https://127.0.0.1:${port}/files/redirected\r\n\r\n\r\n--bnd--\r\n`);
    } else if (id === "oldservermedia") {
      json(404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
    } else if (id === "pendingmedia") {
      json(504, { errcode: "M_NOT_YET_UPLOADED", error: "not yet" });
    } else if (id === "hangmedia") {
      // never answers: the fetcher's timeout ends the wait
    } else if (id === "servererror") {
      json(500, { errcode: "M_UNKNOWN", error: "oops" });
    } else {
      json(404, { errcode: "M_NOT_FOUND", error: "Not found" });
    }
  });
}

for (const engine of engines) {
  describe(`remote media over federation [${engine}]`, () => {
    let pki: TestPki;
    let a: TlsHomeserver;
    let b: TlsHomeserver;
    let fake: Server;
    let fakeName: string;
    const fakeSeen: string[] = [];
    let tokenOfA: string;
    let userOfB: string;
    /** The paths A asked other servers for media (server-server requests made by A's fetcher). */
    const asked: string[] = [];

    /** A client request to A (client-server API), with the test CA. */
    const clientOfA = (path: string): Promise<Reply> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest(
          { host: "127.0.0.1", port: a.port, servername: "localhost", method: "GET", path, headers: { authorization: `Bearer ${tokenOfA}` }, ca: pki.caCert },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          },
        );
        req.on("error", reject);
        req.end();
      });
    const errcode = (reply: Reply): unknown => (JSON.parse(reply.body.toString()) as { errcode?: unknown }).errcode;

    before(async () => {
      pki = await createTestPki();
      a = await startTlsHomeserver(engine, pki, { host: "localhost", yaml: "max_upload_size: 100K" });
      b = await startTlsHomeserver(engine, pki, { host: "127.0.0.1" });
      userOfB = (await b.server.services.users.register({ localpart: "bob", password: undefined, inhibitLogin: true })).userId;
      tokenOfA = (await a.server.services.users.register({ localpart: "alice", password: undefined })).accessToken as string;
      const client = a.server.services.federation.client;
      const requestRaw = client.requestRaw.bind(client);
      client.requestRaw = (method, destination, path, body, options) => {
        asked.push(`${destination}${path}`);
        return requestRaw(method, destination, path, body, options);
      };
      const port = await freePort();
      fakeName = `127.0.0.1:${port}`;
      fake = fakeRemote(pki, port, fakeSeen);
      await new Promise<void>((resolve) => fake.listen(port, "127.0.0.1", resolve));
    });
    after(async () => {
      fake?.closeAllConnections();
      await new Promise((resolve) => fake?.close(resolve));
      await a?.stop();
      await b?.stop();
      await pki?.cleanup();
    });

    it("downloads media of B through A, then serves it from A's cache", async () => {
      const uri = await b.server.services.media.upload(userOfB, Buffer.from("hello from B"), "text/plain", "hello.txt");
      const mediaId = uri.split("/").pop()!;
      const path = `/_matrix/client/v1/media/download/${b.serverName}/${mediaId}`;
      const first = await clientOfA(path);
      assert.equal(first.status, 200, first.body.toString());
      assert.equal(first.body.toString(), "hello from B");
      assert.equal(first.headers["content-type"], "text/plain");
      assert.equal(first.headers["content-disposition"], 'inline; filename="hello.txt"');
      // server-server-api#content-repository: asked with the authenticated federation endpoint.
      assert.deepEqual(
        asked.filter((p) => p.includes(mediaId)),
        [`${b.serverName}/_matrix/federation/v1/media/download/${mediaId}`],
      );
      const second = await clientOfA(path);
      assert.equal(second.status, 200);
      assert.equal(second.body.toString(), "hello from B");
      assert.equal(asked.filter((p) => p.includes(mediaId)).length, 1, "B is not asked again");
    });

    it("shares one fetch between downloads at once", async () => {
      const uri = await b.server.services.media.upload(userOfB, Buffer.from("once only"), "text/plain", undefined);
      const mediaId = uri.split("/").pop()!;
      const path = `/_matrix/client/v1/media/download/${b.serverName}/${mediaId}`;
      const replies = await Promise.all([clientOfA(path), clientOfA(path), clientOfA(path)]);
      for (const r of replies) assert.equal(r.body.toString(), "once only");
      assert.equal(asked.filter((p) => p.includes(mediaId)).length, 1);
    });

    it("thumbnails media of B from the original kept on A", async () => {
      const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: "green" } }).png().toBuffer();
      const uri = await b.server.services.media.upload(userOfB, png, "image/png", undefined);
      const mediaId = uri.split("/").pop()!;
      const reply = await clientOfA(`/_matrix/client/v1/media/thumbnail/${b.serverName}/${mediaId}?width=32&height=32&method=crop`);
      assert.equal(reply.status, 200, reply.body.toString());
      assert.equal(reply.headers["content-type"], "image/png");
      const meta = await sharp(reply.body).metadata();
      assert.deepEqual([meta.width, meta.height], [32, 32]);
      const again = await clientOfA(`/_matrix/client/v1/media/thumbnail/${b.serverName}/${mediaId}?width=96&height=96&method=crop`);
      assert.equal(again.status, 200);
      assert.equal(asked.filter((p) => p.includes(mediaId)).length, 1);
    });

    it("answers 404 for media B does not have, and never asks with allow_remote=false", async () => {
      const missing = await clientOfA(`/_matrix/client/v1/media/download/${b.serverName}/nosuchmedia`);
      assert.equal(missing.status, 404);
      assert.equal(errcode(missing), "M_NOT_FOUND");
      // content-repo.yaml allow_remote=false: the deprecated endpoint does not fetch remote media.
      const uri = await b.server.services.media.upload(userOfB, Buffer.from("never fetched"), "text/plain", undefined);
      const mediaId = uri.split("/").pop()!;
      const local = await clientOfA(`/_matrix/media/v3/download/${b.serverName}/${mediaId}?allow_remote=false`);
      assert.equal(local.status, 404);
      assert.equal(asked.filter((p) => p.includes(mediaId)).length, 0);
    });

    it("gives 502 when the media's server is unreachable", async () => {
      const nobody = `127.0.0.1:${await freePort()}`;
      const reply = await clientOfA(`/_matrix/client/v1/media/download/${nobody}/somemedia`);
      assert.equal(reply.status, 502, reply.body.toString());
    });

    it("gives 502 for garbage and cut-short multipart, 502 M_TOO_LARGE past max_upload_size", async () => {
      for (const id of ["garbagemedia", "brokenmultipart", "servererror"]) {
        const reply = await clientOfA(`/_matrix/client/v1/media/download/${fakeName}/${id}`);
        assert.equal(reply.status, 502, `${id}: ${reply.body.toString()}`);
      }
      // content-repo-security-considerations: large remote files are not proxied, 502 M_TOO_LARGE.
      for (const id of ["toolargemedia", "slightlylarge"]) {
        const reply = await clientOfA(`/_matrix/client/v1/media/download/${fakeName}/${id}`);
        assert.equal(reply.status, 502, id);
        assert.equal(errcode(reply), "M_TOO_LARGE");
      }
      // Thumbnails of such media fail the same way, without a crash.
      const thumb = await clientOfA(`/_matrix/client/v1/media/thumbnail/${fakeName}/garbagemedia?width=32&height=32`);
      assert.equal(thumb.status, 502);
    });

    it("passes on 504 M_NOT_YET_UPLOADED and 404", async () => {
      const pending = await clientOfA(`/_matrix/client/v1/media/download/${fakeName}/pendingmedia?timeout_ms=0`);
      assert.equal(pending.status, 504);
      assert.equal(errcode(pending), "M_NOT_YET_UPLOADED");
      // authed-content-repo.yaml timeout_ms: the client's wait is passed on to the media's server.
      assert.ok(fakeSeen.includes("/_matrix/federation/v1/media/download/pendingmedia?timeout_ms=0"), fakeSeen.join());
      const missing = await clientOfA(`/_matrix/client/v1/media/download/${fakeName}/missingmedia`);
      assert.equal(missing.status, 404);
    });

    it("gives up on a remote that does not answer in time: 502", async () => {
      const dir = await mkdtemp(join(tmpdir(), "weft-remote-media-"));
      try {
        const rows = new Map<string, RemoteMediaRow>();
        const store = { get: (s: string, m: string) => Promise.resolve(rows.get(`${s}/${m}`)), put: (r: RemoteMediaRow) => Promise.resolve(void rows.set(`${r.serverName}/${r.mediaId}`, r)) };
        const remote = new FederationRemoteMedia({
          client: a.server.services.federation.client,
          store: store as unknown as RemoteMediaStore,
          storePath: dir,
          maxUploadSize: 1024,
          thumbnailer: new Thumbnailer(),
          log: pino({ level: "silent" }),
          transferTimeoutMs: 300,
        });
        const started = Date.now();
        await assert.rejects(remote.download(fakeName, "hangmedia", { timeoutMs: 0, allowRemote: true, authenticated: true }), (error: unknown) => {
          assert.ok(error instanceof MatrixError);
          assert.equal(error.status, 502);
          return true;
        });
        assert.ok(Date.now() - started < 5000);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("follows a Location part, and falls back to media/v3 with allow_remote=false on 404 M_UNRECOGNIZED", async () => {
      const redirected = await clientOfA(`/_matrix/client/v1/media/download/${fakeName}/redirectmedia`);
      assert.equal(redirected.status, 200, redirected.body.toString());
      assert.equal(redirected.body.toString(), "from the Location");
      assert.equal(redirected.headers["content-disposition"], 'inline; filename="far.txt"');
      const old = await clientOfA(`/_matrix/client/v1/media/download/${fakeName}/oldservermedia`);
      assert.equal(old.status, 200, old.body.toString());
      assert.equal(old.body.toString(), "from an older server");
      // server-server-api#content-repository: when falling back, allow_remote MUST be false.
      assert.ok(fakeSeen.some((u) => u.startsWith(`/_matrix/media/v3/download/${encodeURIComponent(fakeName)}/oldservermedia?allow_remote=false`)));
    });
  });
}
