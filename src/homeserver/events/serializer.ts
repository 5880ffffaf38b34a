// Serving events to a client: gathers, in batches, what client-event.ts puts beside each event
// (the sending device's transaction ID, the redaction, the replaced state, the user's membership,
// bundled aggregations) and formats them. Every endpoint that serves room events, /sync included,
// goes through here.
import { stateMapKey } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";
import { packedFilter, packedMap } from "../../core/packed-map.ts";
import type { TransactionStore } from "../../storage/stores/transactions.ts";
import type { RoomEventInfo, Roomserver } from "../roomserver/index.ts";
import type { EventVisibility } from "./access.ts";
import { toClientEvent, type ReplacedState } from "./client-event.ts";
import type { Aggregator, BundledRelations } from "./relations/aggregations.ts";
import type { StateLookup } from "./state-lookup.ts";

export interface SerializeOptions {
  /** The requesting user: prev_content and aggregations as they may see them. */
  readonly userId?: string;
  /** The requesting device: its own events carry their transaction IDs. */
  readonly deviceId?: string;
  readonly format?: "client" | "federation";
  /** Add unsigned.m.relations (the endpoints of client-server-api#aggregations-of-child-events). */
  readonly bundleAggregations?: boolean;
  /** Add unsigned.membership: the user's membership at each event (client_event.yaml). */
  readonly includeMembership?: boolean;
  readonly withoutRoomId?: boolean;
}

export interface SerializerDeps {
  readonly roomserver: Roomserver;
  readonly transactions: TransactionStore;
  readonly stateLookup: StateLookup;
  readonly aggregator: Aggregator;
  readonly visibility: EventVisibility;
  readonly now: () => number;
}

export class EventSerializer {
  readonly #deps: SerializerDeps;

  constructor(deps: SerializerDeps) {
    this.#deps = deps;
  }

  /** The events as served to the user, in their order. */
  async serialize(events: readonly RoomEventInfo[], options: SerializeOptions = {}): Promise<JsonObject[]> {
    return await this.#serialize(events, options, true);
  }

  /** One event as served. */
  async serializeOne(event: RoomEventInfo, options: SerializeOptions = {}): Promise<JsonObject> {
    const [out] = await this.serialize([event], options);
    return out as JsonObject;
  }

  /**
   * The bundled aggregations (unsigned.m.relations) of these events as the user may see them:
   * event ID -> the m.relations object, for the events that have some.
   */
  async bundleAggregations(userId: string, events: readonly RoomEventInfo[], options: SerializeOptions = {}): Promise<Map<string, JsonObject>> {
    const bundles = await this.#deps.aggregator.bundle(userId, events);
    return await this.#formatBundles(bundles, { ...options, userId }, true);
  }

