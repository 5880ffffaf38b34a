// The room engine's new events, to the application services interested in them
// (application-service-api#pushing-events). A consumer of the outputs that never holds up the send
// path: the listener only notes the event, and the interest checks, serialization and sending are
// done later, in order. With no service to send to it is not subscribed at all.
import type { RoomEvent } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";
import { BackgroundQueue } from "../background-queue.ts";
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
  readonly #queue: BackgroundQueue<NewRoomEvent>;
  #unsubscribe: (() => void) | undefined;

  constructor(deps: EventForwarderDeps) {
    this.#deps = deps;
    this.#services = [...deps.senders.keys()];
    this.#queue = new BackgroundQueue({ max: MAX_QUEUED, batch: 64, work: (output) => this.#forward(output), onError: deps.onError });
  }

  start(): void {
    for (const sender of this.#deps.senders.values()) sender.start();
    if (this.#services.length === 0) return;
    this.#unsubscribe = this.#deps.source.subscribe((output) => this.#receive(output));
  }

  /** Resolves once every event heard so far is in its services' queues and sent (tests). */
  async idle(): Promise<void> {
    await this.#queue.idle();
    await Promise.all([...this.#deps.senders.values()].map((s) => s.idle()));
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    await this.#queue.close();
    await Promise.all([...this.#deps.senders.values()].map((s) => s.close()));
  }

  #receive(output: RoomserverOutput): void {
    // Outlier memberships (an invite over federation) are outside the room's stream order and state.
    if (output.kind !== "new_room_event" || output.outOfBand === true) return;
    this.#queue.push(output);
  }

  async #forward(output: NewRoomEvent): Promise<void> {
    const interested = await interestedServices(this.#services, output.event, output.streamOrdering, this.#deps.lookups);
    if (interested.length === 0) return;
    const json = await this.#deps.serialize(output.event, output.streamOrdering);
    for (const appservice of interested) this.#deps.senders.get(appservice)?.enqueue(json, output.streamOrdering);
  }
}
