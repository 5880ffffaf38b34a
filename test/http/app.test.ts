import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { MatrixError } from "../../src/core/errors.ts";
import { startListeners, type RunningListeners } from "../../src/http/listeners.ts";
import { clientPaths, HttpReply, type AnyEndpoint, type Requester } from "../../src/http/endpoint.ts";
import { RateLimiter } from "../../src/http/rate-limit.ts";

const endpoints: AnyEndpoint[] = [
  {
    name: "test.echo",
    method: "POST",
    paths: clientPaths("/echo"),
    resource: "client",
    auth: "none",
    schema: {
      type: "object",
      properties: { text: { type: "string" }, count: { type: "integer" } },
      required: ["text"],
    },
    handler: async (req) => ({ echoed: req.body as never }),
  },
  {
    name: "test.whoami",
    method: "GET",
    paths: clientPaths("/whoami", { r0: false }),
    resource: "client",
    auth: "accessToken",
    handler: async (req) => ({ user_id: req.requester?.userId ?? null }),
  },
  {
    name: "test.limited",
    method: "GET",
    paths: clientPaths("/limited"),
    resource: "client",
    auth: "none",
    rateLimit: "rc_test",
    handler: async () => ({}),
  },
  {
    name: "test.boom",
    method: "GET",
    paths: clientPaths("/boom"),
    resource: "client",
    auth: "none",
    handler: async () => {
      throw new Error("unexpected");
    },
  },
  {
    name: "test.state",
    method: "GET",
    paths: clientPaths("/state/:eventType/:stateKey"),
    resource: "client",
    auth: "none",
    handler: async (req) => ({ eventType: req.params["eventType"] ?? null, stateKey: req.params["stateKey"] ?? null }),
  },
  {
    name: "test.text",
    method: "GET",
    paths: ["/text"],
    resource: "health",
    auth: "none",
    handler: async () => HttpReply.raw(200, "OK", "text/plain"),
  },
  {
    name: "test.federation_only",
    method: "GET",
    paths: ["/_matrix/federation/v1/version"],
    resource: "federation",
    auth: "none",
    handler: async () => ({ server: { name: "weft" } }),
  },
];

async function authenticateAccessToken(token: string): Promise<Requester> {
  if (token !== "good-token") throw new MatrixError("M_UNKNOWN_TOKEN", "Unknown access token", 401, { soft_logout: false });
  return { userId: "@alice:test", deviceId: "DEV", isGuest: false, accessTokenId: 1 };
}

