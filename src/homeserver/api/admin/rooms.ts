// The rooms at Synapse's admin API, so that its admin tools show Weft's rooms: pages of every room
// stored here, searched, filtered and ordered as Synapse does; one room with its topic, avatar and
// local devices; a room's members; a room's state; blocking a room (rooms/room-blocks.ts), known
// here or not; and joining a user of ours to a room. Server admins only.
//
// Synapse keeps a table of room statistics for the list; here each room's facts are read from its
// current state and the membership index when asked, so a list reads every room: fine for the
// hundreds or thousands of rooms of most servers, slow past that.
import { MatrixError } from "../../../core/errors.ts";
import { parseRoomId, serverNameOf } from "../../../core/identifiers/index.ts";
import type { JsonObject } from "../../../core/json.ts";
import { actingAs, type Endpoint, type MatrixRequest } from "../../../http/endpoint.ts";
import type { RoomDirectoryService } from "../../rooms/directory.ts";
import type { MembershipIndex } from "../../rooms/membership-index.ts";
import type { MembershipService } from "../../rooms/membership-service.ts";
import type { RoomBlocks } from "../../rooms/room-blocks.ts";
import type { RoomState, RoomStateReader } from "../../rooms/room-state.ts";
import type { RoomEventInfo } from "../../roomserver/index.ts";
import { directionParam, limitParam, pathParam } from "../client/event-params.ts";
import { queryParam, requesterOf } from "../client/requester.ts";
import { adminPageLimit, booleanParam, localUserIdOf, orderParam } from "./admin-params.ts";
import { requireAdmin, type IsAdmin } from "./require-admin.ts";

export interface RoomAdminSources {
  readonly serverName: string;
  readonly states: RoomStateReader;
  readonly directory: Pick<RoomDirectoryService, "isPublished">;
  readonly membershipIndex: Pick<MembershipIndex, "joinedMembers">;
  /** Every room whose state is stored here. */
  readonly roomIds: () => Promise<string[]>;
  readonly getEvent: (eventId: string) => Promise<RoomEventInfo | undefined>;
  /** Events in the client-server format. */
  readonly serialize: (events: readonly RoomEventInfo[]) => Promise<JsonObject[]>;
  readonly blocks: RoomBlocks;
  readonly membership: Pick<MembershipService, "join" | "invite">;
  /** Whether the user has an account here (deactivated ones included). */
  readonly userExists: (userId: string) => Promise<boolean>;
  /** How many devices a user of ours has. */
  readonly deviceCount: (userId: string) => Promise<number>;
  readonly isAdmin: IsAdmin;
}

/** What the list says of a room (Synapse's admin API's room). */
interface RoomFacts {
  readonly room_id: string;
  readonly name: string | null;
  readonly canonical_alias: string | null;
  readonly joined_members: number;
  readonly joined_local_members: number;
  readonly version: string;
  readonly creator: string | null;
  readonly encryption: string | null;
  readonly federatable: boolean;
  readonly public: boolean;
  readonly join_rules: string | null;
  readonly guest_access: string | null;
  readonly history_visibility: string | null;
  readonly state_events: number;
  readonly room_type: string | null;
}

type OrderKey = Exclude<keyof RoomFacts, "room_id" | "room_type">;

/** Synapse's orders: the counts largest first, the rest ascending; `dir=b` turns either round. */
const ORDERS: ReadonlyMap<string, { key: OrderKey; largestFirst: boolean }> = new Map([
  ["name", { key: "name", largestFirst: false }],
  ["alphabetical", { key: "name", largestFirst: false }],
  ["canonical_alias", { key: "canonical_alias", largestFirst: false }],
  ["joined_members", { key: "joined_members", largestFirst: true }],
  ["size", { key: "joined_members", largestFirst: true }],
  ["joined_local_members", { key: "joined_local_members", largestFirst: true }],
  ["state_events", { key: "state_events", largestFirst: true }],
  ["version", { key: "version", largestFirst: false }],
  ["creator", { key: "creator", largestFirst: false }],
  ["encryption", { key: "encryption", largestFirst: false }],
  ["federatable", { key: "federatable", largestFirst: false }],
  ["public", { key: "public", largestFirst: false }],
  ["join_rules", { key: "join_rules", largestFirst: false }],
  ["guest_access", { key: "guest_access", largestFirst: false }],
  ["history_visibility", { key: "history_visibility", largestFirst: false }],
]);

