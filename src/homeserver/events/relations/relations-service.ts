// GET /relations/{eventId}[/{relType}[/{eventType}]] (relations.yaml, client-server-api
// #relationships-api) and GET /threads (threads_list.yaml, modules/threading.md): read from the
// relations index, every event passed through the visibility rules before it is served.
import type { JsonObject } from "../../../core/json.ts";
import type { Requester } from "../../../http/endpoint.ts";
import type { RelationStore } from "../../../storage/stores/relations.ts";
import type { RoomEventInfo, Roomserver } from "../../roomserver/index.ts";
import { redactedRoomEvent } from "../../roomserver/known-event.ts";
import { encodePaginationToken, type RoomPosition } from "../../sync/token.ts";
import type { RoomAccess } from "../access.ts";
import { servingTo } from "../room-reader.ts";
import type { EventSerializer } from "../serializer.ts";
import { STREAM_START } from "../timeline.ts";
import { relationOf } from "./relation.ts";

export interface RelationsRequest {
  readonly relType: string | undefined;
  readonly eventType: string | undefined;
  readonly from: RoomPosition | undefined;
  /** `from` as given: returned as prev_batch. */
  readonly fromToken: string | undefined;
  readonly to: RoomPosition | undefined;
  readonly dir: "f" | "b";
  readonly limit: number;
  /** undefined: the client did not say (no recursion_depth in the answer). */
  readonly recurse: boolean | undefined;
}

export interface ThreadsRequest {
  readonly include: "all" | "participated";
  readonly limit: number;
  readonly from: RoomPosition | undefined;
}

export interface RelationsServiceDeps {
  readonly store: RelationStore;
  readonly roomserver: Roomserver;
  readonly access: RoomAccess;
  readonly serializer: EventSerializer;
  /** The users a user ignores: their (non-state) events are not served. */
  readonly ignoredUsers: (userId: string) => Promise<ReadonlySet<string>>;
  /** Resolves once the relations index holds every event committed so far (RelationsIndexer.caughtUp). */
  readonly indexed?: () => Promise<void>;
}

/** relations.yaml `recurse`: "Homeservers SHOULD traverse at least 3 levels of relationships." */
export const RECURSION_DEPTH = 3;
/** Index rows read for one page at most, besides those served (hidden children are stepped over). */
const SCAN_BUDGET = 1000;

export class RelationsService {
  readonly #deps: RelationsServiceDeps;

  constructor(deps: RelationsServiceDeps) {
    this.#deps = deps;
  }

