import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isValidOpaqueId } from "../../../src/core/identifiers/opaque-id.ts";

describe("isValidOpaqueId", () => {
  it("takes 1-255 of 0-9 A-Z a-z - . _ ~ (appendices#opaque-identifiers)", () => {
    for (const id of ["a", "ABCDEFGHIJ", "m1234567890.txn-id_~", "~", "x".repeat(255)]) {
      assert.equal(isValidOpaqueId(id), true, id);
    }
    for (const id of ["", "x".repeat(256), "a b", "a:b", "a/b", "a+b", "a=b", "é", "a\u0000", "a\n"]) {
      assert.equal(isValidOpaqueId(id), false, JSON.stringify(id));
    }
  });
});
