/**
 * Helpers for the client-server API tests: JSON requests over real HTTP, and users registered
 * through /register with the m.login.dummy stage.
 */
import assert from "node:assert/strict";
import type { TestHomeserver } from "../../harness.ts";

/** Open registration and rate limits high enough for a test suite's requests from one address. */
export const ACCOUNTS_YAML = [
  "enable_registration: true",
  "enable_registration_without_verification: true",
  "rc_registration: {per_second: 1000, burst_count: 1000}",
  "rc_login:",
  "  address: {per_second: 1000, burst_count: 1000}",
  "  account: {per_second: 1000, burst_count: 1000}",
  "  failed_attempts: {per_second: 1000, burst_count: 1000}",
].join("\n");

export interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export async function call(
  hs: TestHomeserver,
  method: string,
  path: string,
  options: { token?: string | undefined; body?: unknown; rawBody?: string; headers?: Readonly<Record<string, string>> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`;
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${hs.baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** Asserts an error answer: its status and errcode. */
export function assertError(reply: Reply, status: number, errcode: string): void {
  assert.equal(reply.status, status, `expected ${status} ${errcode}, got ${reply.status} ${JSON.stringify(reply.body)}`);
  assert.equal(reply.body["errcode"], errcode);
}

export interface TestUser {
  readonly userId: string;
  readonly accessToken: string;
  readonly deviceId: string;
  readonly password: string;
}

/** Registers a user through UIA with m.login.dummy: the 401 first, then the dummy stage. */
export async function registerUser(hs: TestHomeserver, username: string, extra: Record<string, unknown> = {}): Promise<TestUser> {
  const password = `pw-${username}-Secret1`;
  const body = { username, password, ...extra };
  const first = await call(hs, "POST", "/_matrix/client/v3/register", { body });
  assert.equal(first.status, 401, JSON.stringify(first.body));
  const session = first.body["session"] as string;
  const done = await call(hs, "POST", "/_matrix/client/v3/register", { body: { ...body, auth: { type: "m.login.dummy", session } } });
  assert.equal(done.status, 200, JSON.stringify(done.body));
  return {
    userId: done.body["user_id"] as string,
    accessToken: done.body["access_token"] as string,
    deviceId: done.body["device_id"] as string,
    password,
  };
}

/** Registers a guest account (kind=guest; the server must allow guest access). */
export async function registerGuest(hs: TestHomeserver): Promise<TestUser> {
  const reply = await call(hs, "POST", "/_matrix/client/v3/register?kind=guest", { body: {} });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return {
    userId: reply.body["user_id"] as string,
    accessToken: reply.body["access_token"] as string,
    deviceId: reply.body["device_id"] as string,
    password: "",
  };
}

/** Logs in with a password; returns the login answer. */
export async function login(hs: TestHomeserver, user: string, password: string, extra: Record<string, unknown> = {}): Promise<Reply> {
  return call(hs, "POST", "/_matrix/client/v3/login", {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user }, password, ...extra },
  });
}

/** The m.login.password auth dict of a user. */
export function passwordAuth(user: TestUser, session?: string): Record<string, unknown> {
  return {
    type: "m.login.password",
    identifier: { type: "m.id.user", user: user.userId },
    password: user.password,
    ...(session === undefined ? {} : { session }),
  };
}

/**
 * Runs a UIA-protected request: first without auth (expecting the 401 with an m.login.password
 * flow), then with the user's password in the session given.
 */
export async function withPasswordUia(hs: TestHomeserver, method: string, path: string, user: TestUser, body: Record<string, unknown> = {}): Promise<Reply> {
  const first = await call(hs, method, path, { token: user.accessToken, body });
  assert.equal(first.status, 401, JSON.stringify(first.body));
  assert.deepEqual(first.body["flows"], [{ stages: ["m.login.password"] }]);
  return call(hs, method, path, { token: user.accessToken, body: { ...body, auth: passwordAuth(user, first.body["session"] as string) } });
}

/** The number of random bytes in one of our tokens (`wft_` + unpadded base64url). */
export function tokenEntropyBytes(token: string): number {
  const match = /^wf[trl]_([A-Za-z0-9_-]+)$/.exec(token);
  assert.ok(match?.[1] !== undefined, `unexpected token format: ${token}`);
  return Buffer.from(match[1], "base64url").length;
}
