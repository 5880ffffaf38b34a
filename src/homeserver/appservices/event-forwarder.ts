// The room engine's new events, to the application services interested in them
// (application-service-api#pushing-events). A consumer of the outputs that never holds up the send
// path: the listener only notes the event, and the interest checks, serialization and sending are
// done later, in order. With no service to send to it is not subscribed at all.
//
// Events are heard after commit and wait in memory until a sender puts them in a stored
// transaction, so a stop or a crash can leave some unsent. Each service's stored position stays
// under those (stream-progress.ts, transaction-sender.ts), and at start the forwarder reads the room
// stream after the lowest of the positions, in the background, offering each event to the services
// whose position is below it, while the live outputs heard meanwhile wait; an event read both ways
// is offered once. The events then go out in stream order ("linearised, as if they were from the
// event stream"). A service registered since the last start begins at the stream's head: it is not
// sent the rooms' history.
import type { RoomEvent } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";
import type { AppserviceStore } from "../../storage/stores/appservices.ts";
import { BackgroundQueue } from "../background-queue.ts";
import type { OutputListener, RoomEventInfo, RoomserverOutput } from "../roomserver/index.ts";
import type { Appservice } from "./appservice.ts";
import { interestedServices, type InterestLookups } from "./interest.ts";
import type { StreamProgress } from "./stream-progress.ts";
import type { TransactionSender } from "./transaction-sender.ts";

type NewRoomEvent = Extract<RoomserverOutput, { kind: "new_room_event" }>;

/** Events heard and not yet looked at, at most. */
const MAX_QUEUED = 100_000;
/** The positions are stored at least every this many stream positions, even with nothing to send. */
const POSITION_EVERY = 1000;
const CATCH_UP_PAGE = 500;

export interface EventForwarderDeps {
  readonly source: { subscribe(listener: OutputListener): () => void };
  /** The services with a URL, each with its sender. */
  readonly senders: ReadonlyMap<Appservice, TransactionSender>;
  /** Shared with the senders: what has been looked at. */
  readonly progress: StreamProgress;
  readonly store: Pick<AppserviceStore, "streamState" | "advancePosition">;
  /** The room stream across rooms after a position (the events store's catch-up read). */
  readonly streamSince: (position: number, limit: number) => Promise<ReadonlyArray<{ readonly streamOrdering: number; readonly eventId: string }>>;
  readonly getEvent: (eventId: string) => Promise<Pick<RoomEventInfo, "event" | "outlier"> | undefined>;
  /** The room stream's head now: where a newly registered service begins. */
  readonly streamHead: () => number;
  /** Settles once the room engine's batches in flight at the call have ended (and told their events). */
  readonly batchesInFlight: () => Promise<void>;
  readonly lookups: InterestLookups;
  /** The event as the Client-Server API formats it (transactions.yaml: "formatted as per the Client-Server API"). */
  readonly serialize: (event: RoomEvent, streamOrdering: number) => Promise<JsonObject>;
  readonly log: { warn(fields: object, message: string): void; error(fields: object, message: string): void };
}

export class EventForwarder {
  readonly #deps: EventForwarderDeps;
  readonly #services: readonly Appservice[];
  readonly #queue: BackgroundQueue<NewRoomEvent>;
  /** Each service's stored position at start: it is offered only the events after it. */
  readonly #from = new Map<Appservice, number>();
  /** The positions of the live events heard while catching up: the catch-up leaves them to the live path. */
  readonly #heardEarly = new Set<number>();
  #live = false;
  #closed = false;
  /** Settles once the catch-up has ended (or failed): the live events wait for it. */
  #caughtUp: Promise<void> | undefined;
  #nextSave = Number.NEGATIVE_INFINITY;
  #saving: Promise<void> = Promise.resolve();
  #unsubscribe: (() => void) | undefined;
  #positionsRead: (read: boolean) => void = () => undefined;
  /**
   * Settles true once each service's stored position is read, or set to the stream's head for a
   * new one; false if that failed or was stopped. Only then may a transaction of ephemeral data be
   * stored: the first transaction of a service sets its position, and one stored earlier would give
   * a new service the rooms' history.
   */
  readonly positionsRead = new Promise<boolean>((resolve) => (this.#positionsRead = resolve));

  constructor(deps: EventForwarderDeps) {
    this.#deps = deps;
    this.#services = [...deps.senders.keys()];
    this.#queue = new BackgroundQueue({
      max: MAX_QUEUED,
      batch: 64,
      work: (output) => this.#forward(output),
      onError: (err) => deps.log.error({ err }, "forwarding an event to application services failed"),
      onDropped: (count) => deps.log.warn({ count }, "application services: events dropped unseen wait for the next start"),
    });
  }

