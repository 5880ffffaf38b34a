// POST /rooms/{roomId}/upgrade (modules/room_upgrades.md "Server behaviour", room_upgrades.yaml):
// a replacement room whose m.room.create names its predecessor, the transferable state copied,
// the local aliases moved, an m.room.tombstone in the old room and its power levels restricted.
import { parsePowerLevelValue } from "../../core/auth/index.ts";
import { MatrixError } from "../../core/errors.ts";
import { parseRoomId, parseUserId } from "../../core/identifiers/index.ts";
import type { JsonObject, JsonValue } from "../../core/json.ts";
import { isJsonObject } from "../../core/json.ts";
import { getRoomVersion } from "../../core/room-versions/room-versions.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { InitialEvent, Roomserver } from "../roomserver/index.ts";
import type { AliasService } from "./aliases.ts";
import type { RoomDirectoryService } from "./directory.ts";
import type { MembershipIndex } from "./membership-index.ts";
import type { RoomState, RoomStateReader } from "./room-state.ts";
import type { SettingsTransfer } from "./upgrade-settings.ts";

/** room_upgrades.md step 3: the state events the spec recommends transferring (power levels apart). */
export const TRANSFERABLE_STATE = [
  "m.room.server_acl",
  "m.room.encryption",
  "m.room.name",
  "m.room.avatar",
  "m.room.topic",
  "m.room.guest_access",
  "m.room.history_visibility",
  "m.room.join_rules",
] as const;

const LEVEL_KEYS = ["users_default", "events_default", "state_default", "ban", "kick", "redact", "invite"] as const;

export interface RoomUpgradeDeps {
  readonly roomserver: Roomserver;
  readonly states: RoomStateReader;
  readonly membershipIndex: MembershipIndex;
  readonly aliases: AliasService;
  readonly directory: RoomDirectoryService;
  /** Copies the upgrader's settings (push rule, tags) of the old room to the new one; nothing when absent. */
  readonly transferSettings?: SettingsTransfer;
  readonly onError?: (error: unknown, what: string) => void;
}

export class RoomUpgradeService {
  readonly #deps: RoomUpgradeDeps;

  constructor(deps: RoomUpgradeDeps) {
    this.#deps = deps;
  }

  async upgrade(requester: Requester, roomId: string, newVersion: string, additionalCreators: readonly string[] = []): Promise<{ replacementRoom: string }> {
    const version = getRoomVersion(newVersion);
    if (version === undefined) throw new MatrixError("M_UNSUPPORTED_ROOM_VERSION", `Room version ${newVersion} is not supported`, 400);
    if (parseRoomId(roomId) === undefined) throw new MatrixError("M_INVALID_PARAM", "Invalid room ID", 400);
    for (const u of additionalCreators) if (parseUserId(u) === undefined) throw new MatrixError("M_BAD_JSON", `${u} is not a user ID`, 400);
    const userId = requester.userId;
    const old = await this.#deps.states.current(roomId);
    if (old === undefined) throw new MatrixError("M_NOT_FOUND", "Unknown room", 404);
    // Step 1: the user may send m.room.tombstone in the room.
    if ((await old.membershipOf(userId)) !== "join" || !(await old.maySend(userId, "m.room.tombstone", ""))) {
      throw new MatrixError("M_FORBIDDEN", "You may not upgrade this room", 403);
    }

    // Step 2: the replacement room, its create event naming the predecessor and keeping the type.
    const createContent: JsonObject = { predecessor: { room_id: roomId, event_id: await this.#lastEvent(roomId) } };
    const type = (await old.content("m.room.create"))?.["type"];
    if (type !== undefined) createContent["type"] = type;
    if (version.privilegedCreators && additionalCreators.length > 0) createContent["additional_creators"] = [...new Set(additionalCreators)];
    const creators = new Set([userId, ...(version.privilegedCreators ? additionalCreators : [])]);
    // The upgrader joins, with the profile they have in the old room.
    const initial: InitialEvent[] = [
      { type: "m.room.member", stateKey: userId, content: { membership: "join", ...pick(await old.content("m.room.member", userId), ["displayname", "avatar_url"]) } },
    ];

    // Step 3: power levels first (the upgrader raised for the copy if need be), then the rest.
    const oldLevels = (await old.content("m.room.power_levels")) ?? {};
    let levels = powerLevelsFor(oldLevels, old.version, version, creators);
    const needed = neededLevel(levels);
    // The upgrader keeps their level (a creator of a v12 room, above every level, gets what the state needs).
    const ownOld = await old.powerLevelOf(userId);
    const own = Number.isFinite(ownOld) ? ownOld : Math.max(100, needed);
    if (!version.privilegedCreators && userLevel(levels, userId) !== own) levels = withUserLevel(levels, userId, own);
    // The first power levels of a room are not checked against earlier ones: the upgrader may be raised for the copy.
    const raised = !version.privilegedCreators && own < needed;
    initial.push({ type: "m.room.power_levels", stateKey: "", content: raised ? withUserLevel(levels, userId, needed) : levels });
    for (const type of TRANSFERABLE_STATE) {
      const content = await old.content(type);
      if (content !== undefined && Object.keys(content).length > 0) initial.push({ type, stateKey: "", content });
    }
    if (raised) initial.push({ type: "m.room.power_levels", stateKey: "", content: levels });
    // Steps 2-3 in one go: the replacement room is stored whole or not at all.
    const { roomId: newRoomId, streamOrdering } = await this.#deps.roomserver.createRoom({ roomVersion: version.id, creator: userId, content: createContent }, initial);
    // Read-your-writes: the upgrader is in the new room for the requests that follow.
    if (streamOrdering !== undefined) await this.#deps.membershipIndex.waitUntil(streamOrdering);
    const send = (type: string, content: JsonObject): Promise<unknown> =>
      this.#deps.roomserver.createLocalEvent({ roomId: newRoomId, type, stateKey: "", sender: userId, content });

    // The upgrader joined the new room with its creation: their settings of the old room follow
    // (room_upgrades.md, "When a user joins the new room"); others' follow when they join it.
    const transfer = this.#deps.transferSettings;
    if (transfer !== undefined) {
      try {
        await transfer(userId, roomId, newRoomId);
      } catch (err) {
        this.#deps.onError?.(err, "copying the upgrader's settings");
      }
    }

    // Step 4: the local aliases move, and the canonical alias with them.
    await this.#deps.aliases.moveAliases(roomId, newRoomId);
    const canonical = await old.content("m.room.canonical_alias");
    if (canonical !== undefined && Object.keys(canonical).length > 0) {
      await this.#bestEffort(() => send("m.room.canonical_alias", canonical), "copying the canonical alias");
      await this.#bestEffort(() => this.#sendOld(old, userId, "m.room.canonical_alias", {}), "clearing the old canonical alias");
    }
    if (await this.#deps.directory.isPublished(roomId)) {
      await this.#deps.directory.publish(newRoomId, true);
      await this.#deps.directory.publish(roomId, false);
    }

    // Step 5: the tombstone.
    await this.#sendOld(old, userId, "m.room.tombstone", { body: "This room has been replaced", replacement_room: newRoomId });

    // Step 6: in the old room, sending and inviting need max(50, users_default + 1).
    const restrictLevel = Math.max(50, (parsePowerLevelValue(oldLevels["users_default"], old.version) ?? 0) + 1);
    const restricted: JsonObject = { ...oldLevels, events_default: restrictLevel, invite: restrictLevel };
    await this.#bestEffort(() => this.#sendOld(old, userId, "m.room.power_levels", restricted), "restricting the old room's power levels");
    return { replacementRoom: newRoomId };
  }

  async #sendOld(old: RoomState, sender: string, type: string, content: JsonObject): Promise<void> {
    await this.#deps.roomserver.createLocalEvent({ roomId: old.roomId, type, stateKey: "", sender, content });
  }

  /** The last event of the old room (a forward extremity): the predecessor's event_id. */
  async #lastEvent(roomId: string): Promise<string> {
    const extremities = await this.#deps.roomserver.forwardExtremities(roomId);
    return extremities[0] ?? "";
  }

