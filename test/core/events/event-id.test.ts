import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { EventFormatError } from "../../../src/core/events/event-format-error.ts";
import { computeEventId } from "../../../src/core/events/event-id.ts";
import { redactEvent } from "../../../src/core/events/redaction.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { version } from "../fixtures/room-versions.ts";

function formatError(reason: string, key?: string) {
  return (err: unknown): boolean => err instanceof EventFormatError && err.reason === reason && (key === undefined || err.key === key);
}

const HASH = "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos";
// Depth 5 gives a reference hash with both "+" and "/" in standard base64.
const EVENT: JsonObject = {
  room_id: "!x:domain",
  sender: "@a:domain",
  origin: "domain",
  origin_server_ts: 1000000,
  signatures: { domain: { "ed25519:1": "whatever" } },
  hashes: { sha256: HASH },
  type: "X",
  content: { body: "not protected" },
  prev_events: [],
  auth_events: [],
  depth: 5,
  unsigned: { age: 10 },
};
const REDACTED_V3 =
  `{"auth_events":[],"content":{},"depth":5,"hashes":{"sha256":"${HASH}"},"origin":"domain",` +
  `"origin_server_ts":1000000,"prev_events":[],"room_id":"!x:domain","sender":"@a:domain","type":"X"}`;
const REDACTED_V11 =
  `{"auth_events":[],"content":{},"depth":5,"hashes":{"sha256":"${HASH}"},` +
  `"origin_server_ts":1000000,"prev_events":[],"room_id":"!x:domain","sender":"@a:domain","type":"X"}`;

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

describe("computeEventId", () => {
  it("v3: $ + unpadded standard base64 of the reference hash (rooms/v3.md)", () => {
    const expected = "$" + digest(REDACTED_V3).toString("base64").replace(/=+$/, "");
    const id = computeEventId(EVENT, version("3"));
    assert.equal(id, expected);
    assert.match(id, /^\$[A-Za-z0-9+/]{43}$/);
    assert.match(id, /[+/]/);
  });

  it("v4-v10: $ + URL-safe unpadded base64 (rooms/fragments/v4-event-ids.md)", () => {
    const expected = "$" + digest(REDACTED_V3).toString("base64url");
    for (const id of ["4", "5", "6", "7", "8", "9", "10"]) {
      const eventId = computeEventId(EVENT, version(id));
      assert.equal(eventId, expected);
      assert.match(eventId, /^\$[A-Za-z0-9_-]{43}$/);
    }
  });

  it("v11-v12: the same over the v11 redacted form (no origin)", () => {
    const expected = "$" + digest(REDACTED_V11).toString("base64url");
    for (const id of ["11", "12"]) assert.equal(computeEventId(EVENT, version(id)), expected);
  });

  it("is the same for an event and its redacted copy", () => {
    for (const id of ["3", "4", "9", "11", "12"]) {
      const v = version(id);
      assert.equal(computeEventId(redactEvent(EVENT, v), v), computeEventId(EVENT, v));
    }
  });

  it("v1-v2: reads event_id as it is", () => {
    for (const id of ["1", "2"]) {
      assert.equal(computeEventId({ ...EVENT, event_id: "$0:domain" }, version(id)), "$0:domain");
      assert.equal(computeEventId({ ...EVENT, event_id: "$abc:[::1]:8448" }, version(id)), "$abc:[::1]:8448");
    }
  });

  it("v1-v2: refuses a missing or malformed event_id", () => {
    const v = version("1");
    assert.throws(() => computeEventId(EVENT, v), formatError("missing_key", "event_id"));
    assert.throws(() => computeEventId({ ...EVENT, event_id: 5 }, v), formatError("wrong_type", "event_id"));
    for (const bad of ["$nodomain", "0:domain", "$:domain", "$a:", "$a:bad domain", "$a\u0000b:domain", ""]) {
      assert.throws(() => computeEventId({ ...EVENT, event_id: bad }, v), formatError("bad_identifier", "event_id"), bad);
    }
    const long = "$" + "a".repeat(247) + ":domain"; // 255 bytes
    assert.equal(computeEventId({ ...EVENT, event_id: long }, v), long);
    assert.throws(() => computeEventId({ ...EVENT, event_id: "$a" + long.slice(1) }, v), formatError("too_large", "event_id"));
  });
});
