// Test helpers: the membership index and history visibility over a test roomserver.
import assert from "node:assert/strict";
import { membershipIndexSource, visibilitySource } from "../../../src/homeserver/rooms/engine-reads.ts";
import { MembershipIndex } from "../../../src/homeserver/rooms/membership-index.ts";
import { HistoryVisibility } from "../../../src/homeserver/rooms/visibility.ts";
import type { Roomserver } from "../../../src/homeserver/roomserver/index.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import type { Database } from "../../../src/storage/database.ts";
import { MembershipStore } from "../../../src/storage/stores/memberships.ts";

export function indexOver(db: Database, roomserver: Roomserver): MembershipIndex {
  return new MembershipIndex(new MembershipStore(db), membershipIndexSource(roomserver), {
    checkpointIntervalMs: 0,
    onError: (err) => assert.fail(err instanceof Error ? err : String(err)),
  });
}

export function visibilityOver(roomserver: Roomserver, index: MembershipIndex): HistoryVisibility {
  return new HistoryVisibility(visibilitySource(roomserver), index);
}

/** A v10 room: the creator joined with power 100, public join rules, and any more state given. */
export async function publicRoom(
  roomserver: Roomserver,
  creator: string,
  more: ReadonlyArray<{ type: string; content: JsonObject }> = [],
): Promise<{ roomId: string; last: number }> {
  const { roomId } = await roomserver.createRoom({ roomVersion: "10", creator });
  await roomserver.createLocalEvent({ roomId, type: "m.room.member", stateKey: creator, sender: creator, content: { membership: "join" } });
  await roomserver.createLocalEvent({ roomId, type: "m.room.power_levels", stateKey: "", sender: creator, content: { users: { [creator]: 100 } } });
  let last = await roomserver.createLocalEvent({ roomId, type: "m.room.join_rules", stateKey: "", sender: creator, content: { join_rule: "public" } });
  for (const s of more) last = await roomserver.createLocalEvent({ roomId, type: s.type, stateKey: "", sender: creator, content: s.content });
  return { roomId, last: last.streamOrdering ?? 0 };
}

export async function member(roomserver: Roomserver, roomId: string, sender: string, target: string, membership: string): Promise<{ eventId: string; position: number }> {
  const sent = await roomserver.createLocalEvent({ roomId, type: "m.room.member", stateKey: target, sender, content: { membership } });
  return { eventId: sent.eventId, position: sent.streamOrdering ?? 0 };
}

export async function message(roomserver: Roomserver, roomId: string, sender: string, body: string): Promise<{ eventId: string; position: number }> {
  const sent = await roomserver.createLocalEvent({ roomId, type: "m.room.message", sender, content: { msgtype: "m.text", body } });
  return { eventId: sent.eventId, position: sent.streamOrdering ?? 0 };
}