describe("HTTP layer over real HTTP", () => {
  let listeners: RunningListeners;
  let base: string;

  before(async () => {
    listeners = await startListeners(
      {
        endpoints,
        authenticateAccessToken,
        rateLimiters: new Map([["rc_test", new RateLimiter({ perSecond: 0.001, burstCount: 2 })]]),
        logger: pino({ level: "silent" }),
        maxRequestSize: 1024,
        maxUploadSize: 1024,
      },
      [{ port: 0, bindAddresses: ["127.0.0.1"], resources: new Set(["client", "health"]), xForwarded: false }],
    );
    base = `http://127.0.0.1:${listeners.addresses[0]?.port}`;
  });
  after(async () => listeners.close());

  async function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
    const res = await fetch(base + path, { method, body, headers });
    const text = await res.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  }

  it("answers a valid JSON body, on v3 and r0", async () => {
    for (const prefix of ["v3", "r0"]) {
      const r = await call("POST", `/_matrix/client/${prefix}/echo`, JSON.stringify({ text: "hi" }));
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { echoed: { text: "hi" } });
      assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
      assert.equal(r.headers.get("access-control-allow-origin"), "*");
    }
  });

  it("refuses a body that is not JSON with 400 M_NOT_JSON", async () => {
    const r = await call("POST", "/_matrix/client/v3/echo", "{not json", { "content-type": "application/json" });
    assert.equal(r.status, 400);
    assert.equal(r.json?.["errcode"], "M_NOT_JSON");
    assert.equal(typeof r.json?.["error"], "string");
  });

  it("refuses JSON that is not an object, or of the wrong shape, with 400 M_BAD_JSON", async () => {
    for (const body of ["[1,2]", '"text"', JSON.stringify({ text: 5 }), JSON.stringify({ text: "a", count: 1.5 })]) {
      const r = await call("POST", "/_matrix/client/v3/echo", body);
      assert.equal(r.status, 400, body);
      assert.equal(r.json?.["errcode"], "M_BAD_JSON", body);
    }
  });

  it("names a missing required parameter with 400 M_MISSING_PARAM", async () => {
    const r = await call("POST", "/_matrix/client/v3/echo", JSON.stringify({}));
    assert.equal(r.status, 400);
    assert.equal(r.json?.["errcode"], "M_MISSING_PARAM");
    assert.match(String(r.json?.["error"]), /text/);
  });

  it("refuses an oversized body with 413 M_TOO_LARGE", async () => {
    const r = await call("POST", "/_matrix/client/v3/echo", JSON.stringify({ text: "x".repeat(5000) }));
    assert.equal(r.status, 413);
    assert.equal(r.json?.["errcode"], "M_TOO_LARGE");
  });

  it("answers unknown paths with 404 M_UNRECOGNIZED and known paths with another method with 405", async () => {
    const unknown = await call("GET", "/_matrix/client/v3/nothing-here");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json?.["errcode"], "M_UNRECOGNIZED");
    const wrongMethod = await call("DELETE", "/_matrix/client/v3/echo");
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.json?.["errcode"], "M_UNRECOGNIZED");
  });

  it("answers OPTIONS with the CORS headers and runs no endpoint logic", async () => {
    for (const path of ["/_matrix/client/v3/boom", "/_matrix/client/v3/unknown"]) {
      const r = await call("OPTIONS", path);
      assert.equal(r.status, 204);
      assert.equal(r.headers.get("access-control-allow-origin"), "*");
      assert.equal(r.headers.get("access-control-allow-methods"), "GET, POST, PUT, DELETE, OPTIONS");
      assert.equal(r.headers.get("access-control-allow-headers"), "X-Requested-With, Content-Type, Authorization");
    }
  });

  it("requires an access token by header or query, and refuses unknown ones", async () => {
    const missing = await call("GET", "/_matrix/client/v3/whoami");
    assert.equal(missing.status, 401);
    assert.equal(missing.json?.["errcode"], "M_MISSING_TOKEN");
    const unknown = await call("GET", "/_matrix/client/v3/whoami", undefined, { authorization: "Bearer nope" });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.json?.["errcode"], "M_UNKNOWN_TOKEN");
    assert.equal(unknown.json?.["soft_logout"], false);
    const header = await call("GET", "/_matrix/client/v3/whoami", undefined, { authorization: "Bearer good-token" });
    assert.deepEqual(header.json, { user_id: "@alice:test" });
    const query = await call("GET", "/_matrix/client/v3/whoami?access_token=good-token");
    assert.deepEqual(query.json, { user_id: "@alice:test" });
    const r0 = await call("GET", "/_matrix/client/r0/whoami", undefined, { authorization: "Bearer good-token" });
    assert.equal(r0.status, 404, "an endpoint declared without r0 is not served there");
  });

  it("rate limits with 429 M_LIMIT_EXCEEDED, retry_after_ms and Retry-After", async () => {
    assert.equal((await call("GET", "/_matrix/client/v3/limited")).status, 200);
    assert.equal((await call("GET", "/_matrix/client/v3/limited")).status, 200);
    const r = await call("GET", "/_matrix/client/v3/limited");
    assert.equal(r.status, 429);
    assert.equal(r.json?.["errcode"], "M_LIMIT_EXCEEDED");
    assert.ok(typeof r.json?.["retry_after_ms"] === "number" && r.json["retry_after_ms"] > 0);
    assert.ok(Number(r.headers.get("retry-after")) > 0);
  });

  it("answers an unexpected exception with 500 M_UNKNOWN and keeps serving", async () => {
    const r = await call("GET", "/_matrix/client/v3/boom");
    assert.equal(r.status, 500);
    assert.equal(r.json?.["errcode"], "M_UNKNOWN");
    assert.equal((await call("POST", "/_matrix/client/v3/echo", JSON.stringify({ text: "still" }))).status, 200);
  });

  it("decodes path parameters, and takes a trailing slash as an empty state key's route", async () => {
    const r = await call("GET", "/_matrix/client/v3/state/m.room.name/%40alice%3Atest");
    assert.deepEqual(r.json, { eventType: "m.room.name", stateKey: "@alice:test" });
  });

  it("serves only the resources of its listener", async () => {
    assert.equal((await call("GET", "/text")).text, "OK");
    assert.equal((await call("GET", "/_matrix/federation/v1/version")).status, 404);
  });
});

describe("RateLimiter", () => {
  it("refills at per_second up to burst_count", () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 1, burstCount: 3 }, { now: () => now });
    assert.ok(limiter.take("k").allowed && limiter.take("k").allowed && limiter.take("k").allowed);
    const refused = limiter.take("k");
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterMs, 1000);
    now = 1000;
    assert.ok(limiter.take("k").allowed);
    assert.equal(limiter.take("other").allowed, true, "keys are independent");
  });

  it("stays bounded in memory", () => {
    const limiter = new RateLimiter({ perSecond: 0, burstCount: 1 }, { maxKeys: 10 });
    for (let i = 0; i < 100; i++) limiter.take(`k${i}`);
    assert.ok((limiter as unknown as { buckets: Map<string, unknown> }).buckets.size <= 10);
  });
});
