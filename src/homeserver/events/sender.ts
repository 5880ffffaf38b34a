// Sending events to a room (client-server-api#sending-events-to-a-room, room_send.yaml,
// room_state.yaml, redaction.yaml): every event is built and checked by the room engine; this
// service adds what the client-server API asks on top: idempotent transaction IDs, the rules of
// relationship types (duplicate annotations, threads off relations), `redacts` where the room
// version wants it, and the validation of state contents other areas own.
import { actionLevel, checkPowerLevelsContent, powerLevelOf } from "../../core/auth/index.ts";
import { canonicalJson } from "../../core/canonical-json/canonical-json.ts";
import { KeyedSerial } from "../../core/keyed-serial.ts";
import { rememberRecent } from "../../core/recent-map.ts";
import { MatrixError } from "../../core/errors.ts";
import type { JsonObject } from "../../core/json.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { RelationStore } from "../../storage/stores/relations.ts";
import type { TransactionKey } from "../../storage/stores/transactions.ts";
import type { LocalEventRequest, Roomserver } from "../roomserver/index.ts";
import { notInRoom } from "./access.ts";
import type { RelationsIndexer } from "./relations/indexer.ts";
import { REL_ANNOTATION, REL_THREAD, relationOf } from "./relations/relation.ts";
import type { Transactions } from "./transactions.ts";

/**
 * Checks the aliases of an m.room.canonical_alias content (well-formed: M_INVALID_PARAM; pointing at
 * the room: M_BAD_ALIAS); the rooms area's alias service does it.
 */
export type CanonicalAliasValidator = (roomId: string, content: JsonObject) => Promise<void>;

export interface SenderDeps {
  readonly roomserver: Roomserver;
  readonly transactions: Transactions;
  readonly relations: RelationStore;
  readonly indexer: RelationsIndexer;
  readonly validateCanonicalAlias?: CanonicalAliasValidator;
  /** modules/invite_permission.md: throws 403 M_INVITE_BLOCKED for a user of ours who blocks invites. */
  readonly checkInvitable?: (userId: string) => Promise<void>;
  /** Throws 403 M_FORBIDDEN for a room a server admin blocked (rooms/room-blocks.ts). */
  readonly checkNotBlocked?: (roomId: string) => void;
  /** A made-up event ID for a user a server admin shadow-banned (users/shadow-bans.ts), undefined for anyone else. */
  readonly shadowBanned?: ShadowBannedSend;
  /** Settles once the guests a change of the room's guest access removes have left (the rooms area does it). */
  readonly guestsRemoved?: (roomId: string) => Promise<void>;
}

/** What a shadow-banned user's send is answered: an event ID that names nothing, or undefined when they are not banned. */
export type ShadowBannedSend = (userId: string, version: RoomVersion) => string | undefined;

/** How many shadow-banned transactions' answers are kept for their retries. */
const SHADOW_ANSWERS_KEPT = 10_000;

export class EventSender {
  readonly #deps: SenderDeps;
  // Annotations of one parent are sent one at a time, so two identical ones cannot both pass the check.
  readonly #annotationLocks = new KeyedSerial();
  /** The made-up event IDs given to shadow-banned users, by transaction: a retry is answered the same. */
  readonly #shadowAnswers = new Map<string, string>();

  constructor(deps: SenderDeps) {
    this.#deps = deps;
  }

