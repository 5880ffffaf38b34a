// How far the room stream has been looked at by the event forwarder: the bound every position
// stored for an application service stays under. A service's stored position is where the next
// start reads the room stream on from, so it may only pass an event once that event is in a stored
// transaction of the service or was found not to be for it; an event anywhere else (heard and not
// looked at yet, waiting in a sender's memory, or committed and not even heard yet) would be lost
// by a restart. `forwardedUpTo` answers for the first and the last; each sender keeps its stored
// position under the events waiting in its own memory (transaction-sender.ts).
import { STREAM_START } from "../events/timeline.ts";
import type { RoomserverOutput } from "../roomserver/index.ts";
import { PositionQueue } from "./position-queue.ts";

type NewRoomEvent = Extract<RoomserverOutput, { kind: "new_room_event" }>;

export class StreamProgress {
  readonly #batchesInFlight: () => Promise<void>;
  /** Live events heard and not looked at yet, in the order heard (which is their looking order). */
  readonly #heard = new PositionQueue<NewRoomEvent>((output) => output.streamOrdering);
  #lookedAt = STREAM_START;
  /** An event above this was dropped or failed: nothing stored passes it until the next start reads it again. */
  #held = Number.POSITIVE_INFINITY;

  /**
   * `batchesInFlight` settles once the room engine's batches in flight at the call have ended (and
   * told their events): every stream position taken before it is then heard or given up.
   */
  constructor(batchesInFlight: () => Promise<void>) {
    this.#batchesInFlight = batchesInFlight;
  }

  /** The highest position looked at. */
  get lookedAt(): number {
    return this.#lookedAt;
  }

  /** A live event, heard: it holds the positions under it until it is looked at. */
  heard(output: NewRoomEvent): void {
    this.#heard.push(output);
  }

  /** The live event was handed to the services interested in it (or concerned none). */
  done(output: NewRoomEvent): void {
    this.#takeFront(output);
    this.passed(output.streamOrdering);
  }

  /** Looking at the live event failed: it is left to the next start. */
  failed(output: NewRoomEvent): void {
    this.#takeFront(output);
    this.hold(output.streamOrdering - 1);
  }

  /** Everything up to the position is looked at (the stored positions, and the catch-up's reads). */
  passed(position: number): void {
    if (position > this.#lookedAt) this.#lookedAt = position;
  }

  /** Nothing stored passes the position from now on. */
  hold(position: number): void {
    if (position < this.#held) this.#held = position;
  }

  /**
   * A position every event at or below which has been looked at: handed to the senders of the
   * services interested in it, or found to be for none. Taken before waiting for the batches in
   * flight, which may still commit events below it; once they have, those events are heard.
   */
  async forwardedUpTo(): Promise<number> {
    const lookedAt = this.#lookedAt;
    await this.#batchesInFlight();
    return Math.min(lookedAt, (this.#heard.lowest() ?? Number.POSITIVE_INFINITY) - 1, this.#held);
  }

  // Events are looked at in the order heard, so those ahead of this one were dropped unseen (the
  // forwarder's queue was full): they are left to the next start.
  #takeFront(output: NewRoomEvent): void {
    for (let front = this.#heard.front; front !== undefined; front = this.#heard.front) {
      this.#heard.shift(1);
      if (front === output) return;
      this.hold(front.streamOrdering - 1);
    }
  }
}
