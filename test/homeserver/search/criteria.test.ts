// Reading room_events criteria (search.yaml): the spec's defaults, the limits, and which keys a
// filter's types leave to search.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MatrixError } from "../../../src/core/errors.ts";
import { parseRoomEventFilter } from "../../../src/core/filters/index.ts";
import { DEFAULT_CONTEXT_LIMIT, MAX_CONTEXT_LIMIT, SEARCH_LIMIT_POLICY, parseRoomEventsCriteria, searchedKeys } from "../../../src/homeserver/search/criteria.ts";
import { SEARCH_KEYS } from "../../../src/homeserver/search/searchable.ts";

describe("parseRoomEventsCriteria", () => {
  it("fills in the spec's defaults", () => {
    const criteria = parseRoomEventsCriteria({ search_term: "x" });
    assert.deepEqual(criteria.keys, SEARCH_KEYS, "keys: all");
    assert.equal(criteria.orderBy, "rank");
    assert.equal(criteria.eventContext, undefined);
    assert.equal(criteria.includeState, false);
    assert.deepEqual(criteria.groupBy, []);
    assert.equal(criteria.filter.limit, SEARCH_LIMIT_POLICY.defaultLimit);
    assert.deepEqual(parseRoomEventsCriteria({ search_term: "x", event_context: {} }).eventContext, {
      beforeLimit: DEFAULT_CONTEXT_LIMIT,
      afterLimit: DEFAULT_CONTEXT_LIMIT,
      includeProfile: false,
    });
  });

  it("reads what is given, capping limits and dropping repeated groups", () => {
    const criteria = parseRoomEventsCriteria({
      search_term: "x",
      keys: ["content.topic", "content.body"],
      order_by: "recent",
      filter: { limit: 100_000, senders: ["@a:x"] },
      event_context: { before_limit: 1, after_limit: 10_000, include_profile: true },
      include_state: true,
      groupings: { group_by: [{ key: "sender" }, { key: "room_id" }, { key: "sender" }, {}] },
    });
    assert.deepEqual(criteria.keys, ["content.body", "content.topic"]);
    assert.equal(criteria.orderBy, "recent");
    assert.equal(criteria.filter.limit, SEARCH_LIMIT_POLICY.maxLimit);
    assert.deepEqual(criteria.filter.senders, ["@a:x"]);
    assert.deepEqual(criteria.eventContext, { beforeLimit: 1, afterLimit: MAX_CONTEXT_LIMIT, includeProfile: true });
    assert.equal(criteria.includeState, true);
    assert.deepEqual(criteria.groupBy, ["sender", "room_id"]);
  });

  it("refuses negative context limits and a missing term", () => {
    const code = (json: Record<string, unknown>) => {
      try {
        parseRoomEventsCriteria(json as never);
        return undefined;
      } catch (err) {
        return err instanceof MatrixError ? err.errcode : String(err);
      }
    };
    assert.equal(code({ search_term: "x", event_context: { before_limit: -1 } }), "M_INVALID_PARAM");
    assert.equal(code({ search_term: "x", event_context: { after_limit: 1.5 } }), "M_INVALID_PARAM");
    assert.equal(code({}), "M_MISSING_PARAM");
  });
});

describe("searchedKeys", () => {
  const keys = (filter: Record<string, unknown>) => searchedKeys(SEARCH_KEYS, parseRoomEventFilter(filter));
  it("keeps the keys whose event type the filter's types let through", () => {
    assert.deepEqual(keys({}), SEARCH_KEYS);
    assert.deepEqual(keys({ types: ["m.room.message"] }), ["content.body"]);
    assert.deepEqual(keys({ types: ["m.room.n*", "m.room.t*"] }), ["content.name", "content.topic"]);
    assert.deepEqual(keys({ not_types: ["m.room.message"] }), ["content.name", "content.topic"]);
    assert.deepEqual(keys({ types: ["*"], not_types: ["m.room.*"] }), []);
    assert.deepEqual(keys({ types: [] }), []);
    assert.deepEqual(searchedKeys(["content.name"], parseRoomEventFilter({ types: ["m.room.message"] })), []);
  });
});
