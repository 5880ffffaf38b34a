import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseRoomAlias } from "../../../src/core/identifiers/room-alias.ts";

const valid: string[] = [
  "#room_alias:example.org",
  "#matrix:matrix.org",
  "#Room:matrix.org:8448",
  "#caf\u00e9 \u{1f600}!:[::1]",
  `#${"a".repeat(255 - 13)}:example.org`, // exactly 255 bytes
];

const invalid: string[] = [
  "",
  "#",
  "room:example.org",
  "!room:example.org",
  "#:example.org",
  "#room",
  "#room:",
  "#ro:om:example.org",
  "#room:example.org:0",
  "#room\u0000:example.org",
  "#room\ud83d:example.org",
  `#${"a".repeat(255 - 12)}:example.org`, // 256 bytes
];

describe("parseRoomAlias", () => {
  for (const alias of valid) {
    it(`accepts ${JSON.stringify(alias.slice(0, 50))}`, () => assert.equal(parseRoomAlias(alias), alias));
  }
  for (const alias of invalid) {
    it(`rejects ${JSON.stringify(alias.slice(0, 50))}`, () => assert.equal(parseRoomAlias(alias), undefined));
  }
});
