import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { applyEventFields, parseDotPath } from "../../../src/core/filters/index.ts";
import type { JsonObject } from "../../../src/core/json.ts";

const event: JsonObject = {
  type: "m.room.message",
  sender: "@alice:x",
  event_id: "$e",
  content: { body: "hi", msgtype: "m.text", "m.relates_to": { rel_type: "m.thread", event_id: "$t" }, "m\\foo": 1, list: [1, 2] },
  unsigned: { age: 5 },
};

describe("parseDotPath", () => {
  it("follows the appendix's escaping rules", () => {
    assert.deepEqual(parseDotPath("content.body"), ["content", "body"]);
    assert.deepEqual(parseDotPath("content.m\\.relates_to"), ["content", "m.relates_to"]);
    assert.deepEqual(parseDotPath("content.m\\\\foo"), ["content", "m\\foo"]);
    // Other escapes stay as written, and so does a trailing backslash.
    assert.deepEqual(parseDotPath("content.\\x"), ["content", "\\x"]);
    assert.deepEqual(parseDotPath("a\\"), ["a\\"]);
    assert.deepEqual(parseDotPath("type"), ["type"]);
    assert.deepEqual(parseDotPath("a..b"), ["a", "", "b"]);
  });

  it("splits back exactly the names a path was escaped from", () => {
    const escape = (name: string): string => name.replace(/[\\.]/g, "\\$&");
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom("a", ".", "\\", "x") }), { minLength: 1, maxLength: 4 }), (names) => {
        assert.deepEqual(parseDotPath(names.map(escape).join(".")), names);
      }),
    );
  });
});

describe("applyEventFields", () => {
  it("keeps the named fields, nested as deep as the paths go", () => {
    assert.deepEqual(applyEventFields(event, ["type", "content.body", "content.m\\.relates_to.rel_type", "content.m\\\\foo"]), {
      type: "m.room.message",
      content: { body: "hi", "m.relates_to": { rel_type: "m.thread" }, "m\\foo": 1 },
    });
  });

  it("keeps a whole object when a path names it, whatever the order", () => {
    const whole = { type: "m.room.message", content: event.content };
    assert.deepEqual(applyEventFields(event, ["type", "content", "content.body"]), whole);
    assert.deepEqual(applyEventFields(event, ["content.body", "content", "type"]), whole);
  });

  it("skips paths that lead nowhere, without leaving empty objects", () => {
    assert.deepEqual(applyEventFields(event, ["content.nope", "nope", "content.list.0", "type.length"]), {});
  });

  it("copies: changing the projection leaves the event alone", () => {
    const projected = applyEventFields(event, ["content"]);
    (projected.content as JsonObject).body = "changed";
    assert.equal((event.content as JsonObject).body, "hi");
  });

  it("keeps a property named __proto__ as a plain property", () => {
    const hostile = JSON.parse('{"content":{"__proto__":{"polluted":true}}}') as JsonObject;
    const projected = applyEventFields(hostile, ["content.__proto__.polluted"]);
    assert.equal(Object.getPrototypeOf(projected.content), Object.prototype);
    assert.deepEqual(Object.keys(projected.content as object), ["__proto__"]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("every path of the result's top level was asked for, and asking for all top-level keys gives the event back", () => {
    fc.assert(
      fc.property(fc.subarray(Object.keys(event)), (keys) => {
        const projected = applyEventFields(event, keys);
        assert.deepEqual(Object.keys(projected).sort(), [...keys].sort());
      }),
    );
    assert.deepEqual(applyEventFields(event, Object.keys(event)), event);
  });
});
