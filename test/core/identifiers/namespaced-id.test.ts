import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isValidNamespacedId } from "../../../src/core/identifiers/namespaced-id.ts";

describe("isValidNamespacedId", () => {
  it("takes 1-255 of a-z 0-9 - _ . starting with a-z (appendices#common-namespaced-identifier-grammar)", () => {
    for (const id of ["m.login.password", "com.example.identifier", "a", "a-b_c.9", "a".repeat(255)]) {
      assert.equal(isValidNamespacedId(id), true, id);
    }
    for (const id of ["", "a".repeat(256), "9a", ".m", "-a", "M.login", "m.Login", "m login", "m:x", "é"]) {
      assert.equal(isValidNamespacedId(id), false, id);
    }
  });
});
