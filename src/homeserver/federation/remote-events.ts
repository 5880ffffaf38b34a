// Events received from other servers, before they enter the pipeline: read in their room's
// version, put in an order the pipeline can take them in (what an event cites comes first),
// and stored as outliers when they only describe a room's state (auth chains, /state answers).
import { EventFormatError } from "../../core/events/event-format-error.ts";
import { toRoomEvent } from "../../core/events/pdu.ts";
import type { Pdu, RoomEvent } from "../../core/events/room-event.ts";
import { isJsonObject } from "../../core/json.ts";
import type { RoomVersion } from "../../core/room-versions/room-versions.ts";
import type { InputResult, Roomserver } from "../roomserver/index.ts";

export type ParsedPdu = { readonly event: RoomEvent } | { readonly error: string; readonly eventId: string | undefined };

/** A received PDU in its room's version, or why it cannot be read (with its event ID when it has one). */
export function parsePdu(pdu: unknown, version: RoomVersion): ParsedPdu {
  if (!isJsonObject(pdu)) return { error: "a PDU must be a JSON object", eventId: undefined };
  // A PDU's `unsigned` is the sender's, covered by no hash or signature: it does not travel on.
  const { unsigned: _unsigned, ...rest } = pdu;
  try {
    return { event: toRoomEvent(rest as Pdu, version) };
  } catch (err) {
    if (!(err instanceof EventFormatError)) throw err;
    const eventId = version.eventIdFormat === "v1" && typeof pdu["event_id"] === "string" ? pdu["event_id"] : undefined;
    return { error: err.message, eventId };
  }
}

/** The readable PDUs of a list that belong to the room; the others are dropped. */
export function parsePdusOfRoom(pdus: unknown, roomId: string, version: RoomVersion): RoomEvent[] {
  if (!Array.isArray(pdus)) return [];
  const out: RoomEvent[] = [];
  for (const pdu of pdus) {
    const parsed = parsePdu(pdu, version);
    if ("event" in parsed && parsed.event.roomId === roomId) out.push(parsed.event);
  }
  return out;
}

/**
 * A topological order of events by the edges `edgesOf` names within the set (an event after the
 * ones it cites), shallower first where the graph leaves a choice. Duplicates are dropped; a
 * cycle's events come last, in depth order (the pipeline refuses what it cannot place).
 */
export function sortTopologically(events: readonly RoomEvent[], edgesOf: (event: RoomEvent) => readonly string[]): RoomEvent[] {
  const byId = new Map<string, RoomEvent>();
  for (const event of events) if (!byId.has(event.eventId)) byId.set(event.eventId, event);
  const ordered = [...byId.values()].sort((a, b) => a.depth - b.depth || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  const waiting = new Map<string, number>();
  const children = new Map<string, string[]>();
  for (const event of ordered) {
    let n = 0;
    for (const cited of new Set(edgesOf(event))) {
      if (!byId.has(cited) || cited === event.eventId) continue;
      n++;
      const list = children.get(cited) ?? [];
      list.push(event.eventId);
      children.set(cited, list);
    }
    waiting.set(event.eventId, n);
  }
  const out: RoomEvent[] = [];
  const ready = ordered.filter((e) => waiting.get(e.eventId) === 0);
  for (let i = 0; i < ready.length; i++) {
    const event = ready[i] as RoomEvent;
    out.push(event);
    for (const child of children.get(event.eventId) ?? []) {
      const n = (waiting.get(child) ?? 0) - 1;
      waiting.set(child, n);
      if (n === 0) ready.push(byId.get(child) as RoomEvent);
    }
  }
  if (out.length < ordered.length) {
    const placed = new Set(out.map((e) => e.eventId));
    for (const event of ordered) if (!placed.has(event.eventId)) out.push(event);
  }
  return out;
}

export const byPrevEvents = (event: RoomEvent): readonly string[] => event.prevEventIds;
export const byAuthEvents = (event: RoomEvent): readonly string[] => event.authEventIds;

/**
 * Stores events as outliers (server-server-api: their place in the room is not known; checks 1-4
 * apply), auth events first. All enter the room's queue at once, so they share its batches.
 */
export async function storeOutliers(
  roomserver: Pick<Roomserver, "input">,
  events: readonly RoomEvent[],
  version: RoomVersion,
  origin: string,
): Promise<Map<string, InputResult>> {
  const ordered = sortTopologically(events, byAuthEvents);
  const results = await Promise.all(ordered.map((event) => roomserver.input({ kind: "outlier", pdu: event.pdu, roomVersion: version.id, origin })));
  const out = new Map<string, InputResult>();
  ordered.forEach((event, i) => out.set(event.eventId, results[i] as InputResult));
  return out;
}

/** Whether an input's event is stored now (accepted, soft failed, or rejected and kept as such). */
export function isStored(result: InputResult | undefined): boolean {
  return result !== undefined && result.outcome !== "refused";
}