  async #bestEffort(run: () => Promise<unknown>, what: string): Promise<void> {
    try {
      await run();
    } catch (err) {
      if (!(err instanceof MatrixError)) throw err;
      this.#deps.onError?.(err, what);
    }
  }
}

/**
 * The old room's power levels for the new room: values made integers (stringy levels are not
 * allowed from v10), and from v12 without the room creators, who may not be listed.
 */
export function powerLevelsFor(old: JsonObject, from: RoomVersion, to: RoomVersion, creators: ReadonlySet<string>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(old)) {
    if ((LEVEL_KEYS as readonly string[]).includes(k)) {
      const level = parsePowerLevelValue(v, from);
      if (level !== undefined) out[k] = level;
    } else if ((k === "users" || k === "events") && isJsonObject(v)) {
      const map: JsonObject = {};
      for (const [id, value] of Object.entries(v)) {
        const level = parsePowerLevelValue(value, from);
        if (level === undefined || (k === "users" && to.privilegedCreators && creators.has(id))) continue;
        map[id] = level;
      }
      out[k] = map;
    } else if (k === "notifications" && isJsonObject(v)) {
      const map: JsonObject = {};
      for (const [id, value] of Object.entries(v)) {
        const level = parsePowerLevelValue(value, from);
        if (level !== undefined) map[id] = level;
      }
      out[k] = map;
    } else {
      out[k] = v;
    }
  }
  // create_room.yaml: from v12 m.room.tombstone must need more than state_default.
  if (to.privilegedCreators) {
    const events = isJsonObject(out["events"]) ? { ...out["events"] } : {};
    const stateDefault = typeof out["state_default"] === "number" ? out["state_default"] : 50;
    const tombstone = events["m.room.tombstone"];
    if (typeof tombstone !== "number" || tombstone <= stateDefault) events["m.room.tombstone"] = Math.max(150, stateDefault + 1);
    out["events"] = events;
  }
  return out;
}

/** The highest level the copied state and the power levels themselves need. */
function neededLevel(levels: JsonObject): number {
  const events = isJsonObject(levels["events"]) ? levels["events"] : {};
  const stateDefault = typeof levels["state_default"] === "number" ? levels["state_default"] : 50;
  let needed = stateDefault;
  for (const type of [...TRANSFERABLE_STATE, "m.room.power_levels", "m.room.canonical_alias"]) {
    const level = events[type];
    needed = Math.max(needed, typeof level === "number" ? level : stateDefault);
  }
  return needed;
}

function userLevel(levels: JsonObject, userId: string): number {
  const users = isJsonObject(levels["users"]) ? levels["users"] : {};
  const own = users[userId];
  if (typeof own === "number") return own;
  return typeof levels["users_default"] === "number" ? levels["users_default"] : 0;
}

function withUserLevel(levels: JsonObject, userId: string, level: number): JsonObject {
  const users: JsonObject = isJsonObject(levels["users"]) ? { ...levels["users"] } : {};
  users[userId] = level;
  return { ...levels, users };
}

function pick(content: JsonObject | undefined, keys: readonly string[]): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const k of keys) {
    const v = content?.[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