export function roomAdminEndpoints(sources: RoomAdminSources): Endpoint[] {
  const { isAdmin } = sources;

  const list: Endpoint = {
    name: "admin.list_rooms",
    method: "GET",
    paths: ["/_synapse/admin/v1/rooms"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const offset = limitParam(req, 0, Number.MAX_SAFE_INTEGER, "from");
      const limit = adminPageLimit(req);
      const order = ORDERS.get(orderParam(req, ORDERS, "name")) as { key: OrderKey; largestFirst: boolean };
      const reversed = directionParam(req, "f") === "b";
      const search = queryParam(req, "search_term")?.toLowerCase();
      const publicOnly = booleanParam(req, "public_rooms");
      const emptyOnly = booleanParam(req, "empty_rooms");

      let rooms: RoomFacts[] = [];
      for (const roomId of await sources.roomIds()) {
        const state = await sources.states.current(roomId);
        if (state !== undefined) rooms.push(await roomFacts(sources, state));
      }
      if (search !== undefined && search !== "") {
        // Synapse: in the name, the canonical alias or the room ID.
        rooms = rooms.filter((r) => [r.name, r.canonical_alias, r.room_id].some((text) => text?.toLowerCase().includes(search) === true));
      }
      if (publicOnly !== undefined) rooms = rooms.filter((r) => r.public === publicOnly);
      if (emptyOnly !== undefined) rooms = rooms.filter((r) => (r.joined_members === 0) === emptyOnly);
      const sign = (order.largestFirst ? -1 : 1) * (reversed ? -1 : 1);
      rooms.sort((a, b) => sign * compareValues(a[order.key], b[order.key]) || (a.room_id < b.room_id ? -1 : a.room_id > b.room_id ? 1 : 0));

      const page = rooms.slice(offset, offset + limit);
      const out: JsonObject = { rooms: page.map((r) => ({ ...r })), offset, total_rooms: rooms.length };
      if (offset + page.length < rooms.length) out["next_batch"] = offset + page.length;
      if (offset > 0) out["prev_batch"] = Math.max(0, offset - limit);
      return out;
    },
  };

  const get: Endpoint = {
    name: "admin.room",
    method: "GET",
    paths: ["/_synapse/admin/v1/rooms/:roomId"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const state = await roomState(sources, req);
      const facts = await roomFacts(sources, state);
      const localMembers = (await sources.membershipIndex.joinedMembers(state.roomId)).filter((userId) => serverNameOf(userId) === sources.serverName);
      let devices = 0;
      for (const userId of localMembers) devices += await sources.deviceCount(userId);
      return {
        ...facts,
        topic: (await state.stringField("m.room.topic", "topic")) ?? null,
        avatar: (await state.stringField("m.room.avatar", "url")) ?? null,
        joined_local_devices: devices,
        forgotten: false,
      };
    },
  };

  const members: Endpoint = {
    name: "admin.room_members",
    method: "GET",
    paths: ["/_synapse/admin/v1/rooms/:roomId/members"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const state = await roomState(sources, req);
      const joined = await sources.membershipIndex.joinedMembers(state.roomId);
      return { members: joined, total: joined.length };
    },
  };

  const stateOf: Endpoint = {
    name: "admin.room_state",
    method: "GET",
    paths: ["/_synapse/admin/v1/rooms/:roomId/state"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const state = await roomState(sources, req);
      const events: RoomEventInfo[] = [];
      for (const eventId of state.map.values()) {
        const info = await sources.getEvent(eventId);
        if (info !== undefined) events.push(info);
      }
      return { state: await sources.serialize(events) };
    },
  };

  const getBlock: Endpoint = {
    name: "admin.room_block",
    method: "GET",
    paths: ["/_synapse/admin/v1/rooms/:roomId/block"],
    resource: "client",
    auth: "accessToken",
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const by = sources.blocks.blockedBy(roomIdParam(req));
      const out: JsonObject = { block: by !== undefined };
      if (by !== undefined) out["user_id"] = by;
      return out;
    },
  };

  const setBlock: Endpoint<JsonObject> = {
    name: "admin.set_room_block",
    method: "PUT",
    paths: ["/_synapse/admin/v1/rooms/:roomId/block"],
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", required: ["block"], properties: { block: { type: "boolean" } } },
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const block = req.body["block"] as boolean;
      await sources.blocks.set(roomIdParam(req), block, requesterOf(req).userId);
      return { block };
    },
  };

  const join: Endpoint<JsonObject> = {
    name: "admin.join_user",
    method: "POST",
    paths: ["/_synapse/admin/v1/join/:roomIdOrAlias"],
    resource: "client",
    auth: "accessToken",
    schema: { type: "object", required: ["user_id"], properties: { user_id: { type: "string" } } },
    handler: async (req) => {
      await requireAdmin(req, isAdmin);
      const userId = localUserIdOf(req.body["user_id"] as string, sources.serverName);
      if (!(await sources.userExists(userId))) throw new MatrixError("M_NOT_FOUND", "User not found", 404);
      const roomIdOrAlias = pathParam(req, "roomIdOrAlias");
      const user = actingAs(userId);
      try {
        return { room_id: (await sources.membership.join(user, roomIdOrAlias)).roomId };
      } catch (err) {
        // A room (named by its ID) the user may not join by themself, invite only or restricted: as
        // Synapse, the admin invites them first, which takes the admin's membership and power there.
        if (!(err instanceof MatrixError) || err.errcode !== "M_FORBIDDEN" || parseRoomId(roomIdOrAlias) === undefined) throw err;
        if ((await sources.states.current(roomIdOrAlias)) === undefined) throw err;
        await sources.membership.invite(requesterOf(req), roomIdOrAlias, userId);
        return { room_id: (await sources.membership.join(user, roomIdOrAlias)).roomId };
      }
    },
  };

  return [list, get, members, stateOf, getBlock, setBlock as Endpoint, join as Endpoint];
}

