// GET /_matrix/client/v1/media/preview_url and the deprecated /_matrix/media/v3/preview_url over
// real HTTP, on both engines, previewing pages served by a local HTTP server (127.0.0.1 is in the
// blocklist, and let through by the whitelist; 127.0.0.2 and ::1 stay blocked).
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { ACCOUNTS_YAML, assertError, call, registerGuest, registerUser, type Reply, type TestUser } from "../../api/client/helpers.ts";

const PREVIEW_YAML = [
  ACCOUNTS_YAML,
  "allow_guest_access: true",
  "url_preview_enabled: true",
  "url_preview_ip_range_blacklist: ['127.0.0.0/8', '::1/128']",
  "url_preview_ip_range_whitelist: ['127.0.0.1']",
  "url_preview_url_blacklist: [{path: '^/forbidden'}]",
  "max_spider_size: 64K",
  "url_preview_accept_language: ['fr', 'en;q=0.5']",
].join("\n");

/** A site to preview: a few pages and an image, and how often each path was asked for. */
class TestSite {
  readonly hits = new Map<string, number>();
  readonly headers = new Map<string, IncomingMessage["headers"]>();
  #server: Server | undefined;
  port = 0;
  png = Buffer.alloc(0);

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.png = await sharp({ create: { width: 64, height: 32, channels: 3, background: "teal" } }).png().toBuffer();
    this.#server = createServer((req, res) => void this.#serve(req, res));
    await new Promise<void>((resolve) => this.#server?.listen(0, "127.0.0.1", resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] as string;
    this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
    this.headers.set(path, req.headers);
    const html = (body: string | Buffer, type = "text/html; charset=utf-8"): void => {
      res.writeHead(200, { "content-type": type });
      res.end(body);
    };
    switch (path) {
      case "/page.html":
        return html(`<html><head>
          <meta property="og:title" content="A page">
          <meta property="og:description" content="What it says">
          <meta property="og:image" content="images/logo.png">
          <meta property="og:type" content="website">
          <title>Ignored</title></head><body>hello</body></html>`);
      case "/plain.html":
        return html(`<html><head><title>Plain title</title><meta name="description" content="Plain description"></head>
          <body><img src="/tiny.png" width="2" height="2"><img src="/images/logo.png" width="64" height="32"></body></html>`);
      case "/images/logo.png":
        res.writeHead(200, { "content-type": "image/png", "content-disposition": 'inline; filename="logo.png"' });
        return void res.end(this.png);
      case "/broken-image.html":
        return html(`<meta property="og:title" content="Broken image"><meta property="og:image" content="/missing.png">`);
      case "/blocked-image.html":
        return html(`<meta property="og:title" content="Blocked image"><meta property="og:image" content="http://127.0.0.2:${this.port}/images/logo.png">`);
      case "/data-image.html":
        return html(`<meta property="og:image" content="data:image/png;base64,${this.png.toString("base64")}">`);
      case "/latin1.html":
        return html(Buffer.from([...Buffer.from("<title>Caf"), 0xe9, ...Buffer.from("</title>")]), "text/html; charset=iso-8859-1");
      case "/language.html":
        return html(`<title>${req.headers["accept-language"] ?? "none"}</title>`);
      case "/redirect":
        res.writeHead(302, { location: "/page.html" });
        return void res.end();
      case "/loop":
        res.writeHead(301, { location: "/loop" });
        return void res.end();
      case "/to-blocked":
        res.writeHead(302, { location: `http://127.0.0.2:${this.port}/page.html` });
        return void res.end();
      case "/to-forbidden":
        res.writeHead(307, { location: "/forbidden/page.html" });
        return void res.end();
      case "/to-ftp":
        res.writeHead(302, { location: "ftp://127.0.0.1/file" });
        return void res.end();
      case "/forbidden/page.html":
        return html("<title>should never be read</title>");
      case "/document.pdf":
        res.writeHead(200, { "content-type": "application/pdf" });
        return void res.end("%PDF-1.4");
      case "/huge.html":
        return html(`<title>huge</title>${"x".repeat(100 * 1024)}`);
      case "/untyped":
        res.writeHead(200);
        return void res.end("<title>no type</title>");
      case "/slow.html":
        await new Promise((resolve) => setTimeout(resolve, 200));
        return html(`<title>Slow</title>`);
      case "/counted.html":
        return html(`<title>Counted</title>`);
      case "/server-error":
        res.writeHead(500, { "content-type": "text/html" });
        return void res.end("<title>oops</title>");
      default:
        res.writeHead(404, { "content-type": "text/html" });
        return void res.end("<title>Not found</title>");
    }
  }
}

