// Reading single events, state and members (rooms.yaml): GET /event/{eventId}, GET /state,
// GET /state/{eventType}/{stateKey}, GET /members and GET /joined_members. Members read the current
// state, former members the state when they left (rooms.yaml), others get M_FORBIDDEN.
import { MatrixError } from "../../core/errors.ts";
import { stateMapKey, type StateMap } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { RoomEventInfo, Roomserver } from "../roomserver/index.ts";
import type { RoomPosition } from "../sync/token.ts";
import { notInRoom, type RoomAccess } from "./access.ts";
import type { EventSerializer } from "./serializer.ts";
import { STREAM_START, type Timeline } from "./timeline.ts";

export type Membership = "join" | "invite" | "knock" | "leave" | "ban";

export interface MembersRequest {
  /** A point in the room's history (rooms.yaml `at`): the members then. */
  readonly at: RoomPosition | undefined;
  readonly membership: Membership | undefined;
  readonly notMembership: Membership | undefined;
}

export interface RoomReaderDeps {
  readonly roomserver: Roomserver;
  readonly access: RoomAccess;
  readonly serializer: EventSerializer;
  readonly timeline: Timeline;
}

const MEMBER_PREFIX = stateMapKey("m.room.member", "");

export class RoomReader {
  readonly #deps: RoomReaderDeps;

  constructor(deps: RoomReaderDeps) {
    this.#deps = deps;
  }

  /** GET /rooms/{roomId}/event/{eventId}: 404 M_NOT_FOUND for what the user may not see. */
  async event(requester: Requester, roomId: string, eventId: string): Promise<JsonObject> {
    const info = await this.#deps.access.visibleEvent(requester.userId, roomId, eventId);
    return await this.#deps.serializer.serializeOne(info, { ...servingTo(requester), bundleAggregations: true, includeMembership: true });
  }

  /** GET /rooms/{roomId}/state. */
  async state(requester: Requester, roomId: string): Promise<JsonObject[]> {
    const state = await this.#readableState(requester.userId, roomId);
    return await this.#deps.serializer.serialize(await this.#load([...state.values()]), servingTo(requester));
  }

  /** GET /rooms/{roomId}/state/{eventType}/{stateKey}: the content, or with format=event the event. */
  async stateEvent(requester: Requester, roomId: string, eventType: string, stateKey: string, format: "content" | "event"): Promise<JsonObject> {
    const state = await this.#readableState(requester.userId, roomId);
    const id = state.get(stateMapKey(eventType, stateKey));
    const [info] = id === undefined ? [] : await this.#load([id]);
    if (info === undefined) throw new MatrixError("M_NOT_FOUND", `The room has no state ${eventType} with key '${stateKey}'`, 404);
    if (format === "content") return info.event.content;
    return await this.#deps.serializer.serializeOne(info, servingTo(requester));
  }

  /** GET /rooms/{roomId}/members. */
  async members(requester: Requester, roomId: string, request: MembersRequest): Promise<JsonObject> {
    const view = await this.#deps.access.stateView(requester.userId, roomId);
    // A former member sees the members as they were when they left, however late `at` is.
    let at = request.at?.stream;
    if (view.kind === "left" && view.streamOrdering !== undefined) at = Math.min(at ?? view.streamOrdering, view.streamOrdering);
    let state: StateMap | undefined;
    if (at !== undefined) {
      const [last] = await this.#deps.timeline.entriesBetween(roomId, STREAM_START, at, 1, "b");
      state = last === undefined ? new Map() : await this.#deps.roomserver.stateAt(last.eventId, "after");
    } else {
      state = view.kind === "current" ? await this.#deps.roomserver.currentState(roomId) : await this.#deps.roomserver.stateAt(view.eventId, "after");
    }
    const memberIds = [...(state ?? new Map<string, string>())].filter(([key]) => key.startsWith(MEMBER_PREFIX)).map(([, id]) => id);
    const members = (await this.#load(memberIds)).filter((m) => membershipMatches(m.event.content["membership"], request));
    return { chunk: await this.#deps.serializer.serialize(members, servingTo(requester)) };
  }

  /** GET /rooms/{roomId}/joined_members: for members of the room only. */
  async joinedMembers(requester: Requester, roomId: string): Promise<JsonObject> {
    const state = await this.#deps.roomserver.currentState(roomId);
    if (state === undefined) throw notInRoom();
    const memberIds = [...state].filter(([key]) => key.startsWith(MEMBER_PREFIX)).map(([, id]) => id);
    const joined = (await this.#load(memberIds)).filter((m) => m.event.content["membership"] === "join");
    if (!joined.some((m) => m.event.stateKey === requester.userId)) throw notInRoom();
    const out: JsonObject = {};
    for (const member of joined) {
      const { displayname, avatar_url } = member.event.content;
      const entry: JsonObject = {};
      if (typeof displayname === "string") entry["display_name"] = displayname;
      if (typeof avatar_url === "string") entry["avatar_url"] = avatar_url;
      out[member.event.stateKey as string] = entry;
    }
    return { joined: out };
  }

  async #readableState(userId: string, roomId: string): Promise<StateMap> {
    const view = await this.#deps.access.stateView(userId, roomId);
    const state = view.kind === "current" ? await this.#deps.roomserver.currentState(roomId) : await this.#deps.roomserver.stateAt(view.eventId, "after");
    if (state === undefined) throw notInRoom();
    return state;
  }

  async #load(ids: readonly string[]): Promise<RoomEventInfo[]> {
    const infos = await Promise.all(ids.map((id) => this.#deps.roomserver.getEvent(id)));
    return infos.filter((info): info is RoomEventInfo => info !== undefined);
  }
}

/** The requester as the serializer takes it. */
export function servingTo(requester: Requester): { userId: string; deviceId?: string } {
  return requester.deviceId === undefined ? { userId: requester.userId } : { userId: requester.userId, deviceId: requester.deviceId };
}

// rooms.yaml: with both given, "the two parameters create an 'or' condition: either the membership
// *is* the same as `membership` **or** *is not* the same as `not_membership`".
function membershipMatches(membership: unknown, request: MembersRequest): boolean {
  const is = request.membership !== undefined && membership === request.membership;
  const isNot = request.notMembership !== undefined && membership !== request.notMembership;
  if (request.membership !== undefined && request.notMembership !== undefined) return is || isNot;
  if (request.membership !== undefined) return is;
  if (request.notMembership !== undefined) return isNot;
  return true;
}
