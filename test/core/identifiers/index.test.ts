import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as identifiers from "../../../src/core/identifiers/index.ts";

describe("identifiers index", () => {
  it("re-exports every parser", () => {
    for (const name of [
      "parseServerName", "splitServerName", "parseUserId", "userIdParts", "isValidLocalpart", "isCompliantUserId",
      "userId", "parseRoomId", "parseRoomAlias", "parseEventId", "serverNameOf", "isValidOpaqueId",
      "isValidNamespacedId", "mapToLocalpart",
    ]) {
      assert.equal(typeof (identifiers as Record<string, unknown>)[name], "function", name);
    }
    assert.equal(identifiers.MAX_IDENTIFIER_BYTES, 255);
  });
});
