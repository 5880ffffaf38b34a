// POST /createRoom (client-server-api "Creation", create_room.yaml): the room's initial events in
// the order the spec gives, the presets, and the room directory. Errors in the request itself are
// found before the room exists; an initial state the rules refuse answers M_INVALID_ROOM_STATE, and
// leaves no room behind (its events are stored all together or not at all).
import { MatrixError } from "../../core/errors.ts";
import { parseRoomAlias, parseUserId } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../../core/json.ts";
import { getRoomVersion } from "../../core/room-versions/room-versions.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { InitialEvent, Roomserver } from "../roomserver/index.ts";
import { canonicalAliasesOf } from "./aliases.ts";
import type { AliasService } from "./aliases.ts";
import type { RoomDirectoryService } from "./directory.ts";
import type { MembershipIndex } from "./membership-index.ts";
import type { MembershipService } from "./membership-service.ts";
import { ThirdPartyInviteService, type Invite3pid } from "./third-party-invites.ts";

export type Preset = "private_chat" | "trusted_private_chat" | "public_chat";

/** The request body of create_room.yaml, as its schema admits it. */
export interface CreateRoomBody {
  readonly visibility?: "public" | "private";
  readonly room_alias_name?: string;
  readonly name?: string;
  readonly topic?: string;
  readonly invite?: string[];
  readonly invite_3pid?: Invite3pid[];
  readonly room_version?: string;
  readonly creation_content?: JsonObject;
  readonly initial_state?: Array<{ type: string; state_key?: string; content: JsonObject }>;
  readonly preset?: Preset;
  readonly is_direct?: boolean;
  readonly power_level_content_override?: JsonObject;
}

export interface RoomCreationDeps {
  readonly serverName: string;
  readonly defaultRoomVersion: string;
  readonly roomserver: Roomserver;
  readonly membershipIndex: MembershipIndex;
  readonly membership: MembershipService;
  readonly aliases: AliasService;
  readonly directory: RoomDirectoryService;
  /** invite_3pid's invites (rooms/third-party-invites.ts); refused with M_UNRECOGNIZED when absent. */
  readonly thirdPartyInvites?: ThirdPartyInviteService;
}

/** An initial event with its state key spelt out, so that initial_state's can be matched by it. */
interface StateEvent extends InitialEvent {
  readonly stateKey: string;
}

// create_room.yaml, the preset table.
const PRESETS: Record<Preset, { joinRule: string; historyVisibility: string; guestAccess: string }> = {
  private_chat: { joinRule: "invite", historyVisibility: "shared", guestAccess: "can_join" },
  trusted_private_chat: { joinRule: "invite", historyVisibility: "shared", guestAccess: "can_join" },
  public_chat: { joinRule: "public", historyVisibility: "shared", guestAccess: "forbidden" },
};

const key = (type: string, stateKey: string): string => `${type}\u0000${stateKey}`;

export class RoomCreationService {
  readonly #deps: RoomCreationDeps;

  constructor(deps: RoomCreationDeps) {
    this.#deps = deps;
  }

