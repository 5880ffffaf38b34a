/**
 * The identity service under test, over real HTTP, with what it talks to: a real Weft homeserver
 * over TLS (OpenID userinfo, its keys for X-Matrix unbinds), a stand-in homeserver (OpenID userinfo
 * for its own users and a recording /3pid/onbind), the stand-in mail server, and a stand-in of
 * Twilio's Messages API.
 *
 *   const stack = await startStack("sqlite");
 *   const alice = await stack.homeserverUser("alice");   // { userId, token } of the identity service
 *   const reply = await stack.call("GET", "/account", { token: alice.token });
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Agent, request } from "undici";
import { parseIdentityServiceConfig, type IdentityServiceConfig } from "../../src/identity/config.ts";
import { startIdentityService, type RunningIdentityService } from "../../src/identity/service.ts";
import type { Engine } from "../../src/storage/engine.ts";
import { startTlsHomeserver, type TlsHomeserver } from "../homeserver/federation/tls-homeserver.ts";
import { createTestPki, type TestPki } from "../homeserver/federation/pki.ts";
import { startSmtpStandIn, type SmtpStandIn } from "../mail/smtp-stand-in.ts";
import { createTestStorage, type TestStorage } from "../storage/engines.ts";

export type Json = Record<string, unknown>;

export const IS_NAME = "id.test";

export const POLICIES = {
  terms_of_service: { version: "2.0", en: { name: "Terms of Service", url: "https://id.test/terms-2.0-en.html" }, fr: { name: "Conditions", url: "https://id.test/terms-2.0-fr.html" } },
  privacy_policy: { version: "1.2", en: { name: "Privacy Policy", url: "https://id.test/privacy-1.2-en.html" } },
};
export const ALL_POLICY_URLS = [POLICIES.terms_of_service.en.url, POLICIES.privacy_policy.en.url];

export interface Reply {
  readonly status: number;
  readonly json: Json;
  readonly text: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

export interface CallOptions {
  readonly token?: string;
  readonly body?: unknown;
  /** Sent as it is, instead of `body` as JSON. */
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Twilio's Messages API as far as the service uses it: every message recorded; some numbers refused. */
export interface TwilioStandIn {
  readonly url: string;
  readonly messages: Array<{ readonly authorization: string | undefined; readonly path: string; readonly to: string; readonly from: string; readonly body: string }>;
  /** Numbers answered with Twilio's error 21408 (no permission to send to the region). */
  readonly refused: Set<string>;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

export async function startTwilioStandIn(): Promise<TwilioStandIn> {
  const messages: TwilioStandIn["messages"] = [];
  const refused = new Set<string>();
  const server = createHttpServer((req, res) => {
    void readBody(req).then((text) => {
      const form = new URLSearchParams(text);
      const to = form.get("To") ?? "";
      res.setHeader("content-type", "application/json");
      if (refused.has(to)) {
        res.statusCode = 400;
        res.end(JSON.stringify({ code: 21408, message: "Permission to send an SMS has not been enabled for the region", status: 400 }));
        return;
      }
      messages.push({ authorization: req.headers.authorization, path: req.url ?? "", to, from: form.get("From") ?? "", body: form.get("Body") ?? "" });
      res.statusCode = 201;
      res.end(JSON.stringify({ sid: `SM${messages.length}`, status: "queued" }));
    });
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, messages, refused, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * Another homeserver, over TLS with a certificate of the test CA: it answers OpenID userinfo for
 * the tokens a test gives it, and records the /3pid/onbind requests, failing the first `failNext`
 * ones with a 503 so that the service tries again.
 */
export interface RemoteHomeserver {
  readonly serverName: string;
  readonly openidTokens: Map<string, string>;
  readonly onbinds: Array<{ readonly method: string; readonly body: Json }>;
  failNext: number;
  close(): Promise<void>;
}

export async function startRemoteHomeserver(pki: TestPki): Promise<RemoteHomeserver> {
  const certificate = pki.issue(["localhost"], ["127.0.0.1"]);
  const openidTokens = new Map<string, string>();
  const onbinds: RemoteHomeserver["onbinds"] = [];
  const state = { failNext: 0 };
  const server = createHttpsServer({ cert: certificate.cert, key: certificate.key }, (req, res) => {
    void readBody(req).then((text) => {
      const url = new URL(req.url ?? "/", "https://localhost");
      res.setHeader("content-type", "application/json");
      if (req.method === "GET" && url.pathname === "/_matrix/federation/v1/openid/userinfo") {
        const sub = openidTokens.get(url.searchParams.get("access_token") ?? "");
        res.statusCode = sub === undefined ? 401 : 200;
        res.end(JSON.stringify(sub === undefined ? { errcode: "M_UNKNOWN_TOKEN", error: "Unknown token" } : { sub }));
        return;
      }
      if (req.method === "PUT" && url.pathname === "/_matrix/federation/v1/3pid/onbind") {
        if (state.failNext > 0) {
          state.failNext--;
          res.statusCode = 503;
          res.end(JSON.stringify({ errcode: "M_UNKNOWN", error: "Busy" }));
          return;
        }
        onbinds.push({ method: req.method, body: JSON.parse(text) as Json });
        res.end("{}");
        return;
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ errcode: "M_UNRECOGNIZED", error: "Unrecognized request" }));
    });
  });
  const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
  return {
    serverName: `localhost:${port}`,
    openidTokens,
    onbinds,
    get failNext() {
      return state.failNext;
    },
    set failNext(n: number) {
      state.failNext = n;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface Stack {
  readonly pki: TestPki;
  readonly hs: TlsHomeserver;
  readonly remote: RemoteHomeserver;
  readonly smtp: SmtpStandIn;
  readonly twilio: TwilioStandIn;
  readonly config: IdentityServiceConfig;
  /** Added to the service's clock. */
  clockOffsetMs: number;
  readonly baseUrl: string;
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  /** A user of the real homeserver, registered with the service through an OpenID token; terms accepted unless told. */
  homeserverUser(localpart: string, options?: { acceptTerms?: boolean }): Promise<{ userId: string; token: string; homeserverToken: string }>;
  /** A user of the stand-in homeserver, registered with the service the same way. */
  remoteUser(localpart: string): Promise<{ userId: string; token: string }>;
  /** Validates `email` for a session and answers its sid and client secret. */
  validateEmail(token: string, email: string): Promise<{ sid: string; clientSecret: string }>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

let secretCounter = 0;
export function clientSecret(): string {
  return `secret_${Date.now().toString(36)}_${++secretCounter}`;
}

/** The token of a validation mail: the code at the end of its "this code:" line. */
export function tokenOfMail(text: string): string {
  const match = /this code: (\S+)/.exec(text);
  assert.ok(match?.[1] !== undefined, `no token in the mail: ${text}`);
  return match[1];
}

export async function startStack(engine: Engine): Promise<Stack> {
  const pki = await createTestPki();
  const hs = await startTlsHomeserver(engine, pki, { host: "localhost" });
  const remote = await startRemoteHomeserver(pki);
  const smtp = await startSmtpStandIn();
  const twilio = await startTwilioStandIn();
  const storage: TestStorage = await createTestStorage(engine);
  const dir = await mkdtemp(join(tmpdir(), "weft-is-"));
  const { config: parsed } = parseIdentityServiceConfig(
    {
      server_name: IS_NAME,
      public_baseurl: "https://id.test/",
      signing_key_path: "id.test.signing.key",
      email: { smtp_host: "127.0.0.1", smtp_port: smtp.port, notif_from: "Test ID <noreply@id.test>", enable_tls: false, app_name: "Test ID" },
      sms: { account_sid: "ACtest", auth_token: "twilio-secret", from: "+15005550006", api_base_url: twilio.url },
      terms: { policies: POLICIES },
      federation_custom_ca_list: [pki.caPath],
      ip_range_whitelist: ["127.0.0.0/8"],
      web_client_location: "https://chat.test",
      log_level: "silent",
      // The tests ask for many tokens from one address.
      rc_request_token: { ip: { per_second: 100, burst_count: 1000 }, threepid: { per_second: 100, burst_count: 1000 } },
    },
    dir,
  );
  const config: IdentityServiceConfig = { ...parsed, port: 0, database: storage.config };
  const hsAgent = new Agent({ connect: { ca: pki.caCert } });
  let service: RunningIdentityService | undefined;
  let baseUrl = "";

  const stack: Stack = {
    pki,
    hs,
    remote,
    smtp,
    twilio,
    config,
    clockOffsetMs: 0,
    get baseUrl() {
      return baseUrl;
    },
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`;
      let body: string | undefined = options.rawBody;
      if (body === undefined && options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers["content-type"] ??= "application/json";
      }
      const url = path.startsWith("/_matrix/") || path.startsWith("/health") ? `${baseUrl}${path}` : `${baseUrl}/_matrix/identity/v2${path}`;
      const response = await request(url, { method: method as "GET", headers, body });
      const text = await response.body.text();
      let json: Json;
      try {
        json = JSON.parse(text) as Json;
      } catch {
        json = {};
      }
      return { status: response.statusCode, json, text, headers: response.headers };
    },
    async homeserverUser(localpart, options = {}) {
      const registered = await hs.server.services.users.register({ localpart, password: undefined });
      const homeserverToken = registered.accessToken as string;
      const openid = await request(`${hs.baseUrl}/_matrix/client/v3/user/${encodeURIComponent(registered.userId)}/openid/request_token`, {
        method: "POST",
        dispatcher: hsAgent,
        headers: { authorization: `Bearer ${homeserverToken}`, "content-type": "application/json" },
        body: "{}",
      });
      const openidToken = (await openid.body.json()) as Json;
      assert.equal(openid.statusCode, 200, JSON.stringify(openidToken));
      const reply = await stack.call("POST", "/account/register", { body: openidToken });
      assert.equal(reply.status, 200, reply.text);
      const token = reply.json["token"] as string;
      if (options.acceptTerms !== false) {
        const accepted = await stack.call("POST", "/terms", { token, body: { user_accepts: ALL_POLICY_URLS } });
        assert.equal(accepted.status, 200, accepted.text);
      }
      return { userId: registered.userId, token, homeserverToken };
    },
    async remoteUser(localpart) {
      const userId = `@${localpart}:${remote.serverName}`;
      const openidToken = `openid-${localpart}-${++secretCounter}`;
      remote.openidTokens.set(openidToken, userId);
      const reply = await stack.call("POST", "/account/register", {
        body: { access_token: openidToken, token_type: "Bearer", matrix_server_name: remote.serverName, expires_in: 3600 },
      });
      assert.equal(reply.status, 200, reply.text);
      const token = reply.json["token"] as string;
      assert.equal((await stack.call("POST", "/terms", { token, body: { user_accepts: ALL_POLICY_URLS } })).status, 200);
      return { userId, token };
    },
    async validateEmail(token, email) {
      const secret = clientSecret();
      const requested = await stack.call("POST", "/validate/email/requestToken", { token, body: { client_secret: secret, email, send_attempt: 1 } });
      assert.equal(requested.status, 200, requested.text);
      const mail = await smtp.next(email);
      const sid = requested.json["sid"] as string;
      const submitted = await stack.call("POST", "/validate/email/submitToken", { token, body: { sid, client_secret: secret, token: tokenOfMail(mail.text) } });
      assert.equal(submitted.status, 200, submitted.text);
      return { sid, clientSecret: secret };
    },
    async restart() {
      await service?.close();
      await startService();
    },
    async stop() {
      await service?.close();
      await hsAgent.close();
      await twilio.close();
      await smtp.close();
      await remote.close();
      await hs.stop();
      await storage.drop();
      await pki.cleanup();
      await rm(dir, { recursive: true, force: true });
    },
  };

  const startService = async () => {
    service = await startIdentityService(config, pino({ level: "silent" }), {
      now: () => Date.now() + stack.clockOffsetMs,
      onbindPollIntervalMs: 50,
      onbindFirstRetryMs: 50,
    });
    const address = service.addresses[0];
    assert.ok(address !== undefined);
    baseUrl = `http://127.0.0.1:${address.port}`;
  };
  await startService();
  return stack;
}

/** Polls `check` until it holds, or fails after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
