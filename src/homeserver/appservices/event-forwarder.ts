// The room engine's new events, to the application services interested in them
// (application-service-api#pushing-events). A consumer of the outputs that never holds up the send
// path: the listener only notes the event, and the interest checks, serialization and sending are
// done later, in order. With no service to send to it is not subscribed at all.
import type { RoomEvent } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";
import type { OutputListener, RoomserverOutput } from "../roomserver/index.ts";
import type { Appservice } from "./appservice.ts";
import { interestedServices, type InterestLookups } from "./interest.ts";
import type { TransactionSender } from "./transaction-sender.ts";

type NewRoomEvent = Extract<RoomserverOutput, { kind: "new_room_event" }>;

/** Events heard and not yet looked at, at most. */
const MAX_QUEUED = 100_000;

export interface EventForwarderDeps {
  readonly source: { subscribe(listener: OutputListener): () => void };
  /** The services with a URL, each with its sender. */
  readonly senders: ReadonlyMap<Appservice, TransactionSender>;
  readonly lookups: InterestLookups;
  /** The event as the Client-Server API formats it (transactions.yaml: "formatted as per the Client-Server API"). */
  readonly serialize: (event: RoomEvent, streamOrdering: number) => Promise<JsonObject>;
  readonly onError: (error: unknown) => void;
}

export class EventForwarder {
  readonly #deps: EventForwarderDeps;
  readonly #services: readonly Appservice[];
  #queue: NewRoomEvent[] = [];
  #draining: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(deps: EventForwarderDeps) {
    this.#deps = deps;
    this.#services = [...deps.senders.keys()];
  }

  start(): void {
    for (const sender of this.#deps.senders.values()) sender.start();
    if (this.#services.length === 0) return;
    this.#unsubscribe = this.#deps.source.subscribe((output) => this.#receive(output));
  }

  /** Resolves once every event heard so far is in its services' queues and sent (tests). */
  async idle(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
    await Promise.all([...this.#deps.senders.values()].map((s) => s.idle()));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#queue = [];
    await this.#draining;
    await Promise.all([...this.#deps.senders.values()].map((s) => s.close()));
  }

  #receive(output: RoomserverOutput): void {
    // Outlier memberships (an invite over federation) are outside the room's stream order and state.
    if (output.kind !== "new_room_event" || output.outOfBand === true || this.#closed) return;
    if (this.#queue.length >= MAX_QUEUED) this.#queue.shift();
    this.#queue.push(output);
    this.#draining ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = this.#queue.splice(0, 64);
        for (const output of batch) {
          try {
            await this.#forward(output);
          } catch (error) {
            this.#deps.onError(error);
          }
        }
      }
    } finally {
      this.#draining = undefined;
    }
  }

  async #forward(output: NewRoomEvent): Promise<void> {
    const interested = await interestedServices(this.#services, output.event, output.streamOrdering, this.#deps.lookups);
    if (interested.length === 0) return;
    const json = await this.#deps.serialize(output.event, output.streamOrdering);
    for (const appservice of interested) this.#deps.senders.get(appservice)?.enqueue(json, output.streamOrdering);
  }
}