  async createRoom(requester: Requester, body: CreateRoomBody): Promise<{ roomId: string }> {
    const creator = requester.userId;
    const version = getRoomVersion(body.room_version ?? this.#deps.defaultRoomVersion);
    if (version === undefined) throw new MatrixError("M_UNSUPPORTED_ROOM_VERSION", `Room version ${body.room_version ?? ""} is not supported`, 400);
    // The creator is in the room already: inviting them would only be refused.
    const invitees = [...new Set(body.invite ?? [])].filter((u) => u !== creator);
    for (const userId of invitees) {
      if (parseUserId(userId) === undefined) throw new MatrixError("M_INVALID_PARAM", `${userId} is not a valid user ID`, 400);
    }
    const invites3pid = body.invite_3pid ?? [];
    if (invites3pid.length > 0 && this.#deps.thirdPartyInvites === undefined) throw new MatrixError("M_UNRECOGNIZED", "Third-party invites are not supported here", 400);
    // A malformed invite_3pid is found before the room exists (the identity server's answers only come after).
    for (const invite of invites3pid) ThirdPartyInviteService.check(invite);
    // create_room.yaml 403 M_INVITE_BLOCKED: a user of ours in the invite list who blocks invites
    // is found before the room exists (another server's answer can only come after).
    for (const userId of invitees) await this.#deps.membership.checkInvitable(userId);
    const preset: Preset = body.preset ?? (body.visibility === "public" ? "public_chat" : "private_chat");
    const alias = body.room_alias_name === undefined ? undefined : this.#alias(body.room_alias_name);
    if (alias !== undefined && !(await this.#deps.aliases.isFree(alias))) throw new MatrixError("M_ROOM_IN_USE", `Room alias ${alias} already exists`, 400);
    const initialState = (body.initial_state ?? []).map((e) => ({ type: e.type, stateKey: e.state_key ?? "", content: e.content }));
    const creationContent = this.#creationContent(body, version, preset, invitees);
    const initialLevels = initialState.find((e) => e.type === "m.room.power_levels" && e.stateKey === "");
    const levels: JsonObject = {
      ...(initialLevels?.content ?? defaultPowerLevels(creator, version, preset, invitees)),
      ...(body.power_level_content_override ?? {}),
    };

    // The events after m.room.create, in the spec's order, stored with it in one go: an initial
    // state the rules refuse leaves no half-made room.
    // 2. The creator joins, with their profile.
    const events: InitialEvent[] = [{ type: "m.room.member", stateKey: creator, content: { membership: "join", ...(await this.#deps.membership.profileFields(creator)) } }];

    // 3. m.room.power_levels: initial_state's or the default, with the override on top.
    events.push({ type: "m.room.power_levels", stateKey: "", content: levels });

    // 4. m.room.canonical_alias for room_alias_name.
    if (alias !== undefined) events.push({ type: "m.room.canonical_alias", stateKey: "", content: { alias } });

    // 5. The preset's events, unless initial_state sets them (it "takes precedence").
    const given = new Set(initialState.map((e) => key(e.type, e.stateKey)));
    const p = PRESETS[preset];
    const presetEvents: StateEvent[] = [
      { type: "m.room.join_rules", stateKey: "", content: { join_rule: p.joinRule } },
      { type: "m.room.history_visibility", stateKey: "", content: { history_visibility: p.historyVisibility } },
      { type: "m.room.guest_access", stateKey: "", content: { guest_access: p.guestAccess } },
    ];
    for (const e of presetEvents) {
      if (!given.has(key(e.type, e.stateKey))) events.push(e);
    }

    // 6. initial_state, in order (name and topic are overwritten by 7, so left to it).
    for (const e of initialState) {
      if (e === initialLevels) continue;
      if ((e.type === "m.room.name" && body.name !== undefined) || (e.type === "m.room.topic" && body.topic !== undefined)) continue;
      if (e.type === "m.room.canonical_alias" && e.stateKey === "") {
        // Of all aliases, only room_alias_name's can point to a room that does not exist yet (M_BAD_ALIAS, as for a state event).
        for (const named of canonicalAliasesOf(e.content)) {
          if (named !== alias) throw new MatrixError("M_BAD_ALIAS", `The alias ${named} does not point to this room`, 400);
        }
      }
      events.push(e);
    }

    // 7. name and topic (a text/plain topic, also as the m.topic content block of v1.15).
    if (body.name !== undefined) events.push({ type: "m.room.name", stateKey: "", content: { name: body.name } });
    if (body.topic !== undefined) {
      events.push({ type: "m.room.topic", stateKey: "", content: { topic: body.topic, "m.topic": { "m.text": [{ body: body.topic }] } } });
    }

    // 1-7: m.room.create and the events above.
    let created: { roomId: string; streamOrdering: number | undefined };
    try {
      created = await this.#deps.roomserver.createRoom({ roomVersion: version.id, creator, content: creationContent }, events);
    } catch (err) {
      if (err instanceof MatrixError && err.errcode === "M_FORBIDDEN") {
        throw new MatrixError("M_INVALID_ROOM_STATE", `The initial state is not valid: ${err.message}`, 400);
      }
      throw err;
    }
    const { roomId } = created;
    // The alias was free when checked above; only a creation racing for it can have taken it since.
    if (alias !== undefined) await this.#deps.aliases.createForNewRoom(alias, roomId, creator);
    // Read-your-writes: what the room's state says is in the index before the invites and the answer.
    if (created.streamOrdering !== undefined) await this.#deps.membershipIndex.waitUntil(created.streamOrdering);
    // room_upgrades.md: a room made to replace another (creation_content's predecessor) gets the
    // creator's settings of the old one, as for any user joining it.
    if (isJsonObject(creationContent["predecessor"])) await this.#deps.membership.copySettingsFromPredecessor(creator, roomId);

    // 8. The invites. Another server's M_INVITE_BLOCKED comes only now: the others are still
    // invited and the room published, then the request answers it ("one of the invited users [may
    // be] rejected whilst the room creation as a whole succeeds", modules/invite_permission.md).
    let blocked: MatrixError | undefined;
    for (const invitee of invitees) {
      try {
        await this.#deps.membership.invite(requester, roomId, invitee, { isDirect: body.is_direct === true });
      } catch (err) {
        if (!(err instanceof MatrixError && err.errcode === "M_INVITE_BLOCKED")) throw err;
        blocked ??= err;
      }
    }
    // 8, invite_3pid: an invite of the bound user, or an m.room.third_party_invite, each in turn
    // (client-server-api#third-party-invites). An identity server's refusal is answered once the
    // room is made and published, as a blocked invite is.
    let refused: unknown;
    for (const invite of invites3pid) {
      try {
        await this.#deps.thirdPartyInvites?.invite(requester, roomId, invite, { isDirect: body.is_direct === true });
      } catch (err) {
        refused = err;
        break;
      }
    }

    if (body.visibility === "public") await this.#deps.directory.publish(roomId, true);
    if (refused !== undefined) throw refused;
    if (blocked !== undefined) throw blocked;
    return { roomId };
  }

  #alias(localpart: string): string {
    const alias = `#${localpart}:${this.#deps.serverName}`;
    if (localpart === "" || localpart.includes(":") || /\s/.test(localpart) || parseRoomAlias(alias) === undefined) {
      throw new MatrixError("M_INVALID_PARAM", "room_alias_name is not a valid alias localpart", 400);
    }
    return alias;
  }

  /** creation_content, with trusted_private_chat's invitees as additional creators from v12. */
  #creationContent(body: CreateRoomBody, version: RoomVersion, preset: Preset, invitees: readonly string[]): JsonObject {
    const content: JsonObject = { ...(body.creation_content ?? {}) };
    // "The server will overwrite the following keys: creator, room_version."
    delete content["creator"];
    delete content["room_version"];
    if (!version.privilegedCreators) return content;
    const additional = content["additional_creators"];
    if (additional !== undefined && (!Array.isArray(additional) || !additional.every((u) => typeof u === "string" && parseUserId(u) !== undefined))) {
      throw new MatrixError("M_BAD_JSON", "additional_creators must be a list of user IDs", 400);
    }
    if (preset === "trusted_private_chat" && invitees.length > 0) {
      content["additional_creators"] = [...new Set([...((additional as string[] | undefined) ?? []), ...invitees])];
    }
    return content;
  }
}

/**
 * The default m.room.power_levels of a new room (create_room.yaml step 3): the creator at 100 up
 * to v11 (from v12 creators are above every level and may not be listed), trusted_private_chat's
 * invitees beside them, and from v12 m.room.tombstone above state_default.
 */
export function defaultPowerLevels(creator: string, version: RoomVersion, preset: Preset, invitees: readonly string[]): JsonObject {
  const users: Record<string, JsonValue> = {};
  if (!version.privilegedCreators) {
    users[creator] = 100;
    if (preset === "trusted_private_chat") for (const u of invitees) users[u] = 100;
  }
  return {
    users,
    users_default: 0,
    events: {
      "m.room.name": 50,
      "m.room.power_levels": 100,
      "m.room.history_visibility": 100,
      "m.room.canonical_alias": 50,
      "m.room.avatar": 50,
      "m.room.tombstone": version.privilegedCreators ? 150 : 100,
      "m.room.server_acl": 100,
      "m.room.encryption": 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: 0,
    historical: 100,
  };
}
