// Devices' last_seen_ip and last_seen_ts (client-server-api#get_matrixclientv3devices: "may be a few
// minutes out of date, for efficiency reasons"): kept in memory as requests come, and written in one
// batch every few seconds and at shutdown, not once per request.
import type { Connection } from "../../http/endpoint.ts";
import type { LastSeen } from "../../storage/stores/devices.ts";

export interface LastSeenSink {
  recordLastSeen(entries: readonly LastSeen[]): Promise<void>;
}

export class LastSeenRecorder {
  #pending = new Map<string, LastSeen>();
  readonly #sink: LastSeenSink;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #onError: (error: unknown) => void;
  #flushing: Promise<void> = Promise.resolve();

  constructor(sink: LastSeenSink, options: { flushIntervalMs?: number; onError?: (error: unknown) => void } = {}) {
    this.#sink = sink;
    this.#onError = options.onError ?? (() => undefined);
    const interval = options.flushIntervalMs ?? 5_000;
    if (interval > 0) {
      this.#timer = setInterval(() => void this.flush(), interval);
      this.#timer.unref(); // never keeps the process alive on its own
    }
  }

  record(userId: string, deviceId: string, connection: Connection, ts: number): void {
    const key = `${userId}\u0000${deviceId}`;
    const seen = this.#pending.get(key);
    const userAgent = connection.userAgent ?? null;
    if (seen !== undefined && seen.ts >= ts && seen.ip === connection.ip && seen.userAgent === userAgent) return;
    this.#pending.set(key, { userId, deviceId, ip: connection.ip, userAgent, ts });
  }

  /** The last sighting not yet written, so that reads show it before the next flush. */
  pendingFor(userId: string, deviceId: string): LastSeen | undefined {
    return this.#pending.get(`${userId}\u0000${deviceId}`);
  }

  /** Forgets the devices' sightings: they were deleted. */
  forget(userId: string, deviceIds: readonly string[] | undefined): void {
    for (const [key, seen] of this.#pending) {
      if (seen.userId === userId && (deviceIds === undefined || deviceIds.includes(seen.deviceId))) this.#pending.delete(key);
    }
  }

  /** Writes what was recorded since the last flush; flushes run one at a time. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#pending.size === 0) return;
      const batch = [...this.#pending.values()];
      this.#pending = new Map();
      try {
        await this.#sink.recordLastSeen(batch);
      } catch (error) {
        this.#onError(error);
      }
    });
    return this.#flushing;
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.flush();
  }
}
