// Bundled aggregations (client-server-api#aggregations-of-child-events): what the relations index
// says about the children of events being served, as this user may see them. Child events hidden
// from the user by the visibility rules, and those of users they ignore, are left out of every
// aggregation. Formatting is serializer.ts's.
import { isJsonObject } from "../../../core/json.ts";
import type { RelationRow, RelationStore } from "../../../storage/stores/relations.ts";
import type { RoomEventInfo, Roomserver } from "../../roomserver/index.ts";
import type { EventVisibility } from "../access.ts";
import { REL_REFERENCE, REL_REPLACE, REL_THREAD, relationOf } from "./relation.ts";

export interface ThreadAggregation {
  /** modules/threading.md: "the most recent event (topologically to the server) in the thread". */
  readonly latest: RoomEventInfo;
  readonly count: number;
  readonly currentUserParticipated: boolean;
}

export interface BundledRelations {
  /** The most recent valid replacement (modules/event_replacements.md). */
  readonly replace?: RoomEventInfo;
  readonly thread?: ThreadAggregation;
  /** The IDs of the events referencing it (modules/reference_relations.md). */
  readonly references?: readonly string[];
}

export interface AggregatorDeps {
  readonly store: RelationStore;
  readonly roomserver: Roomserver;
  readonly visibility: EventVisibility;
  /** The users this user ignores (client-server-api#ignoring-users). */
  readonly ignoredUsers: (userId: string) => Promise<ReadonlySet<string>>;
  /** Resolves once the relations index holds every event committed so far (RelationsIndexer.caughtUp). */
  readonly indexed?: () => Promise<void>;
}

/** The relation types with a bundled aggregation (client-server-api#aggregations-of-child-events). */
const BUNDLED_REL_TYPES = [REL_REPLACE, REL_THREAD, REL_REFERENCE];

/** modules/end_to_end_encryption.md: the type of an encrypted event, its content ciphertext. */
const ENCRYPTED_TYPE = "m.room.encrypted";

/** How many candidates for a thread's latest event are checked at a time. */
const LATEST_BATCH = 8;

export class Aggregator {
  readonly #deps: AggregatorDeps;

  constructor(deps: AggregatorDeps) {
    this.#deps = deps;
  }

  /** The aggregations of each of these events that has some, as this user may see them. */
  async bundle(userId: string, events: readonly RoomEventInfo[]): Promise<Map<string, BundledRelations>> {
    const out = new Map<string, BundledRelations>();
    // "State events do not currently receive bundled aggregations."
    const parents = events.filter((e) => e.event.stateKey === undefined);
    if (parents.length === 0) return out;
    await this.#deps.indexed?.();
    // One read for every parent, of every room and relation type bundled.
    const [ignored, children] = await Promise.all([
      this.#deps.ignoredUsers(userId),
      this.#deps.store.childrenOfParentsIn(new Map(parents.map((p) => [p.event.eventId, p.event.roomId])), BUNDLED_REL_TYPES),
    ]);
    await Promise.all(
      parents.map(async (parent) => {
        const id = parent.event.eventId;
        const rows = (children.get(id) ?? []).filter((r) => !ignored.has(r.sender));
        if (rows.length === 0) return;
        const ofType = (relType: string) => rows.filter((r) => r.relType === relType);
        const [replace, thread, refs] = await Promise.all([
          this.#latestEdit(userId, parent, ofType(REL_REPLACE)),
          this.#thread(userId, parent, ofType(REL_THREAD)),
          this.#references(userId, ofType(REL_REFERENCE)),
        ]);
        const bundle: { replace?: RoomEventInfo; thread?: ThreadAggregation; references?: readonly string[] } = {};
        if (replace !== undefined) bundle.replace = replace;
        if (thread !== undefined) bundle.thread = thread;
        if (refs.length > 0) bundle.references = refs;
        if (Object.keys(bundle).length > 0) out.set(id, bundle);
      }),
    );
    return out;
  }

  // modules/event_replacements.md "Server-side aggregation of m.replace relationships": the most
  // recent valid edit by origin_server_ts, then the lexicographically largest event ID; none for a
  // redacted original.
  async #latestEdit(userId: string, original: RoomEventInfo, rows: readonly RelationRow[]): Promise<RoomEventInfo | undefined> {
    if (rows.length === 0 || original.redactedBy !== undefined) return undefined;
    // "The original event must not, itself, have a rel_type of m.replace."
    if (relationOf(original.event.content)?.relType === REL_REPLACE) return undefined;
    // Same sender and same type are in the index; the rest needs the edit itself.
    const candidates = rows
      .filter((r) => r.sender === original.event.sender && r.eventType === original.event.type)
      .sort((a, b) => b.originServerTs - a.originServerTs || (a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0));
    const loaded = await this.#load(candidates.map((r) => r.eventId));
    // "The replacement event (once decrypted, if appropriate) must have an m.new_content property":
    // an encrypted edit carries it in its ciphertext, out of the server's sight.
    const valid = loaded.filter(
      (e) =>
        e.event.stateKey === undefined &&
        e.redactedBy === undefined &&
        (e.event.type === ENCRYPTED_TYPE || isJsonObject(e.event.content["m.new_content"])),
    );
    const visible = new Set((await this.#deps.visibility.filterEventsForUser(userId, valid)).map((e) => e.event.eventId));
    return valid.find((e) => visible.has(e.event.eventId));
  }

  // modules/threading.md "Server-side aggregation of m.thread relationships".
  async #thread(userId: string, root: RoomEventInfo, rows: readonly RelationRow[]): Promise<ThreadAggregation | undefined> {
    if (rows.length === 0) return undefined;
    const newestFirst = [...rows].reverse();
    let latest: RoomEventInfo | undefined;
    for (let i = 0; i < newestFirst.length && latest === undefined; i += LATEST_BATCH) {
      const batch = await this.#load(newestFirst.slice(i, i + LATEST_BATCH).map((r) => r.eventId));
      [latest] = await this.#deps.visibility.filterEventsForUser(userId, batch);
    }
    if (latest === undefined) return undefined;
    return {
      latest,
      count: rows.length,
      currentUserParticipated: root.event.sender === userId || rows.some((r) => r.sender === userId),
    };
  }

  // modules/reference_relations.md: a `chunk` of the referencing events' IDs.
  async #references(userId: string, rows: readonly RelationRow[]): Promise<string[]> {
    if (rows.length === 0) return [];
    const visible = await this.#deps.visibility.filterEventsForUser(userId, await this.#load(rows.map((r) => r.eventId)));
    return visible.map((e) => e.event.eventId);
  }

  async #load(ids: readonly string[]): Promise<RoomEventInfo[]> {
    const infos = await Promise.all(ids.map((id) => this.#deps.roomserver.getEvent(id)));
    return infos.filter((info): info is RoomEventInfo => info !== undefined && info.rejectedReason === undefined && !info.softFailed);
  }
}
