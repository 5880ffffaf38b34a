// Helpers for the rooms tests over real HTTP: a homeserver with open registration and high join
// limits, rooms created through /createRoom, and the room state read back from the roomserver.
import assert from "node:assert/strict";
import { stateMapKey } from "../../../src/core/events/room-event.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import type { Engine } from "../../../src/storage/engine.ts";
import { ACCOUNTS_YAML, call, type Reply, type TestUser } from "../api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";

export { assertError, call, registerGuest, registerUser } from "../api/client/helpers.ts";
export type { Reply, TestUser } from "../api/client/helpers.ts";

export const ROOMS_YAML = [ACCOUNTS_YAML, "rc_joins:", "  local: {per_second: 1000, burst_count: 1000}"].join("\n");

export async function startRoomsHomeserver(engine: Engine, extraYaml = ""): Promise<TestHomeserver> {
  return await startTestHomeserver(engine, { yaml: [ROOMS_YAML, extraYaml].join("\n") });
}

export const enc = encodeURIComponent;

/** POST /createRoom; asserts success and returns the room ID. */
export async function createRoom(hs: TestHomeserver, user: TestUser, body: Record<string, unknown> = {}): Promise<string> {
  const reply = await call(hs, "POST", "/_matrix/client/v3/createRoom", { token: user.accessToken, body });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  const roomId = reply.body["room_id"];
  assert.equal(typeof roomId, "string");
  return roomId as string;
}

export async function post(hs: TestHomeserver, user: TestUser | undefined, path: string, body: Record<string, unknown> = {}): Promise<Reply> {
  return await call(hs, "POST", `/_matrix/client/v3${path}`, { token: user?.accessToken, body });
}

export async function joinedRooms(hs: TestHomeserver, user: TestUser): Promise<string[]> {
  const reply = await call(hs, "GET", "/_matrix/client/v3/joined_rooms", { token: user.accessToken });
  assert.equal(reply.status, 200);
  return (reply.body["joined_rooms"] as string[]).slice().sort();
}

/** The content of a state event in the room's current state (read from the roomserver). */
export async function stateContent(hs: TestHomeserver, roomId: string, type: string, stateKey = ""): Promise<JsonObject | undefined> {
  const { roomserver } = hs.server.services;
  const eventId = (await roomserver.currentState(roomId))?.get(stateMapKey(type, stateKey));
  return eventId === undefined ? undefined : (await roomserver.getEvent(eventId))?.event.content;
}

/** The room's timeline as (type, state_key) pairs, oldest first. */
export async function timeline(hs: TestHomeserver, roomId: string): Promise<Array<{ type: string; stateKey: string | undefined; sender: string; content: JsonObject }>> {
  const { roomserver } = hs.server.services;
  const entries = await roomserver.store.roomStream(roomId, 0, 1000);
  const out = [];
  for (const entry of entries) {
    const event = (await roomserver.getEvent(entry.eventId))?.event;
    if (event !== undefined) out.push({ type: event.type, stateKey: event.stateKey, sender: event.sender, content: event.content });
  }
  return out;
}

export async function membershipOf(hs: TestHomeserver, roomId: string, userId: string): Promise<string | undefined> {
  const membership = (await stateContent(hs, roomId, "m.room.member", userId))?.["membership"];
  return typeof membership === "string" ? membership : undefined;
}
