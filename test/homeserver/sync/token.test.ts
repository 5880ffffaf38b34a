import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MatrixError } from "../../../src/core/errors.ts";
import {
  encodePaginationToken,
  encodeSyncToken,
  InvalidTokenError,
  isAtOrBefore,
  MAX_TOKEN_LENGTH,
  maxPositions,
  parsePaginationToken,
  parseSyncToken,
  STREAMS,
  ZERO_POSITIONS,
  type StreamPositions,
} from "../../../src/homeserver/sync/token.ts";

const position = fc.oneof(fc.constant(0), fc.nat({ max: 1000 }), fc.maxSafeNat());
const positions: fc.Arbitrary<StreamPositions> = fc.record(
  Object.fromEntries(STREAMS.map((s) => [s, position])) as Record<keyof StreamPositions, fc.Arbitrary<number>>,
);

function refusedSync(token: string): void {
  assert.throws(() => parseSyncToken(token), InvalidTokenError, token);
}
function refusedPagination(token: string): void {
  assert.throws(() => parsePaginationToken(token), InvalidTokenError, token);
}

describe("sync tokens", () => {
  it("round-trips positions", () => {
    fc.assert(fc.property(positions, (p) => assert.deepEqual(parseSyncToken(encodeSyncToken(p)), { ...p })));
  });

  it("round-trips strings: every accepted token is the canonical spelling", () => {
    const alphabet = fc.constantFrom("s", "1", "_", "r", "a", "d", "l", "t", "c", "p", "0", "2", "9", "x");
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 20 }).map((xs) => "s1" + xs.join("")), (s) => {
        let parsed: StreamPositions;
        try {
          parsed = parseSyncToken(s);
        } catch (e) {
          assert.ok(e instanceof InvalidTokenError);
          return;
        }
        assert.equal(encodeSyncToken(parsed), s);
      }),
      { numRuns: 5000 },
    );
  });

  it("is compact and URL-safe", () => {
    assert.equal(encodeSyncToken(ZERO_POSITIONS), "s1");
    assert.equal(encodeSyncToken({ ...ZERO_POSITIONS, roomEvents: 123, typing: 9, accountData: 4 }), "s1_r123_a4_t9");
    fc.assert(fc.property(positions, (p) => {
      const token = encodeSyncToken(p);
      assert.match(token, /^[A-Za-z0-9_]+$/);
      assert.equal(encodeURIComponent(token), token);
      assert.ok(token.length <= MAX_TOKEN_LENGTH);
    }));
  });

  it("refuses garbage, other versions, other servers' tokens and non-canonical spellings", () => {
    for (const token of [
      "", "s", "s2", "s0", "S1", "p1_1_2", "s1_", "s1__r1", "s1_r", "s1_r-1", "s1_r1.5", "s1_rx", "s1_z1",
      "s1_r01", "s1_r0", "s1_a1_r2", "s1_r1_r2", "s1_r99999999999999999", "s1_r1 ", " s1",
      "s72594_4483_1934", "s2633508_17_338_6732159_1082514_541479_274711_265584_1_379", "t426-2633508",
      "s1_r1".padEnd(MAX_TOKEN_LENGTH + 1, "0"),
    ]) refusedSync(token);
  });

  it("answers a bad token with 400 M_INVALID_PARAM", () => {
    try {
      parseSyncToken("nonsense");
      assert.fail("accepted");
    } catch (e) {
      assert.ok(e instanceof MatrixError);
      assert.equal(e.errcode, "M_INVALID_PARAM");
      assert.equal(e.status, 400);
    }
  });

  it("refuses to write positions that could not be read back", () => {
    assert.throws(() => encodeSyncToken({ ...ZERO_POSITIONS, typing: -1 }), RangeError);
    assert.throws(() => encodeSyncToken({ ...ZERO_POSITIONS, typing: 1.5 }), RangeError);
    assert.throws(() => encodeSyncToken({ ...ZERO_POSITIONS, typing: 2 ** 60 }), RangeError);
  });

  it("maxPositions and isAtOrBefore agree", () => {
    fc.assert(fc.property(positions, positions, (a, b) => {
      const m = maxPositions(a, b);
      assert.ok(isAtOrBefore(a, m) && isAtOrBefore(b, m));
      assert.equal(isAtOrBefore(a, b), STREAMS.every((s) => m[s] === b[s]));
    }));
  });
});

describe("pagination tokens", () => {
  const pair = fc.record({ topological: position, stream: position });

  it("round-trips positions and strings", () => {
    fc.assert(fc.property(pair, (p) => {
      const token = encodePaginationToken(p);
      assert.deepEqual(parsePaginationToken(token), { ...p });
      assert.match(token, /^p1_[0-9]+_[0-9]+$/);
    }));
  });

  it("accepts a sync token as a point in the room events stream", () => {
    fc.assert(fc.property(positions, (p) => {
      assert.deepEqual(parsePaginationToken(encodeSyncToken(p)), { topological: null, stream: p.roomEvents });
    }));
  });

  it("round-trips positions below zero (backfilled history) as n and the magnitude", () => {
    fc.assert(fc.property(position, position.filter((p) => p > 0), (topological, below) => {
      const token = encodePaginationToken({ topological, stream: -below });
      assert.equal(token, `p1_${topological}_n${below}`);
      assert.deepEqual(parsePaginationToken(token), { topological, stream: -below });
    }));
    for (const token of ["p1_1_n0", "p1_1_n", "p1_1_n01", "p1_1_nn2", "p1_1_n-2"]) refusedPagination(token);
  });

  it("refuses garbage", () => {
    for (const token of ["", "p1", "p1_1", "p1_1_2_3", "p2_1_2", "p1_01_2", "p1_1_-2", "p1_a_b", "p1__2", "s1_q1", "t426-2633508", "s99"]) {
      refusedPagination(token);
    }
    assert.throws(() => encodePaginationToken({ topological: -1, stream: 0 }), RangeError);
  });
});