/** The path's room ID, which need not be known here (a room may be blocked beforehand). */
function roomIdParam(req: MatrixRequest): string {
  const roomId = pathParam(req, "roomId");
  if (parseRoomId(roomId) === undefined) throw new MatrixError("M_INVALID_PARAM", "Not a room ID", 400);
  return roomId;
}

/** The current state of the path's room; 404 for a room not stored here. */
async function roomState(sources: RoomAdminSources, req: MatrixRequest): Promise<RoomState> {
  const state = await sources.states.current(pathParam(req, "roomId"));
  if (state === undefined) throw new MatrixError("M_NOT_FOUND", "Room not found", 404);
  return state;
}

async function roomFacts(sources: RoomAdminSources, state: RoomState): Promise<RoomFacts> {
  const joined = await sources.membershipIndex.joinedMembers(state.roomId);
  const create = await state.event("m.room.create");
  // rooms/v11.md: the creator is the create event's sender; before, content.creator said so too.
  const creator = typeof create?.content["creator"] === "string" ? create.content["creator"] : (create?.sender ?? null);
  const roomType = create?.content["type"];
  return {
    room_id: state.roomId,
    name: (await state.stringField("m.room.name", "name")) ?? null,
    canonical_alias: (await state.stringField("m.room.canonical_alias", "alias")) ?? null,
    joined_members: joined.length,
    joined_local_members: joined.filter((userId) => serverNameOf(userId) === sources.serverName).length,
    version: state.version.id,
    creator,
    encryption: (await state.stringField("m.room.encryption", "algorithm")) ?? null,
    // client-server-api#mroomcreate: m.federate defaults to true.
    federatable: create?.content["m.federate"] !== false,
    public: await sources.directory.isPublished(state.roomId),
    join_rules: (await state.stringField("m.room.join_rules", "join_rule")) ?? null,
    guest_access: (await state.stringField("m.room.guest_access", "guest_access")) ?? null,
    history_visibility: (await state.stringField("m.room.history_visibility", "history_visibility")) ?? null,
    state_events: state.map.size,
    room_type: typeof roomType === "string" ? roomType : null,
  };
}

/** Ascending order of one fact: nulls last, then numbers, booleans (false first) and strings as such. */
function compareValues(a: string | number | boolean | null, b: string | number | boolean | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}
