// next_batch tokens: what is encoded is decoded back, and anything else is M_INVALID_PARAM.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MatrixError } from "../../../src/core/errors.ts";
import { decodeBatch, encodeBatch, type SearchBatch } from "../../../src/homeserver/search/batch-token.ts";

const batches: fc.Arbitrary<SearchBatch> = fc.record(
  {
    order: fc.constantFrom("rank" as const, "recent" as const),
    stream: fc.maxSafeInteger().chain((n) => fc.constantFrom(n, -n, 0)),
    rank: fc.double({ noNaN: true, noDefaultInfinity: true }),
    group: fc.option(fc.record({ key: fc.constantFrom("room_id" as const, "sender" as const), value: fc.string() }), { nil: undefined }),
  },
).map(({ order, stream, rank, group }) => ({
  order,
  after: order === "rank" ? { streamOrdering: stream, rank: Object.is(rank, -0) ? 0 : rank } : { streamOrdering: stream },
  ...(group === undefined ? {} : { group: { key: group.key, value: group.value } }),
}));

describe("search batch tokens", () => {
  it("decode to what was encoded", () => {
    fc.assert(fc.property(batches, (batch) => assert.deepEqual(decodeBatch(encodeBatch(batch)), batch)));
  });

  it("are opaque URL-safe text", () => {
    fc.assert(fc.property(batches, (batch) => assert.match(encodeBatch(batch), /^[A-Za-z0-9_-]+$/)));
  });

  it("refuse anything else with M_INVALID_PARAM, never another error", () => {
    const json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const refused = [
      "",
      "%%%",
      json(null),
      json({ o: "recent" }),
      json({ o: "newest", s: 1 }),
      json({ o: "recent", s: 1.5 }),
      json({ o: "recent", s: 2 ** 60 }),
      json({ o: "rank", s: 1 }),
      json({ o: "rank", s: 1, r: "0.5" }),
      json({ o: "recent", s: 1, g: "type", k: "m.room.message" }),
      json({ o: "recent", s: 1, g: "room_id" }),
    ];
    const invalid = (token: string): boolean => {
      try {
        decodeBatch(token);
        return false;
      } catch (err) {
        return err instanceof MatrixError && err.errcode === "M_INVALID_PARAM" && err.status === 400;
      }
    };
    for (const token of refused) assert.ok(invalid(token), token);
    fc.assert(
      fc.property(fc.string(), (token) => {
        try {
          decodeBatch(token);
        } catch (err) {
          assert.ok(err instanceof MatrixError && err.errcode === "M_INVALID_PARAM", String(err));
        }
      }),
    );
  });
});
