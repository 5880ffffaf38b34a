// Grouping a page of results (search.yaml `groups`): an example, and the invariants over any page.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { groupResults } from "../../../src/homeserver/search/groups.ts";

describe("groupResults", () => {
  it("partitions by room and by sender, in the order of the results", () => {
    const results = [
      { eventId: "$1", roomId: "!b", sender: "@x" },
      { eventId: "$2", roomId: "!a", sender: "@y" },
      { eventId: "$3", roomId: "!b", sender: "@y" },
    ];
    const groups = groupResults(results, ["room_id", "sender"], (key, value) => (key === "room_id" && value === "!a" ? "more-a" : undefined));
    assert.deepEqual(groups, {
      room_id: { "!b": { results: ["$1", "$3"], order: 1 }, "!a": { results: ["$2"], order: 2, next_batch: "more-a" } },
      sender: { "@x": { results: ["$1"], order: 1 }, "@y": { results: ["$2", "$3"], order: 2 } },
    });
    assert.deepEqual(groupResults([], ["room_id"], () => "t"), { room_id: {} });
  });

  it("puts every result in exactly one group per key, the groups ordered 1..n", () => {
    const result = fc.record({ eventId: fc.uuid(), roomId: fc.constantFrom("!a", "!b", "!c"), sender: fc.constantFrom("@x", "@y") });
    fc.assert(
      fc.property(fc.uniqueArray(result, { selector: (r) => r.eventId }), (results) => {
        const groups = groupResults(results, ["room_id", "sender"], () => undefined) as Record<string, Record<string, { results: string[]; order: number }>>;
        for (const key of ["room_id", "sender"] as const) {
          const entries = Object.entries(groups[key] ?? {});
          assert.deepEqual(entries.flatMap(([, g]) => g.results).sort(), results.map((r) => r.eventId).sort());
          assert.deepEqual(entries.map(([, g]) => g.order), entries.map((_, i) => i + 1));
          for (const [value, g] of entries) {
            const inGroup = results.filter((r) => (key === "room_id" ? r.roomId : r.sender) === value).map((r) => r.eventId);
            assert.deepEqual(g.results, inGroup, "in the order of the results");
          }
        }
      }),
    );
  });
});
