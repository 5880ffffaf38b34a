// What the backfiller takes from a /backfill answer (backfill.yaml: "the PDUs given in v and the
// PDUs that preceded them"): events that do not precede the events asked about are not history of
// ours, whatever the answering server says.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RoomEvent } from "../../../src/core/events/room-event.ts";
import { precedingFrom } from "../../../src/homeserver/federation/backfill.ts";

const ev = (eventId: string, ...prevEventIds: string[]): RoomEvent => ({ eventId, prevEventIds }) as unknown as RoomEvent;
const ids = (events: readonly RoomEvent[]): string[] => events.map((e) => e.eventId).sort();

describe("backfill: the events an answer may give", () => {
  it("keeps the events asked about and those before them, in the answer's graph", () => {
    const answer = [ev("$c", "$b"), ev("$b", "$a"), ev("$a", "$older"), ev("$x", "$y"), ev("$y")];
    assert.deepEqual(ids(precedingFrom(answer, ["$c"])), ["$a", "$b", "$c"]);
  });

  it("follows every prev_event of a fork", () => {
    const answer = [ev("$m", "$l", "$r"), ev("$l", "$root"), ev("$r", "$root"), ev("$root"), ev("$stray")];
    assert.deepEqual(ids(precedingFrom(answer, ["$m"])), ["$l", "$m", "$r", "$root"]);
  });

  it("walks from the answer's newest when it leaves out the events asked about", () => {
    const answer = [ev("$b", "$a"), ev("$a")];
    assert.deepEqual(ids(precedingFrom(answer, ["$asked"])), ["$a", "$b"]);
  });

  it("survives a cycle", () => {
    const answer = [ev("$p", "$q"), ev("$q", "$p")];
    assert.deepEqual(ids(precedingFrom(answer, ["$p"])), ["$p", "$q"]);
  });
});