  async #serialize(events: readonly RoomEventInfo[], options: SerializeOptions, canNest: boolean): Promise<JsonObject[]> {
    if (events.length === 0) return [];
    const { userId, deviceId } = options;
    const now = this.#deps.now();
    const [transactionIds, redactions, replaced, memberships, aggregations] = await Promise.all([
      userId !== undefined && deviceId !== undefined
        ? this.#deps.transactions.transactionIdsFor(packedMap(packedFilter(events, (e) => e.event.sender === userId), (e) => e.event.eventId), userId, deviceId)
        : new Map<string, string>(),
      this.#redactions(events, now, options),
      this.#replacedState(events, userId),
      options.includeMembership === true && userId !== undefined ? this.#memberships(events, userId) : new Map<string, string>(),
      options.bundleAggregations === true && userId !== undefined
        ? this.#deps.aggregator.bundle(userId, events).then((b) => this.#formatBundles(b, options, canNest))
        : new Map<string, JsonObject>(),
    ]);
    return events.map((info) => {
      const id = info.event.eventId;
      const transactionId = transactionIds.get(id);
      const redactedBecause = info.redactedBy === undefined ? undefined : redactions.get(info.redactedBy);
      const replacesState = replaced.get(id);
      const membership = memberships.get(id);
      const bundled = aggregations.get(id);
      return toClientEvent(info, {
        now,
        format: options.format ?? "client",
        ...(transactionId === undefined ? {} : { transactionId }),
        ...(redactedBecause === undefined ? {} : { redactedBecause }),
        ...(replacesState === undefined ? {} : { replacesState }),
        ...(membership === undefined ? {} : { membership }),
        ...(bundled === undefined ? {} : { aggregations: bundled }),
        ...(options.withoutRoomId === true ? { withoutRoomId: true } : {}),
      });
    });
  }

  // client-server-api#redactions: "a copy of the m.room.redaction event under unsigned as redacted_because".
  async #redactions(events: readonly RoomEventInfo[], now: number, options: SerializeOptions): Promise<Map<string, JsonObject>> {
    const ids = [...new Set(events.flatMap((e) => (e.redactedBy === undefined ? [] : [e.redactedBy])))];
    const out = new Map<string, JsonObject>();
    for (const redaction of await this.#load(ids)) {
      out.set(redaction.event.eventId, toClientEvent(redaction, { now, format: options.format ?? "client", withoutRoomId: options.withoutRoomId === true }));
    }
    return out;
  }

  // client_event.yaml: replaces_state always, prev_content only "if the client has permission to
  // see the previous event".
  async #replacedState(events: readonly RoomEventInfo[], userId: string | undefined): Promise<Map<string, ReplacedState>> {
    const wanted = new Map<string, string[]>();
    for (const e of events) {
      if (e.event.stateKey !== undefined) wanted.set(e.event.eventId, [stateMapKey(e.event.type, e.event.stateKey)]);
    }
    const out = new Map<string, ReplacedState>();
    if (wanted.size === 0) return out;
    const before = await this.#deps.stateLookup.at(wanted, "before");
    const replacedIds = new Map<string, string>();
    for (const [eventId, keys] of wanted) {
      const id = before.get(eventId)?.get(keys[0] as string);
      if (id !== undefined) replacedIds.set(eventId, id);
    }
    let previous = await this.#load([...new Set(replacedIds.values())]);
    if (userId !== undefined) previous = await this.#deps.visibility.filterEventsForUser(userId, previous);
    const contentOf = new Map(previous.map((p) => [p.event.eventId, p.event.content]));
    for (const [eventId, replacedId] of replacedIds) out.set(eventId, { eventId: replacedId, content: contentOf.get(replacedId) });
    return out;
  }

  // client_event.yaml `membership`: the user's membership after the event; `leave` when they had none.
  async #memberships(events: readonly RoomEventInfo[], userId: string): Promise<Map<string, string>> {
    const key = stateMapKey("m.room.member", userId);
    const wanted = new Map(events.map((e) => [e.event.eventId, [key]]));
    const after = await this.#deps.stateLookup.at(wanted, "after");
    const memberIds = new Set([...after.values()].flatMap((m) => m.get(key) ?? []));
    const memberships = new Map((await this.#load([...memberIds])).map((m) => [m.event.eventId, m.event.content["membership"]]));
    const out = new Map<string, string>();
    for (const e of events) {
      const memberId = after.get(e.event.eventId)?.get(key);
      const membership = memberId === undefined ? undefined : memberships.get(memberId);
      out.set(e.event.eventId, typeof membership === "string" ? membership : "leave");
    }
    return out;
  }

  // The aggregation formats: m.replace the edit "formatted as normal", m.thread with latest_event
  // "serialized in the same form as the event itself" and its own aggregations, m.reference a chunk.
  async #formatBundles(bundles: ReadonlyMap<string, BundledRelations>, options: SerializeOptions, canNest: boolean): Promise<Map<string, JsonObject>> {
    const out = new Map<string, JsonObject>();
    if (bundles.size === 0) return out;
    const edits = [...bundles.values()].flatMap((b) => (b.replace === undefined ? [] : [b.replace]));
    const latest = [...bundles.values()].flatMap((b) => (b.thread === undefined ? [] : [b.thread.latest]));
    const plain: SerializeOptions = { ...options, bundleAggregations: false };
    // One level down only: a thread's latest event gets its own aggregations, theirs do not.
    const [editJson, latestJson] = await Promise.all([
      this.#serialize(edits, plain, false),
      this.#serialize(latest, canNest ? { ...options, bundleAggregations: true } : plain, false),
    ]);
    const editById = new Map(edits.map((e, i) => [e.event.eventId, editJson[i] as JsonObject]));
    const latestById = new Map(latest.map((e, i) => [e.event.eventId, latestJson[i] as JsonObject]));
    for (const [eventId, bundle] of bundles) {
      const relations: JsonObject = {};
      if (bundle.replace !== undefined) relations["m.replace"] = editById.get(bundle.replace.event.eventId) as JsonObject;
      if (bundle.thread !== undefined) {
        relations["m.thread"] = {
          latest_event: latestById.get(bundle.thread.latest.event.eventId) as JsonObject,
          count: bundle.thread.count,
          current_user_participated: bundle.thread.currentUserParticipated,
        };
      }
      if (bundle.references !== undefined) relations["m.reference"] = { chunk: bundle.references.map((id) => ({ event_id: id })) };
      out.set(eventId, relations);
    }
    return out;
  }

  async #load(ids: readonly string[]): Promise<RoomEventInfo[]> {
    const infos = await Promise.all(ids.map((id) => this.#deps.roomserver.getEvent(id)));
    return infos.filter((info): info is RoomEventInfo => info !== undefined);
  }
}
