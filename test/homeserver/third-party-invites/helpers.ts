/**
 * What the third-party invite tests share: a client's 3PID invite, reading a room's
 * m.room.third_party_invite events, and the pieces of a /sync response they look at.
 */
import assert from "node:assert/strict";
import type { Client, Json } from "../federation/client-api.ts";
import type { StandInIdentityServer } from "./identity-server.ts";

export const enc = encodeURIComponent;

let counter = 0;
/** A fresh address for each test, so that one test's bindings do not reach another's. */
export function freshAddress(name: string): string {
  return `${name}.${process.pid}.${++counter}@example.org`;
}

/** POST /rooms/{roomId}/invite in its 3PID form (third_party_membership.yaml). */
export function invite3pid(client: Client, is: StandInIdentityServer, roomId: string, address: string, overrides: Json = {}): Promise<{ status: number; json: Json }> {
  return client.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, {
    id_server: is.serverName,
    id_access_token: is.accessToken,
    medium: "email",
    address,
    ...overrides,
  });
}

export async function createRoom(client: Client, body: Json = {}): Promise<string> {
  const created = await client.call("POST", "/_matrix/client/v3/createRoom", { preset: "private_chat", ...body });
  return created["room_id"] as string;
}

/** The room's m.room.third_party_invite state events, as the client API serves them. */
export async function thirdPartyInvites(client: Client, roomId: string): Promise<Json[]> {
  const state = (await client.call("GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state`)) as unknown as Json[];
  return state.filter((e) => e["type"] === "m.room.third_party_invite");
}

/** The one m.room.third_party_invite the room has. */
export async function onlyThirdPartyInvite(client: Client, roomId: string): Promise<Json> {
  const invites = await thirdPartyInvites(client, roomId);
  assert.equal(invites.length, 1, JSON.stringify(invites));
  return invites[0] as Json;
}

/** The stripped state of a room in rooms.invite of a /sync response. */
export function inviteState(response: Json, roomId: string): Json[] {
  const room = ((response["rooms"] as Json | undefined)?.["invite"] as Json | undefined)?.[roomId] as Json | undefined;
  return ((room?.["invite_state"] as Json | undefined)?.["events"] as Json[] | undefined) ?? [];
}

export function assertError(answer: { status: number; json: Json }, status: number, errcode: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer.json));
  assert.equal(answer.json["errcode"], errcode, JSON.stringify(answer.json));
}
