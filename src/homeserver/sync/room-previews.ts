// Room previews (modules/room_previews.md): looking into a room without joining it, "implemented via
// the world_readable Room History Visibility setting", with GET /rooms/{roomId}/initialSync
// (room_initial_sync.yaml) and then the peeking GET /events (peeking_events.yaml), which
// long-polls for the room's new events. Members may use both as well, and guests (modules/guest_access.md
// lists both). Which events are served is the history visibility rules' to say, as everywhere events
// are read: for a user who is not in the room, only those of world_readable history.
import { MatrixError } from "../../core/errors.ts";
import type { JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { RoomAccess } from "../events/access.ts";
import type { MessagesService } from "../events/messages.ts";
import { scanTimeline } from "../events/paginate.ts";
import { servingTo, type RoomReader } from "../events/room-reader.ts";
import type { EventSerializer } from "../events/serializer.ts";
import type { Timeline } from "../events/timeline.ts";
import { systemClock, type Clock } from "./clock.ts";
import type { Notifier } from "./notifier.ts";
import { encodePaginationToken, type RoomPosition, type StreamPositions } from "./token.ts";

/** The most events one answer of GET /events carries; the client asks again from its `end`. */
export const PEEK_CHUNK_LIMIT = 100;

/** room_initial_sync.yaml `membership`: the memberships it names. */
const MEMBERSHIPS: ReadonlySet<string> = new Set(["invite", "join", "leave", "ban"]);

export interface RoomPreviewDeps {
  readonly access: RoomAccess;
  readonly reader: RoomReader;
  readonly timeline: Timeline;
  readonly messages: MessagesService;
  readonly serializer: EventSerializer;
  readonly notifier: Notifier;
  /** Every stream's position now: what is readable and announced. */
  positions(): StreamPositions;
  /** Whether the room is published in the room directory. */
  directoryVisibility(roomId: string): Promise<"public" | "private">;
  /** The user's account data in the room. */
  roomAccountData(userId: string, roomId: string): Promise<{ type: string; content: JsonObject }[]>;
  /** The users a user ignores: their (non-state) events are not served. */
  ignoredUsers(userId: string): Promise<ReadonlySet<string>>;
  readonly clock?: Clock;
}

export interface PeekRequest {
  /** Where the stream starts: undefined for "now". */
  readonly from: RoomPosition | undefined;
  /** `from` as the client gave it, answered back as `start`. */
  readonly fromToken: string | undefined;
  readonly timeoutMs: number;
}

export class RoomPreviews {
  readonly #deps: RoomPreviewDeps;
  readonly #clock: Clock;

  constructor(deps: RoomPreviewDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
  }

  /**
   * GET /rooms/{roomId}/initialSync: the room's current state and latest events for members and
   * for those who may see it now (world_readable), the room as it was when they left for former
   * members (room_initial_sync.yaml), 403 M_FORBIDDEN for anyone else.
   */
  async initialSync(requester: Requester, roomId: string, limit: number): Promise<JsonObject> {
    const { access, messages, reader } = this.#deps;
    // The state GET /state serves, with its 403 for those who may not look.
    const state = await reader.state(requester, roomId);
    // The latest events, newest first from /messages (which stops a former member at their leave).
    const page = await messages.messages(requester, roomId, { from: undefined, fromToken: undefined, to: undefined, dir: "b", limit, filter: undefined });
    const newestFirst = page["chunk"] as JsonObject[];
    const response: JsonObject = {
      room_id: roomId,
      messages: {
        chunk: [...newestFirst].reverse(),
        // "start: ... Can be passed to /messages to retrieve earlier events. If no earlier events
        // are available, this property may be omitted"; `end` is where GET /events goes on from.
        ...(page["end"] === undefined ? {} : { start: page["end"] }),
        end: page["start"] as string,
      },
      state,
      visibility: await this.#deps.directoryVisibility(roomId),
      account_data: await this.#deps.roomAccountData(requester.userId, roomId),
    };
    const membership = await access.membershipOf(roomId, requester.userId);
    if (membership !== undefined && MEMBERSHIPS.has(membership)) response["membership"] = membership;
    return response;
  }

  /**
   * GET /events?room_id=: the room's events after `from` that the user may see, waiting up to the
   * timeout for some. For members and for those who may see the room now; a former member has
   * nothing new to see (403 M_FORBIDDEN, as for anyone else).
   */
  async peek(requester: Requester, roomId: string, request: PeekRequest, signal?: AbortSignal): Promise<JsonObject> {
    const { access, notifier, timeline } = this.#deps;
    const { userId } = requester;
    const { upTo: readable } = await access.readableUpTo(userId, roomId);
    if (readable !== undefined) throw new MatrixError("M_FORBIDDEN", "You can't peek into this room", 403);
    let after = request.from?.stream ?? this.#deps.positions().roomEvents;
    const start = request.fromToken ?? token(after);
    const ignored = await this.#deps.ignoredUsers(userId);
    const deadline = this.#clock.now() + Math.max(0, request.timeoutMs);
    for (;;) {
      // Read only up to what the notifier has announced, so that nothing after it is skipped.
      const positions = this.#deps.positions();
      if (positions.roomEvents > after) {
        const scan = await scanTimeline(timeline, access.visibility, { userId, roomId, after, upTo: positions.roomEvents, dir: "f", limit: PEEK_CHUNK_LIMIT, ignored, filter: undefined });
        after = scan.exhausted || scan.last === undefined ? positions.roomEvents : scan.last.streamOrdering;
        if (scan.events.length > 0) {
          const chunk = await this.#deps.serializer.serialize(scan.events, { ...servingTo(requester), bundleAggregations: true, includeMembership: true });
          return { start, end: token(after), chunk };
        }
      }
      const remaining = deadline - this.#clock.now();
      if (remaining <= 0 || signal?.aborted === true) return { start, end: token(after), chunk: [] };
      const reason = await notifier.waitForChanges(userId, [roomId], { ...positions, roomEvents: after }, remaining, signal);
      if (reason !== "changed") return { start, end: token(after), chunk: [] };
    }
  }
}

/** A position in the room stream as the pagination token /messages takes too. */
function token(stream: number): string {
  return encodePaginationToken({ topological: 0, stream });
}