  /** Subscribes at once; the catch-up runs in the background. */
  start(): void {
    for (const sender of this.#deps.senders.values()) sender.start();
    if (this.#services.length === 0) this.#positionsRead(true);
    if (this.#services.length === 0 || this.#caughtUp !== undefined) return;
    this.#unsubscribe = this.#deps.source.subscribe((output) => this.#receive(output));
    this.#caughtUp = this.#catchUp()
      .catch((err: unknown) => {
        // What it did not offer stays above the stored positions, which no longer pass it: the next start reads it.
        this.#deps.progress.hold(this.#deps.progress.lookedAt);
        this.#deps.log.error({ err }, "application services: catching up with the room stream failed");
      })
      .then(() => {
        this.#positionsRead(false); // unless they were read before
        this.#live = true;
        this.#heardEarly.clear();
      });
  }

  /** Resolves once every event heard so far is in its services' queues and sent (tests). */
  async idle(): Promise<void> {
    await this.#caughtUp;
    await this.#queue.idle();
    await Promise.all([...this.#deps.senders.values()].map((s) => s.idle()));
  }

  /**
   * Stops catching up, forwarding and sending, then stores each service's position as far as it
   * may go. Still subscribed meanwhile: an event committed below a position looked at is heard
   * before that position is stored.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#positionsRead(false); // unless they were read before: nothing more is sent
    await this.#caughtUp;
    await this.#queue.close();
    await Promise.all([...this.#deps.senders.values()].map((s) => s.close()));
    await this.#saving;
    if (this.#caughtUp !== undefined) await this.#savePositions();
    this.#unsubscribe?.();
  }

  #receive(output: RoomserverOutput): void {
    // Outlier memberships (an invite over federation) are outside the room's stream order and state.
    if (output.kind !== "new_room_event" || output.outOfBand === true) return;
    this.#deps.progress.heard(output);
    if (!this.#live) this.#heardEarly.add(output.streamOrdering);
    this.#queue.push(output);
  }

  async #forward(output: NewRoomEvent): Promise<void> {
    await this.#caughtUp;
    if (this.#closed) return; // not looked at: the next start reads it
    try {
      await this.#offer(output.event, output.streamOrdering);
    } catch (err) {
      this.#deps.progress.failed(output);
      throw err;
    }
    this.#deps.progress.done(output);
    this.#passed();
  }

  /** Hands the event to the senders of the services interested in it that have not had it yet. */
  async #offer(event: RoomEvent, streamOrdering: number): Promise<void> {
    const services = this.#services.filter((s) => (this.#from.get(s) ?? Number.POSITIVE_INFINITY) < streamOrdering);
    if (services.length === 0) return;
    const interested = await interestedServices(services, event, streamOrdering, this.#deps.lookups);
    if (interested.length === 0) return;
    const json = await this.#deps.serialize(event, streamOrdering);
    for (const appservice of interested) this.#deps.senders.get(appservice)?.enqueue(json, streamOrdering);
  }

  async #catchUp(): Promise<void> {
    const { store, progress } = this.#deps;
    for (const appservice of this.#services) {
      let position = (await store.streamState(appservice.id))?.streamOrdering;
      if (position === undefined) {
        position = this.#deps.streamHead();
        // Stored at once, so that it is where this service's stream begins after a restart too.
        await store.advancePosition(appservice.id, position);
      }
      this.#from.set(appservice, position);
    }
    this.#positionsRead(true);
    // Every event up to the lowest position was taken care of by an earlier run.
    let position = Math.min(...this.#from.values());
    progress.passed(position);
    this.#nextSave = position + POSITION_EVERY;
    while (!this.#closed) {
      const entries = await this.#deps.streamSince(position, CATCH_UP_PAGE);
      const last = entries[entries.length - 1];
      if (last === undefined) return;
      // The entries are committed: once the batches in flight now have ended, those told after the
      // subscription are in #heardEarly, and only the live path offers them.
      await this.#deps.batchesInFlight();
      const unheard = entries.filter((e) => !this.#heardEarly.has(e.streamOrdering));
      const infos = await Promise.all(unheard.map((e) => this.#deps.getEvent(e.eventId)));
      for (const [i, entry] of unheard.entries()) {
        if (this.#closed) return;
        const info = infos[i];
        // An outlier in the stream is an out-of-band membership, which the live path skips too.
        if (info !== undefined && !info.outlier) await this.#offer(info.event, entry.streamOrdering);
        progress.passed(entry.streamOrdering);
        this.#passed();
      }
      progress.passed(last.streamOrdering);
      position = last.streamOrdering;
    }
  }

  // The positions are stored every POSITION_EVERY positions looked at, one round at a time, so
  // that traffic none of the services is interested in does not leave a restart far behind.
  #passed(): void {
    if (this.#deps.progress.lookedAt < this.#nextSave) return;
    this.#nextSave = this.#deps.progress.lookedAt + POSITION_EVERY;
    this.#saving = this.#saving.then(() => this.#savePositions());
  }

  async #savePositions(): Promise<void> {
    await Promise.all(
      [...this.#deps.senders].map(([appservice, sender]) =>
        sender.savePosition().catch((err: unknown) => this.#deps.log.error({ err, appservice: appservice.id }, "storing an application service's position failed")),
      ),
    );
  }
}
