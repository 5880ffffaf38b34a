/**
 * Helpers for the /sync tests: rooms made and used over the client API, and syncs that follow their
 * tokens.
 */
import assert from "node:assert/strict";
import type { TestHomeserver } from "../harness.ts";
import { call, type TestUser } from "../api/client/helpers.ts";

/** Open registration, rate limits out of the way, presence on. */
export const SYNC_YAML = [
  "enable_registration: true",
  "enable_registration_without_verification: true",
  "rc_registration: {per_second: 1000, burst_count: 1000}",
  "rc_message: {per_second: 10000, burst_count: 10000}",
  "rc_joins: {local: {per_second: 1000, burst_count: 1000}}",
  "rc_login:",
  "  address: {per_second: 1000, burst_count: 1000}",
  "  account: {per_second: 1000, burst_count: 1000}",
  "  failed_attempts: {per_second: 1000, burst_count: 1000}",
].join("\n");

export type Json = Record<string, unknown>;

const enc = encodeURIComponent;
let txn = 0;

export async function createRoom(hs: TestHomeserver, user: TestUser, body: Json = {}): Promise<string> {
  const reply = await call(hs, "POST", "/_matrix/client/v3/createRoom", { token: user.accessToken, body });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body["room_id"] as string;
}

export async function join(hs: TestHomeserver, user: TestUser, roomId: string): Promise<void> {
  const reply = await call(hs, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: user.accessToken, body: {} });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
}

export async function invite(hs: TestHomeserver, user: TestUser, roomId: string, userId: string): Promise<void> {
  const reply = await call(hs, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { token: user.accessToken, body: { user_id: userId } });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
}

export async function leave(hs: TestHomeserver, user: TestUser, roomId: string): Promise<void> {
  const reply = await call(hs, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { token: user.accessToken, body: {} });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
}

export async function send(hs: TestHomeserver, user: TestUser, roomId: string, content: Json, type = "m.room.message"): Promise<string> {
  const reply = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/${type}/t${++txn}`, { token: user.accessToken, body: content });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body["event_id"] as string;
}

export async function sendText(hs: TestHomeserver, user: TestUser, roomId: string, body: string): Promise<string> {
  return send(hs, user, roomId, { msgtype: "m.text", body });
}

export async function setState(hs: TestHomeserver, user: TestUser, roomId: string, type: string, stateKey: string, content: Json): Promise<string> {
  const reply = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/${type}/${enc(stateKey)}`, { token: user.accessToken, body: content });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body["event_id"] as string;
}

/** GET /sync with the given parameters; asserts a 200. */
export async function sync(hs: TestHomeserver, user: TestUser, params: Record<string, string | number | boolean | undefined> = {}): Promise<Json> {
  const query = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${enc(String(v))}`)
    .join("&");
  const reply = await call(hs, "GET", `/_matrix/client/v3/sync${query === "" ? "" : `?${query}`}`, { token: user.accessToken });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body;
}

/** The joined room's entry of a sync response, if present. */
export function joinedRoom(response: Json, roomId: string): Json | undefined {
  return ((response["rooms"] as Json | undefined)?.["join"] as Json | undefined)?.[roomId] as Json | undefined;
}

export function roomSection(response: Json, section: "join" | "invite" | "leave" | "knock", roomId: string): Json | undefined {
  return ((response["rooms"] as Json | undefined)?.[section] as Json | undefined)?.[roomId] as Json | undefined;
}

export function timelineOf(room: Json | undefined): Json[] {
  return ((room?.["timeline"] as Json | undefined)?.["events"] as Json[] | undefined) ?? [];
}

export function stateOf(room: Json | undefined): Json[] {
  return ((room?.["state"] as Json | undefined)?.["events"] as Json[] | undefined) ?? [];
}

export function ephemeralOf(room: Json | undefined): Json[] {
  return ((room?.["ephemeral"] as Json | undefined)?.["events"] as Json[] | undefined) ?? [];
}

/** The content of a room's m.receipt ephemeral event, if any. */
export function receiptOf(room: Json | undefined): Json | undefined {
  return ephemeralOf(room).find((e) => e["type"] === "m.receipt")?.["content"] as Json | undefined;
}

/** The bodies of the m.room.message events of a timeline, in order. */
export function bodies(events: readonly Json[]): string[] {
  return events.filter((e) => e["type"] === "m.room.message").map((e) => (e["content"] as Json)["body"] as string);
}

/** Syncs from `since` until the predicate holds on a response (long-polling); returns it and its token. */
export async function syncUntil(
  hs: TestHomeserver,
  user: TestUser,
  since: string,
  done: (response: Json) => boolean,
  params: Record<string, string | number | boolean | undefined> = {},
): Promise<Json> {
  let token = since;
  for (let i = 0; i < 200; i++) {
    const response = await sync(hs, user, { ...params, since: token, timeout: 5000 });
    if (done(response)) return response;
    token = response["next_batch"] as string;
  }
  assert.fail("the expected sync response never came");
}
