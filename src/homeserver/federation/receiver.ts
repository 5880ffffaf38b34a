// Receiving transactions (server-server-api#put_matrixfederationv1sendtxnid): at most 50 PDUs and
// 100 EDUs; a transaction sent again gets the answer the first one got; every PDU goes through
// the one pipeline (roomserver.input, kind "new"), the gaps before it filled first, and gets a
// result; EDUs go to the services that registered for them. The room's server ACL applies to
// every PDU and to the EDUs local to a room (server-server-api#server-access-control-lists-acls).
import type { RoomEvent } from "../../core/events/room-event.ts";
import { MatrixError } from "../../core/errors.ts";
import { serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { FederationTxnStore } from "../../storage/stores/federation-txns.ts";
import type { InputResult, Roomserver } from "../roomserver/index.ts";
import type { EduDispatcher } from "./edus.ts";
import type { EventFetcher } from "./event-fetcher.ts";
import { byPrevEvents, parsePdu, sortTopologically } from "./remote-events.ts";
import type { RoomReader } from "./room-reader.ts";
import type { RoomServers } from "./room-servers.ts";
import { MAX_EDUS_PER_TRANSACTION, MAX_PDUS_PER_TRANSACTION } from "./sender.ts";

interface Log {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ReceiverOptions {
  readonly roomserver: Pick<Roomserver, "input" | "signReceived">;
  readonly reader: RoomReader;
  readonly rooms: RoomServers;
  readonly fetcher: EventFetcher;
  readonly txns: FederationTxnStore;
  readonly edus: EduDispatcher;
  /** Given the PDUs of rooms unknown here (they may retract an invite of one of our users). */
  readonly onUnknownRoom?: (origin: string, roomId: string, pdus: readonly unknown[]) => Promise<void>;
  /** Told of every transaction's origin: a destination we failed to reach is back. */
  readonly onOriginSeen?: (origin: string) => void;
  readonly logger?: Log;
  readonly now?: () => number;
}

type PduResult = { readonly error?: string };

export class FederationReceiver {
  readonly #options: ReceiverOptions;
  readonly #now: () => number;
  /** Transactions being processed, by origin and ID: one sent again meanwhile waits for the first. */
  readonly #running = new Map<string, Promise<JsonObject>>();

  constructor(options: ReceiverOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Processes a transaction from `origin` (authenticated by its X-Matrix signature) and answers its results. */
  async receive(origin: string, txnId: string, body: JsonObject): Promise<JsonObject> {
    const pdus = body["pdus"];
    const edus = body["edus"] ?? [];
    if (!Array.isArray(pdus)) throw new MatrixError("M_BAD_JSON", "pdus must be an array", 400);
    if (!Array.isArray(edus)) throw new MatrixError("M_BAD_JSON", "edus must be an array", 400);
    // transactions.yaml: "they can have at most 50 PDUs and 100 EDUs".
    if (pdus.length > MAX_PDUS_PER_TRANSACTION || edus.length > MAX_EDUS_PER_TRANSACTION) {
      throw new MatrixError("M_BAD_JSON", `a transaction has at most ${MAX_PDUS_PER_TRANSACTION} PDUs and ${MAX_EDUS_PER_TRANSACTION} EDUs`, 400);
    }
    if (body["origin"] !== undefined && body["origin"] !== origin) {
      throw new MatrixError("M_FORBIDDEN", "the transaction's origin is not the server that signed the request", 403);
    }
    this.#options.onOriginSeen?.(origin);
    const key = `${origin}\u0000${txnId}`;
    const running = this.#running.get(key);
    if (running !== undefined) return running;
    const promise = this.#receiveOnce(origin, txnId, pdus, edus).finally(() => this.#running.delete(key));
    this.#running.set(key, promise);
    return promise;
  }

  async #receiveOnce(origin: string, txnId: string, pdus: readonly unknown[], edus: readonly unknown[]): Promise<JsonObject> {
    const done = await this.#options.txns.response(origin, txnId);
    if (done !== undefined) return done;
    const [results] = await Promise.all([this.#processPdus(origin, pdus), this.#options.edus.dispatch(origin, edus)]);
    const response: JsonObject = { pdus: results };
    await this.#options.txns.record(origin, txnId, response, this.#now());
    return response;
  }

  async #processPdus(origin: string, pdus: readonly unknown[]): Promise<JsonObject> {
    const results: Record<string, PduResult> = {};
    const byRoom = new Map<string, unknown[]>();
    for (const pdu of pdus) {
      const roomId = isJsonObject(pdu) ? pdu["room_id"] : undefined;
      if (typeof roomId !== "string") {
        this.#options.logger?.debug({ origin }, "federation: dropped a PDU without a room_id");
        continue;
      }
      const list = byRoom.get(roomId) ?? [];
      list.push(pdu);
      byRoom.set(roomId, list);
    }
    // Rooms side by side; the events of one room in order.
    await Promise.all(
      [...byRoom].map(async ([roomId, list]) => {
        try {
          Object.assign(results, await this.#processRoom(origin, roomId, list));
        } catch (err) {
          this.#options.logger?.error({ err, origin, roomId }, "federation: processing a room's PDUs failed");
          throw err;
        }
      }),
    );
    return results as JsonObject;
  }

  async #processRoom(origin: string, roomId: string, pdus: readonly unknown[]): Promise<Record<string, PduResult>> {
    const results: Record<string, PduResult> = {};
    const version = await this.#options.reader.roomVersion(roomId);
    // Without the room's version the event IDs cannot even be computed: nothing to answer by. A
    // room with only out-of-band memberships here (an invite received) is not one we are in either.
    if (version === undefined || !(await this.#options.reader.hasState(roomId))) {
      this.#options.logger?.info({ origin, roomId, pdus: pdus.length }, "federation: dropped PDUs of a room unknown here");
      await this.#options.onUnknownRoom?.(origin, roomId, pdus);
      return results;
    }
    const events: RoomEvent[] = [];
    for (const pdu of pdus) {
      const parsed = parsePdu(pdu, version);
      if ("event" in parsed) events.push(parsed.event);
      else if (parsed.eventId !== undefined) results[parsed.eventId] = { error: `invalid event: ${parsed.error}` };
    }
    // server-server-api#server-access-control-lists-acls: "ACLs MUST be applied to all PDUs on a per-PDU basis."
    if (!(await this.#options.rooms.isAllowed(roomId, origin))) {
      for (const event of events) results[event.eventId] = { error: "the room's server ACL denies this server" };
      return results;
    }
    const accepted: RoomEvent[] = [];
    for (const event of events) {
      const refusal = await this.#mayRelay(origin, roomId, event);
      if (refusal === undefined) accepted.push(event);
      else results[event.eventId] = { error: refusal };
    }
    if (accepted.length === 0) return results;
    const ordered = sortTopologically(accepted, byPrevEvents);
    const gap = await this.#options.fetcher.fillGaps(origin, roomId, version, ordered);
    const inputs = [...gap.missing, ...ordered];
    const received = new Set(ordered.map((e) => e.eventId));
    // In a room using a policy server, those without its signature are asked for it first, all at
    // once; then every event is queued, in order.
    const signed = await this.#options.roomserver.signReceived(roomId, inputs.map((event) => event.pdu));
    const outcomes = await Promise.all(
      inputs.map((event, i) =>
        this.#options.roomserver.input({ kind: "new", pdu: signed[i] ?? event.pdu, origin, stateBefore: gap.stateBefore.get(event.eventId) }),
      ),
    );
    inputs.forEach((event, i) => {
      if (received.has(event.eventId)) results[event.eventId] = resultOf(outcomes[i] as InputResult);
    });
    this.#logRefusals(origin, inputs, outcomes, version);
    return results;
  }

  /**
   * Whether `origin` may hand us this event: it must be in the room, or the event is its own
   * user's membership (a join, knock or leave it makes through a resident, then relays).
   */
  async #mayRelay(origin: string, roomId: string, event: RoomEvent): Promise<string | undefined> {
    if (await this.#options.rooms.isServerInRoom(roomId, origin)) return undefined;
    if (event.type === "m.room.member" && event.stateKey === event.sender && serverNameOf(event.sender) === origin) return undefined;
    return `${origin} is not in the room`;
  }

  #logRefusals(origin: string, events: readonly RoomEvent[], outcomes: readonly InputResult[], version: RoomVersion): void {
    outcomes.forEach((outcome, i) => {
      if (outcome.outcome === "accepted" || outcome.outcome === "soft_failed") return;
      this.#options.logger?.info(
        { origin, eventId: events[i]?.eventId, outcome: outcome.outcome, reason: outcome.reason, roomVersion: version.id },
        "federation: a received event was not accepted",
      );
    });
  }
}

/** The per-PDU result: no error when the event was handled (soft failure included). */
function resultOf(outcome: InputResult): PduResult {
  switch (outcome.outcome) {
    case "accepted":
    case "soft_failed":
      return {};
    case "rejected":
      return { error: `rejected: ${outcome.reason}` };
    case "refused":
      return { error: `refused: ${outcome.reason}` };
  }
}