  /** PUT /rooms/{roomId}/send/{eventType}/{txnId}: the event ID, the original's for a retransmission. */
  async sendMessage(requester: Requester, roomId: string, eventType: string, txnId: string, content: JsonObject): Promise<string> {
    const key = { userId: requester.userId, deviceId: requester.deviceId ?? "", scope: JSON.stringify(["send", roomId, eventType]), txnId };
    return await this.#deps.transactions.once(key, async () => {
      const version = await this.#roomVersion(roomId);
      const shadowed = this.#shadowed(requester.userId, version, key);
      if (shadowed !== undefined) return shadowed;
      const request: LocalEventRequest = { roomId, type: eventType, sender: requester.userId, content, transaction: key };
      if (eventType === "m.room.redaction") {
        // m.room.redaction.yaml: content.redacts, an event ID, is "Required for ... room version
        // 11"; older versions need it too, to move it to the top level.
        const { redacts, ...rest } = content;
        if (typeof redacts !== "string" || !redacts.startsWith("$")) {
          throw new MatrixError("M_BAD_JSON", "An m.room.redaction needs the event it redacts in content.redacts", 400);
        }
        await this.#checkRedaction(roomId, version, requester.userId, redacts);
        // room_send.yaml: "In rooms with a version older than 11 they MUST move the `redacts`
        // property inside the `content` to the top level of the event."
        if (!version.redactsInContent) return await this.#create({ ...request, content: rest, redacts });
        return await this.#create(request);
      }
      return await this.#createWithRelation(request);
    });
  }

  /** PUT /rooms/{roomId}/state/{eventType}/{stateKey}. */
  async sendState(requester: Requester, roomId: string, eventType: string, stateKey: string, content: JsonObject): Promise<string> {
    const version = await this.#roomVersion(roomId);
    // A shadow-banned user's own membership still changes (joining, leaving); the rest reaches nobody.
    const ownMembership = eventType === "m.room.member" && stateKey === requester.userId && content["membership"] !== "invite";
    const shadowed = ownMembership ? undefined : this.#shadowed(requester.userId, version, undefined);
    if (shadowed !== undefined) return shadowed;
    // Levels that are not power levels make a malformed request (400), as Synapse answers, rather
    // than an event the auth rules reject (rooms/v10.md rule 9.1-9.3 and their older forms).
    if (eventType === "m.room.power_levels" && stateKey === "") {
      const shape = checkPowerLevelsContent(content, version);
      if (!shape.allowed) throw new MatrixError("M_BAD_JSON", `Invalid power levels: ${shape.reason}`, 400);
    }
    // room_state.yaml 403: an invite to a user who blocks invites is M_INVITE_BLOCKED.
    if (eventType === "m.room.member" && content["membership"] === "invite") await this.#deps.checkInvitable?.(stateKey);
    // A join or knock through the state API is refused in a blocked room, as through /join and /knock.
    if (eventType === "m.room.member" && (content["membership"] === "join" || content["membership"] === "knock")) this.#deps.checkNotBlocked?.(roomId);
    if (eventType === "m.room.canonical_alias" && stateKey === "" && this.#deps.validateCanonicalAlias !== undefined) {
      const current = await this.#currentStateEvent(roomId, eventType, stateKey);
      await this.#deps.validateCanonicalAlias(roomId, newAliases(content, current?.event.content));
    }
    // Setting what is already set by the same sender sends nothing (as Synapse does): clients
    // re-send state freely, and a room's history should not fill with copies.
    // Only for a sender still joined: anyone else gets the room engine's verdict.
    const current = await this.#currentStateEvent(roomId, eventType, stateKey);
    if (current !== undefined && current.event.sender === requester.userId && sameJson(current.event.content, content)) {
      const member = await this.#currentStateEvent(roomId, "m.room.member", requester.userId);
      if (member?.event.content["membership"] === "join") return current.event.eventId;
    }
    const eventId = await this.#createWithRelation({ roomId, type: eventType, stateKey, sender: requester.userId, content });
    // modules/guest_access.md: the guests are gone ("MUST set ... to leave") by the time the change is answered.
    if (eventType === "m.room.guest_access" && stateKey === "") await this.#deps.guestsRemoved?.(roomId);
    return eventId;
  }

  /** Whether the event is known here and was sent by the user (a suspended account may redact those only). */
  async isOwnEvent(userId: string, eventId: string): Promise<boolean> {
    return (await this.#deps.roomserver.getEvent(eventId))?.event.sender === userId;
  }

  /** PUT /rooms/{roomId}/redact/{eventId}/{txnId}. */
  async redact(requester: Requester, roomId: string, eventId: string, txnId: string, reason: string | undefined): Promise<string> {
    // redaction.yaml: eventId is an mx-event-id, pattern "^\\$".
    if (!eventId.startsWith("$")) throw new MatrixError("M_INVALID_PARAM", `'${eventId}' is not an event ID`, 400);
    const key = { userId: requester.userId, deviceId: requester.deviceId ?? "", scope: JSON.stringify(["redact", roomId, eventId]), txnId };
    return await this.#deps.transactions.once(key, async () => {
      const version = await this.#roomVersion(roomId);
      const shadowed = this.#shadowed(requester.userId, version, key);
      if (shadowed !== undefined) return shadowed;
      const content: JsonObject = reason === undefined ? {} : { reason };
      // rooms/v11.md: `redacts` moved into the content.
      if (version.redactsInContent) content["redacts"] = eventId;
      await this.#checkRedaction(roomId, version, requester.userId, eventId);
      return await this.#create({ roomId, type: "m.room.redaction", sender: requester.userId, content, redacts: eventId, transaction: key });
    });
  }

  // The auth rules let any member send a redaction; whether it applies is decided when it is
  // received (rooms/v3.md "Handling redactions"). A client asking to redact what it may not is told
  // so rather than sent a redaction that will never apply, as Synapse does: another sender's event
  // needs the `redact` power level (client-server-api#redactions, redaction.yaml).
  async #checkRedaction(roomId: string, version: RoomVersion, sender: string, targetId: string): Promise<void> {
    const target = await this.#deps.roomserver.getEvent(targetId);
    if (target === undefined) return;
    // redaction.yaml: roomId is "The room from which to redact the event", for one's own events too.
    if (target.event.roomId !== roomId) throw new MatrixError("M_INVALID_PARAM", "Cannot redact an event of another room", 400);
    if (target.event.sender === sender) return;
    const [create, powerLevels] = await Promise.all([
      this.#currentStateEvent(roomId, "m.room.create", ""),
      this.#currentStateEvent(roomId, "m.room.power_levels", ""),
    ]);
    const lookup = (type: string, stateKey: string) =>
      stateKey !== "" ? undefined : type === "m.room.create" ? create?.event : type === "m.room.power_levels" ? powerLevels?.event : undefined;
    if (powerLevelOf(sender, lookup, version) < actionLevel("redact", lookup, version)) {
      throw new MatrixError("M_FORBIDDEN", "You don't have permission to redact other users' events", 403);
    }
  }

  async #createWithRelation(request: LocalEventRequest): Promise<string> {
    const relation = relationOf(request.content);
    if (relation?.relType === REL_THREAD) await this.#checkThreadRoot(relation.eventId);
    if (relation?.relType !== REL_ANNOTATION || relation.key === undefined) return await this.#create(request);
    const { eventId: parentId, key } = relation;
    return await this.#annotationLocks.run(parentId, async () => {
      // modules/event_annotations.md "Avoiding duplicate annotations".
      await this.#deps.indexer.settled();
      if (await this.#deps.relations.hasAnnotation(parentId, request.sender, request.type, key)) {
        throw new MatrixError("M_DUPLICATE_ANNOTATION", "You have already sent this annotation", 400);
      }
      return await this.#create(request);
    });
  }

  // modules/threading.md "Validation of m.thread relationships": no thread off an event that is
  // itself a child of a relationship (400 M_UNKNOWN, there is no dedicated code).
  async #checkThreadRoot(rootId: string): Promise<void> {
    const root = await this.#deps.roomserver.getEvent(rootId);
    if (root !== undefined && relationOf(root.event.content) !== undefined) {
      throw new MatrixError("M_UNKNOWN", "Cannot start a thread from an event with a relation", 400);
    }
  }

  async #create(request: LocalEventRequest): Promise<string> {
    // Readers of relations wait for the index themselves (RelationsIndexer.caughtUp): answering at
    // once keeps the send's reply ahead of the event's echo in the sender's /sync, which clients
    // (matrix-js-sdk's thread timelines) expect.
    const { eventId } = await this.#deps.roomserver.createLocalEvent(request);
    return eventId;
  }

  /** A shadow-banned user's answer (users/shadow-bans.ts), the same again for a retried transaction; undefined for anyone else. */
  #shadowed(userId: string, version: RoomVersion, key: TransactionKey | undefined): string | undefined {
    const made = this.#deps.shadowBanned?.(userId, version);
    if (made === undefined || key === undefined) return made;
    const id = JSON.stringify([key.userId, key.deviceId, key.scope, key.txnId]);
    const earlier = this.#shadowAnswers.get(id);
    if (earlier !== undefined) return earlier;
    rememberRecent(this.#shadowAnswers, id, made, SHADOW_ANSWERS_KEPT);
    return made;
  }

  async #roomVersion(roomId: string): Promise<RoomVersion> {
    const version = await this.#deps.roomserver.roomVersion(roomId);
    // An unknown room: the sender cannot be in it (room_send.yaml's 403).
    if (version === undefined) throw notInRoom();
    return version;
  }

  async #currentStateEvent(roomId: string, eventType: string, stateKey: string) {
    const id = await this.#deps.roomserver.currentStateEventId(roomId, eventType, stateKey);
    return id === undefined ? undefined : await this.#deps.roomserver.getEvent(id);
  }
}

function sameJson(a: JsonObject, b: JsonObject): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}

// room_state.yaml: "Servers do not validate aliases which are being removed or are already present
// in the state event": only what is new is checked.
function newAliases(content: JsonObject, current: JsonObject | undefined): JsonObject {
  const present = new Set<string>();
  if (typeof current?.["alias"] === "string") present.add(current["alias"]);
  const currentAlt = current?.["alt_aliases"];
  if (Array.isArray(currentAlt)) for (const a of currentAlt) if (typeof a === "string") present.add(a);
  const isNew = (a: unknown) => !(typeof a === "string" && present.has(a));
  const out: JsonObject = {};
  const alias = content["alias"];
  if (alias !== undefined && alias !== null && isNew(alias)) out["alias"] = alias;
  const alt = content["alt_aliases"];
  if (alt !== undefined) out["alt_aliases"] = Array.isArray(alt) ? alt.filter(isNew) : alt;
  return out;
}