  /** The children of a parent the user may see; 404 when the parent is not visible to them. */
  async relations(requester: Requester, roomId: string, parentId: string, request: RelationsRequest): Promise<JsonObject> {
    const { access, store } = this.#deps;
    await access.visibleEvent(requester.userId, roomId, parentId);
    await this.#deps.indexed?.();
    const depth = request.recurse === true ? RECURSION_DEPTH : 1;
    const ignored = await this.#deps.ignoredUsers(requester.userId);
    // From the start of the stream, backfilled children (below zero) included.
    let after = request.dir === "f" ? (request.from?.stream ?? STREAM_START) : (request.to?.stream ?? STREAM_START);
    let upTo = request.dir === "f" ? request.to?.stream : request.from?.stream;
    const chunk: RoomEventInfo[] = [];
    let next: number | undefined;
    let read = 0;
    while (chunk.length < request.limit && read < SCAN_BUDGET + request.limit) {
      const pageSize = Math.min(200, Math.max(10, (request.limit - chunk.length) * 2));
      const rows = await store.children({
        roomId,
        parentId,
        ...(request.relType === undefined ? {} : { relType: request.relType }),
        ...(request.eventType === undefined ? {} : { eventType: request.eventType }),
        after,
        ...(upTo === undefined ? {} : { upTo }),
        dir: request.dir,
        limit: pageSize,
        depth,
      });
      // modules/ignore_users.md: an ignored user's events are not served, state events excepted.
      const loaded = (await this.#load(rows.map((r) => r.eventId))).filter((e) => e.event.stateKey !== undefined || !ignored.has(e.event.sender));
      const visible = new Map((await access.visibility.filterEventsForUser(requester.userId, loaded)).map((e) => [e.event.eventId, e]));
      next = undefined;
      for (const [index, row] of rows.entries()) {
        read++;
        const event = visible.get(row.eventId);
        if (event !== undefined) chunk.push(event);
        const position = request.dir === "b" ? row.streamOrdering - 1 : row.streamOrdering;
        if (chunk.length >= request.limit) {
          // More may follow unless this was the last row of a short page.
          if (!(index === rows.length - 1 && rows.length < pageSize)) next = position;
          break;
        }
        if (index === rows.length - 1 && rows.length === pageSize) next = position;
      }
      if (next === undefined || chunk.length >= request.limit) break;
      if (request.dir === "f") after = next;
      else upTo = next;
    }
    const response: JsonObject = {
      chunk: await this.#deps.serializer.serialize(chunk, { ...servingTo(requester), bundleAggregations: true, includeMembership: true }),
    };
    if (next !== undefined) response["next_batch"] = encodePaginationToken({ topological: 0, stream: next });
    if (request.fromToken !== undefined) response["prev_batch"] = request.fromToken;
    if (request.recurse !== undefined) response["recursion_depth"] = depth;
    return response;
  }

  /** The thread roots of a room the user may see, latest activity first. */
  async threads(requester: Requester, roomId: string, request: ThreadsRequest): Promise<JsonObject> {
    const { access, store } = this.#deps;
    const { upTo: readable } = await access.readableUpTo(requester.userId, roomId);
    await this.#deps.indexed?.();
    let upTo = request.from?.stream ?? readable;
    if (readable !== undefined && upTo !== undefined) upTo = Math.min(upTo, readable);
    const participant = request.include === "participated" ? requester.userId : undefined;
    const roots: RoomEventInfo[] = [];
    let next: number | undefined;
    let read = 0;
    while (roots.length < request.limit && read < SCAN_BUDGET + request.limit) {
      const pageSize = Math.min(200, Math.max(10, (request.limit - roots.length) * 2));
      const threads = await store.threads(roomId, { upTo, limit: pageSize, participant });
      // A root must be in the room and not itself a child (modules/threading.md), and visible.
      const candidates = (await this.#load(threads.map((t) => t.threadId))).filter(
        (root) => root.event.roomId === roomId && root.event.stateKey === undefined && relationOf(root.event.content) === undefined,
      );
      const visible = new Map((await access.visibility.filterEventsForUser(requester.userId, candidates)).map((e) => [e.event.eventId, e]));
      next = undefined;
      for (const [index, thread] of threads.entries()) {
        read++;
        const root = visible.get(thread.threadId);
        if (root !== undefined) roots.push(root);
        const position = thread.latestStreamOrdering - 1;
        if (roots.length >= request.limit) {
          if (!(index === threads.length - 1 && threads.length < pageSize)) next = position;
          break;
        }
        if (index === threads.length - 1 && threads.length === pageSize) next = position;
      }
      if (next === undefined || roots.length >= request.limit) break;
      upTo = next;
    }
    // threads_list.yaml: "If the thread root event was sent by an ignored user, the event is
    // returned redacted to the caller."
    const ignored = await this.#deps.ignoredUsers(requester.userId);
    const served = roots.map((root) =>
      ignored.has(root.event.sender) && root.redactedBy === undefined ? { ...root, event: redactedRoomEvent(root.event) } : root,
    );
    const response: JsonObject = {
      chunk: await this.#deps.serializer.serialize(served, { ...servingTo(requester), bundleAggregations: true, includeMembership: true }),
    };
    if (next !== undefined) response["next_batch"] = encodePaginationToken({ topological: 0, stream: next });
    return response;
  }

  async #load(ids: readonly string[]): Promise<RoomEventInfo[]> {
    const infos = await Promise.all(ids.map((id) => this.#deps.roomserver.getEvent(id)));
    return infos.filter((info): info is RoomEventInfo => info !== undefined);
  }
}