const previewPath = (url: string, prefix = "/_matrix/client/v1/media"): string => `${prefix}/preview_url?url=${encodeURIComponent(url)}`;

for (const engine of engines) {
  describe(`url previews [${engine}]`, () => {
    const site = new TestSite();
    let hs: TestHomeserver;
    let alice: TestUser;
    const preview = (url: string, prefix?: string): Promise<Reply> => call(hs, "GET", previewPath(url, prefix), { token: alice.accessToken });
    const assertBadGateway = async (url: string, message?: RegExp, errcode = "M_UNKNOWN"): Promise<void> => {
      const reply = await preview(url);
      assertError(reply, 502, errcode);
      if (message !== undefined) assert.match(reply.body["error"] as string, message);
    };

    before(async () => {
      await site.start();
      hs = await startTestHomeserver(engine, { yaml: PREVIEW_YAML });
      alice = await registerUser(hs, "alice");
    });
    after(async () => {
      await hs.stop();
      await site.stop();
    });

    it("answers a page's OpenGraph data, its image stored as our media", async () => {
      const reply = await preview(`${site.origin}/page.html`);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const image = reply.body["og:image"] as string;
      assert.match(image, /^mxc:\/\/test\.local\/[A-Za-z0-9_-]+$/);
      assert.deepEqual(reply.body, {
        "og:title": "A page",
        "og:description": "What it says",
        "og:type": "website",
        "og:image": image,
        "og:image:type": "image/png",
        "og:image:width": 64,
        "og:image:height": 32,
        "matrix:image:size": site.png.length,
      });
      // The relative image URL was resolved against the page.
      assert.equal(site.hits.get("/images/logo.png"), 1);
      const download = await fetch(`${hs.baseUrl}/_matrix/client/v1/media/download/${image.slice("mxc://".length)}`, {
        headers: { authorization: `Bearer ${alice.accessToken}` },
      });
      assert.equal(download.status, 200);
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), site.png);
    });

    it("answers the same on the deprecated /_matrix/media/v3 path, from the cache", async () => {
      const v1 = await preview(`${site.origin}/page.html`);
      const v3 = await preview(`${site.origin}/page.html`, "/_matrix/media/v3");
      assert.equal(v3.status, 200);
      assert.deepEqual(v3.body, v1.body);
      assert.equal(site.hits.get("/page.html"), 1);
    });

    it("falls back to <title>, the meta description and the largest <img>", async () => {
      const reply = await preview(`${site.origin}/plain.html`);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(reply.body["og:title"], "Plain title");
      assert.equal(reply.body["og:description"], "Plain description");
      assert.match(reply.body["og:image"] as string, /^mxc:\/\/test\.local\//);
      assert.equal(reply.body["og:image:width"], 64);
      assert.equal(site.hits.get("/tiny.png"), undefined);
    });

    it("previews an image URL as the image", async () => {
      const reply = await preview(`${site.origin}/images/logo.png?direct`);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.match(reply.body["og:image"] as string, /^mxc:\/\/test\.local\//);
      assert.equal(reply.body["og:description"], "logo.png");
      assert.equal(reply.body["og:image:type"], "image/png");
      assert.equal(reply.body["og:image:height"], 32);
      assert.equal(reply.body["matrix:image:size"], site.png.length);
    });

    it("keeps the rest of the preview when the page's image cannot be fetched, and takes inline images", async () => {
      const broken = await preview(`${site.origin}/broken-image.html`);
      assert.deepEqual(broken.body, { "og:title": "Broken image" });
      // An image at a blocked address is never fetched: the preview goes without it.
      const blocked = await preview(`${site.origin}/blocked-image.html`);
      assert.deepEqual(blocked.body, { "og:title": "Blocked image" });
      const inline = await preview(`${site.origin}/data-image.html`);
      assert.equal(inline.body["og:image:width"], 64);
      assert.match(inline.body["og:image"] as string, /^mxc:\/\//);
    });

    it("follows redirects, resolves localhost to an allowed address, decodes the page's charset, sends Accept-Language", async () => {
      assert.equal((await preview(`${site.origin}/redirect`)).body["og:title"], "A page");
      assert.equal((await preview(`http://localhost:${site.port}/counted.html?localhost`)).body["og:title"], "Counted");
      assert.equal((await preview(`${site.origin}/latin1.html`)).body["og:title"], "Café");
      assert.equal((await preview(`${site.origin}/language.html`)).body["og:title"], "fr, en;q=0.5");
    });

    it("answers an empty object for a page it cannot read anything from", async () => {
      const reply = await preview(`${site.origin}/untyped`);
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, {});
    });

    it("takes ts, and fetches a URL once for concurrent and repeated requests", async () => {
      const url = `${site.origin}/slow.html`;
      const replies = await Promise.all(Array.from({ length: 5 }, () => call(hs, "GET", `${previewPath(url)}&ts=1510610716656`, { token: alice.accessToken })));
      for (const reply of replies) assert.deepEqual(reply.body, { "og:title": "Slow" });
      await preview(url);
      assert.equal(site.hits.get("/slow.html"), 1);
    });

    it("refuses a missing or bad url or ts with 400", async () => {
      assertError(await call(hs, "GET", "/_matrix/client/v1/media/preview_url", { token: alice.accessToken }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "GET", "/_matrix/media/v3/preview_url?url=", { token: alice.accessToken }), 400, "M_MISSING_PARAM");
      assertError(await preview("not a url"), 400, "M_INVALID_PARAM");
      assertError(await preview("ftp://127.0.0.1/file"), 400, "M_INVALID_PARAM");
      assertError(await preview("data:text/html,<title>x</title>"), 400, "M_INVALID_PARAM");
      const badTs = await call(hs, "GET", `${previewPath(`${site.origin}/page.html`)}&ts=yesterday`, { token: alice.accessToken });
      assertError(badTs, 400, "M_INVALID_PARAM");
      const negativeTs = await call(hs, "GET", `${previewPath(`${site.origin}/page.html`)}&ts=-5`, { token: alice.accessToken });
      assertError(negativeTs, 400, "M_INVALID_PARAM");
    });

    it("needs an access token, and not a guest's", async () => {
      assertError(await call(hs, "GET", previewPath(`${site.origin}/page.html`)), 401, "M_MISSING_TOKEN");
      const guest = await registerGuest(hs);
      assertError(await call(hs, "GET", previewPath(`${site.origin}/page.html`), { token: guest.accessToken }), 403, "M_GUEST_ACCESS_FORBIDDEN");
    });

    it("refuses URLs in url_preview_url_blacklist with 403, also after a redirect", async () => {
      assertError(await preview(`${site.origin}/forbidden/page.html`), 403, "M_UNKNOWN");
      assertError(await preview(`${site.origin}/to-forbidden`), 403, "M_UNKNOWN");
      assert.equal(site.hits.get("/forbidden/page.html"), undefined);
    });

    it("never connects to a blocked address, directly, after a redirect, or by name", async () => {
      await assertBadGateway(`http://127.0.0.2:${site.port}/page.html`, /DNS resolution failure/);
      await assertBadGateway(`${site.origin}/to-blocked`, /DNS resolution failure/);
      await assertBadGateway(`http://[::1]:${site.port}/page.html`, /DNS resolution failure/);
      await assertBadGateway(`http://[::ffff:127.0.0.2]:${site.port}/page.html`, /DNS resolution failure/);
      await assertBadGateway(`http://0.0.0.0:${site.port}/page.html`, /DNS resolution failure/);
    });

    it("answers 502 for pages that fail, are too large or are not previewable", async () => {
      await assertBadGateway(`${site.origin}/no-such-page`, /Got error 404/);
      await assertBadGateway(`${site.origin}/server-error`, /Got error 500/);
      await assertBadGateway(`${site.origin}/document.pdf`, /content type not allowed/);
      await assertBadGateway(`${site.origin}/huge.html`, /too large/, "M_TOO_LARGE");
      await assertBadGateway(`${site.origin}/loop`, /redirects/);
      await assertBadGateway(`${site.origin}/to-ftp`);
      await assertBadGateway("http://127.0.0.1:1/page.html", /Failed to download/);
      // Without DNS at all (a sandbox) the lookup fails otherwise: either way a 502.
      await assertBadGateway("http://no-such-host.invalid/", /DNS resolution failure|Failed to download/);
    });
  });
}

describe("url previews when not enabled", () => {
  let hs: TestHomeserver;
  let alice: TestUser;
  before(async () => {
    hs = await startTestHomeserver("sqlite", { yaml: ACCOUNTS_YAML });
    alice = await registerUser(hs, "alice");
  });
  after(() => hs.stop());

  it("are not served (404 M_UNRECOGNIZED), as in Synapse", async () => {
    assertError(await call(hs, "GET", previewPath("https://example.org/"), { token: alice.accessToken }), 404, "M_UNRECOGNIZED");
    assertError(await call(hs, "GET", previewPath("https://example.org/", "/_matrix/media/v3"), { token: alice.accessToken }), 404, "M_UNRECOGNIZED");
  });
});
