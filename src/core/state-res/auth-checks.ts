// The authorization rules as state resolution uses them: the iterative auth checks, and the power
// level of an event's sender according to its auth events.
import { authEventsSelection, checkEventAuth, powerLevelOf } from "../auth/index.ts";
import type { AuthStateLookup } from "../auth/index.ts";
import { stateMapKey } from "../events/room-event.ts";
import type { RoomEvent, StateMap } from "../events/room-event.ts";
import { isJsonObject } from "../json.ts";
import type { EventGraph } from "./graph.ts";

/** A state map being built on top of a base that it never changes (the unconflicted state map, in v2). */
export class PartialState {
  readonly base: ReadonlyMap<string, string> | undefined;
  readonly top: StateMap = new Map();

  constructor(base?: ReadonlyMap<string, string>) {
    this.base = base;
  }

  get(key: string): string | undefined {
    return this.top.get(key) ?? this.base?.get(key);
  }

  set(key: string, eventId: string): void {
    this.top.set(key, eventId);
  }
}

/**
 * The state keys the authorization rules may consult for this event: those of server-server-api
 * "Auth events selection", plus the create event and join rules in every case (cheap to have).
 * Used to fetch those entries of a base state before the checks, which look them up synchronously.
 */
export function authKeysFor(event: RoomEvent): string[] {
  const keys = new Set([stateMapKey("m.room.create", ""), stateMapKey("m.room.join_rules", "")]);
  if (isJsonObject(event.content)) {
    for (const [type, stateKey] of authEventsSelection(event, event.roomVersion)) keys.add(stateMapKey(type, stateKey));
  }
  return [...keys];
}

/** The first of the event's auth events with this type and state key, skipping those in `skip`. */
function authEventFor(
  graph: EventGraph,
  edges: readonly number[],
  type: string,
  stateKey: string,
  skip: ReadonlySet<number> | undefined,
): RoomEvent | undefined {
  for (const a of edges) {
    const e = graph.event(a);
    if (e !== undefined && e.type === type && e.stateKey === stateKey && (skip === undefined || !skip.has(a))) return e;
  }
  return undefined;
}

/**
 * The sender's power level "when looking at their respective auth_events"
 * (rooms/fragments/v2-state-res.md "Reverse topological power ordering").
 */
export function senderPowerLevel(graph: EventGraph, i: number): number {
  const event = graph.event(i);
  if (event === undefined) return 0;
  const edges = graph.edges(i);
  const lookup: AuthStateLookup = (type, stateKey) => authEventFor(graph, edges, type, stateKey, undefined);
  let level: number;
  try {
    level = powerLevelOf(event.sender, lookup, graph.version);
  } catch {
    level = 0;
  }
  return typeof level === "number" && !Number.isNaN(level) ? level : 0;
}

/**
 * rooms/fragments/v2-state-res.md "Iterative auth checks": apply each event in order if the
 * authorization rules allow it against the state so far; a key the rules need that the state lacks
 * is taken from the event's own auth events, unless that auth event was rejected.
 */
export function iterativeAuthChecks(
  graph: EventGraph,
  events: readonly number[],
  state: PartialState,
  rejected: ReadonlySet<number>,
): void {
  for (const i of events) {
    const event = graph.event(i);
    if (event === undefined || event.stateKey === undefined) continue;
    const edges = graph.edges(i);
    const lookup: AuthStateLookup = (type, stateKey) => {
      const id = state.get(stateMapKey(type, stateKey));
      if (id !== undefined) {
        const fromState = graph.eventById(id);
        if (fromState !== undefined) return fromState;
      }
      return authEventFor(graph, edges, type, stateKey, rejected);
    };
    let allowed: boolean;
    try {
      allowed = checkEventAuth(event, lookup).allowed;
    } catch {
      // A malformed event that trips the rules is not allowed, never a crash of the resolution.
      allowed = false;
    }
    if (allowed) state.set(stateMapKey(event.type, event.stateKey), event.eventId);
  }
}
