// Ephemeral data to the application services whose registration has `receive_ephemeral`
// (application-service-api#pushing-ephemeral-data): typing, receipts and presence as /sync gives
// them, each room-scoped one with a top-level `room_id`, in the `ephemeral` array of the services'
// transactions. A consumer of the sync area's change hooks that never holds up the request that
// made the change: the listener only notes it, and the interest checks and formatting are done
// later, in order, before the item is queued on the service's sender (transaction-sender.ts).
//
// The data is read when the change is worked on (a room's typing list, a user's presence), so it
// is what /sync would give then. Nothing of it survives a restart, and a full queue drops the oldest.
import type { JsonObject } from "../../core/json.ts";
import { BackgroundQueue } from "../background-queue.ts";
import type { PresenceService } from "../sync/presence.ts";
import { READ_PRIVATE, receiptEvent, type ReceiptChange, type ReceiptService } from "../sync/receipts.ts";
import type { TypingService } from "../sync/typing.ts";
import type { Appservice } from "./appservice.ts";
import { servicesInterestedInRoom, type InterestLookups } from "./interest.ts";
import type { TransactionSender } from "./transaction-sender.ts";

/** Changes heard and not yet looked at, at most. */
const MAX_QUEUED = 10_000;

type EphemeralChange =
  | { readonly kind: "typing"; readonly roomId: string }
  | { readonly kind: "receipt"; readonly receipt: ReceiptChange }
  | { readonly kind: "presence"; readonly userId: string };

/** The sync area's services, as far as ephemeral data goes: their change hooks and /sync's formatting. */
export interface EphemeralSources {
  readonly typing: Pick<TypingService, "onTypingChange" | "typingEvent">;
  readonly receipts: Pick<ReceiptService, "onStoredReceipt">;
  readonly presence: Pick<PresenceService, "onChange" | "presenceEvent">;
}

export interface EphemeralForwarderDeps {
  /** The senders of the services with `receive_ephemeral` (and a URL). */
  readonly senders: ReadonlyMap<Appservice, TransactionSender>;
  readonly sources: EphemeralSources;
  readonly lookups: InterestLookups;
  /** The room stream's head now: the membership the interest checks read. */
  readonly streamHead: () => number;
  /** The rooms the user (of any server) is joined to. */
  readonly roomsOfUser: (userId: string) => Promise<readonly string[]>;
  /** Settles true once the services' stored positions are known (EventForwarder.positionsRead); false: nothing is sent. */
  readonly positionsRead: Promise<boolean>;
  readonly log: { warn(fields: object, message: string): void; error(fields: object, message: string): void };
}

export class EphemeralForwarder {
  readonly #deps: EphemeralForwarderDeps;
  readonly #services: readonly Appservice[];
  readonly #queue: BackgroundQueue<EphemeralChange>;
  #unsubscribe: Array<() => void> = [];

  constructor(deps: EphemeralForwarderDeps) {
    this.#deps = deps;
    this.#services = [...deps.senders.keys()];
    this.#queue = new BackgroundQueue({
      max: MAX_QUEUED,
      batch: 64,
      work: (change) => this.#forward(change),
      onError: (err) => deps.log.error({ err }, "forwarding ephemeral data to application services failed"),
      onDropped: (count) => deps.log.warn({ count }, "application services: ephemeral changes dropped unseen"),
    });
  }

  /** Listens to the changes; with no service asking for ephemeral data it does not listen at all. */
  start(): void {
    if (this.#services.length === 0 || this.#unsubscribe.length > 0) return;
    const { typing, receipts, presence } = this.#deps.sources;
    this.#unsubscribe = [
      typing.onTypingChange((change) => this.#queue.push({ kind: "typing", roomId: change.roomId })),
      receipts.onStoredReceipt((receipt) => this.#queue.push({ kind: "receipt", receipt })),
      presence.onChange((userId) => this.#queue.push({ kind: "presence", userId })),
    ];
  }

  /** Resolves once every change heard so far is in its services' queues (tests). */
  async idle(): Promise<void> {
    await this.#queue.idle();
  }

  async close(): Promise<void> {
    for (const stop of this.#unsubscribe) stop();
    this.#unsubscribe = [];
    await this.#queue.close();
  }

  async #forward(change: EphemeralChange): Promise<void> {
    if (!(await this.#deps.positionsRead)) return;
    switch (change.kind) {
      case "typing": {
        const { roomId } = change;
        const services = await this.#interestedInRoom(this.#services, roomId);
        // application-service-api#pushing-ephemeral-data: "the addition of a `room_id` property at the top level".
        if (services.length > 0) this.#enqueue(services, `m.typing\0${roomId}`, { ...this.#deps.sources.typing.typingEvent(roomId), room_id: roomId });
        return;
      }
      case "receipt": {
        const { receipt } = change;
        // application-service-api#pushing-ephemeral-data: private ones "only for users matching one of the ... namespaces".
        const allowed = receipt.receiptType === READ_PRIVATE ? this.#services.filter((s) => s.isInterestedInUser(receipt.userId)) : this.#services;
        const services = await this.#interestedInRoom(allowed, receipt.roomId);
        // A later receipt of the same user, type and thread replaces a waiting one: receipts are "up to".
        const key = `m.receipt\0${receipt.roomId}\0${receipt.receiptType}\0${receipt.userId}\0${receipt.threadId ?? ""}`;
        if (services.length > 0) this.#enqueue(services, key, { ...receiptEvent([receipt]), room_id: receipt.roomId });
        return;
      }
      case "presence": {
        const services = await this.#presenceServices(change.userId);
        if (services.length === 0) return;
        const event = this.#deps.sources.presence.presenceEvent(change.userId);
        this.#enqueue(services, `m.presence\0${change.userId}`, { ...event, content: { ...event.content } });
        return;
      }
    }
  }

  /**
   * application-service-api#pushing-ephemeral-data: m.presence is sent "if the data would apply
   * contextually", for "a user an application service shares a room with, or matching one of the
   * application service's namespaces": the user is the service's, or is joined to a room the service
   * is interested in (its ID, an alias, or a member of its).
   */
  async #presenceServices(userId: string): Promise<Appservice[]> {
    const interested = new Set(this.#services.filter((s) => s.isInterestedInUser(userId)));
    let rest = this.#services.filter((s) => !interested.has(s));
    for (const roomId of rest.length === 0 ? [] : await this.#deps.roomsOfUser(userId)) {
      for (const s of await this.#interestedInRoom(rest, roomId)) interested.add(s);
      rest = rest.filter((s) => !interested.has(s));
      if (rest.length === 0) break;
    }
    return this.#services.filter((s) => interested.has(s));
  }

  // application-service-api#pushing-ephemeral-data: m.typing and m.receipt go "under the same rules
  // as regular events": interest in the room itself, or in a user in the room (interest.ts).
  async #interestedInRoom(services: readonly Appservice[], roomId: string): Promise<Appservice[]> {
    if (services.length === 0) return [];
    return await servicesInterestedInRoom(services, roomId, this.#deps.streamHead(), this.#deps.lookups);
  }

  #enqueue(services: readonly Appservice[], key: string, json: JsonObject): void {
    for (const appservice of services) this.#deps.senders.get(appservice)?.enqueueEphemeral(key, json);
  }
}
