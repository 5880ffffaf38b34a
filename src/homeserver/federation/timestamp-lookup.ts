// The client's GET /rooms/{roomId}/timestamp_to_event when this server may lack the history
// (room_event_by_timestamp.yaml: "If the server does not have all of the room history and does not
// have an event suitably close to the requested timestamp, it can use the corresponding federation
// endpoint to ask other servers for a suitable event"): the other servers in the room are asked
// with GET /_matrix/federation/v1/timestamp_to_event (events.yaml), one after the other, and an
// answer closer to the timestamp than ours is fetched (/event), checked by the pipeline as a
// backfilled event (with the state before it from the same server) and placed in the timeline.
// Like Synapse, the first server that answers is the one believed.
import type { JsonObject } from "../../core/json.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { Roomserver } from "../roomserver/index.ts";
import { errorText, type EventFetcher, type FetchClient } from "./event-fetcher.ts";
import type { RoomReader } from "./room-reader.ts";
import type { RoomServers } from "./room-servers.ts";

export interface TimestampMatch {
  readonly eventId: string;
  readonly originServerTs: number;
}

interface Log {
  info(obj: object, msg: string): void;
}

/** A client waits on this: a few servers, and not long in all. */
const MAX_SERVERS = 3;
const TIMEOUT_MS = 10_000;

const enc = encodeURIComponent;

export interface RemoteTimestampLookupOptions {
  readonly serverName: string;
  readonly client: FetchClient;
  readonly roomserver: Pick<Roomserver, "input" | "placeBackfilled">;
  readonly reader: RoomReader;
  readonly rooms: RoomServers;
  readonly fetcher: EventFetcher;
  readonly logger?: Log;
}

export class RemoteTimestampLookup {
  readonly #o: RemoteTimestampLookupOptions;

  constructor(options: RemoteTimestampLookupOptions) {
    this.#o = options;
  }

  /**
   * An event of the room at or after (`f`) or at or before (`b`) `ts` that is closer to it than
   * `local` (ours, if any), as another server in the room has it, stored and placed here. Undefined
   * when no server in the room knows a closer one (or none can be asked).
   */
  async closer(roomId: string, ts: number, dir: "f" | "b", local: TimestampMatch | undefined): Promise<TimestampMatch | undefined> {
    const servers = (await this.#o.rooms.serversInRoom(roomId)).filter((s) => s !== this.#o.serverName).slice(0, MAX_SERVERS);
    if (servers.length === 0) return undefined;
    const version = await this.#o.reader.roomVersion(roomId);
    if (version === undefined) return undefined;
    const distance = (t: number): number => Math.abs(t - ts);
    const deadline = Date.now() + TIMEOUT_MS;
    for (const server of servers) {
      const timeoutMs = deadline - Date.now();
      if (timeoutMs <= 0) break;
      let answer: JsonObject;
      try {
        answer = await this.#o.client.get(server, `/_matrix/federation/v1/timestamp_to_event/${enc(roomId)}`, { query: { ts, dir }, timeoutMs });
      } catch (err) {
        this.#o.logger?.info({ server, roomId, err: errorText(err) }, "federation: /timestamp_to_event failed");
        continue;
      }
      const eventId = answer["event_id"];
      const claimedTs = answer["origin_server_ts"];
      // Only an answer in the asked direction, and closer than ours, is worth anything.
      if (typeof eventId !== "string" || !eventId.startsWith("$") || typeof claimedTs !== "number" || !Number.isSafeInteger(claimedTs)) continue;
      if ((dir === "f" && claimedTs < ts) || (dir === "b" && claimedTs > ts)) continue;
      if (local !== undefined && distance(claimedTs) >= distance(local.originServerTs)) return undefined;
      const placed = await this.#placed(server, roomId, eventId, version);
      // The event itself says when it was sent; the server's claim is not taken for it.
      if (placed === undefined || (dir === "f" && placed.originServerTs < ts) || (dir === "b" && placed.originServerTs > ts)) continue;
      if (local !== undefined && distance(placed.originServerTs) >= distance(local.originServerTs)) continue;
      return placed;
    }
    return undefined;
  }

  /** The event, in the room's timeline here: as it is, or fetched from `server`, checked and placed. */
  async #placed(server: string, roomId: string, eventId: string, version: RoomVersion): Promise<TimestampMatch | undefined> {
    const stored = await this.#o.reader.event(eventId);
    if (stored !== undefined && stored.event.roomId !== roomId) return undefined;
    if (stored === undefined || stored.outlier) {
      const event = await this.#o.fetcher.fetchEvent(server, roomId, version, eventId);
      if (event === undefined) return undefined;
      const placedPrevs = await this.#o.fetcher.placed(event.prevEventIds);
      const stateBefore = event.prevEventIds.every((id) => placedPrevs.has(id)) ? undefined : await this.#o.fetcher.stateBefore(server, roomId, version, eventId);
      const result = await this.#o.roomserver.input({ kind: "backfilled", pdu: event.pdu, origin: server, stateBefore });
      if (result.outcome !== "accepted") {
        this.#o.logger?.info({ server, roomId, eventId, outcome: result.outcome }, "federation: the event /timestamp_to_event named was not taken");
        return undefined;
      }
    }
    // In the timeline, so that /context and /messages find it (placed with the backfilled history).
    if (stored?.streamOrdering === undefined) await this.#o.roomserver.placeBackfilled(roomId, [eventId]);
    const read = await this.#o.reader.event(eventId);
    if (read === undefined || read.outlier || read.rejected || read.streamOrdering === undefined) return undefined;
    return { eventId, originServerTs: read.event.originServerTs };
  }
}
