// What of an event the search index takes (modules/search.md "room_events").
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RoomEvent } from "../../../src/core/events/room-event.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { searchEntryOf } from "../../../src/homeserver/search/searchable.ts";

function event(type: string, content: JsonObject, stateKey?: string): RoomEvent {
  return { eventId: "$e", roomId: "!r:x", type, stateKey, sender: "@a:x", content, originServerTs: 7 } as unknown as RoomEvent;
}

const valueOf = (e: RoomEvent) => searchEntryOf(e, 3)?.value;

describe("searchEntryOf", () => {
  it("takes a message's body, with where it is and whether it has a url", () => {
    assert.deepEqual(searchEntryOf(event("m.room.message", { msgtype: "m.image", body: " cat.png ", url: "mxc://x/y" }), 3), {
      eventId: "$e",
      roomId: "!r:x",
      sender: "@a:x",
      key: "content.body",
      value: "cat.png",
      containsUrl: true,
      streamOrdering: 3,
      originServerTs: 7,
    });
  });

  it("takes a room's name, and its topic with m.topic's text/plain bodies", () => {
    assert.equal(searchEntryOf(event("m.room.name", { name: "Lounge" }, ""), 3)?.key, "content.name");
    assert.equal(valueOf(event("m.room.name", { name: "Lounge" }, "")), "Lounge");
    const topic = event("m.room.topic", {
      topic: "Plain",
      "m.topic": { "m.text": [{ mimetype: "text/html", body: "<i>Rich</i>" }, { body: "Default plain" }, { mimetype: "text/plain", body: "Plain" }, "junk"] },
    }, "");
    assert.equal(searchEntryOf(topic, 3)?.key, "content.topic");
    assert.equal(valueOf(topic), "Plain\nDefault plain");
    assert.equal(valueOf(event("m.room.topic", { topic: "", "m.topic": { "m.text": [{ body: "only here" }] } }, "")), "only here");
  });

  it("takes nothing from other events, empty texts or misplaced keys", () => {
    for (const e of [
      event("m.room.encrypted", { body: "secret", ciphertext: "x" }),
      event("m.room.member", { membership: "join", displayname: "Name" }, "@a:x"),
      event("m.room.message", { msgtype: "m.text" }),
      event("m.room.message", { body: 42 }),
      event("m.room.message", { body: "   " }),
      event("m.room.message", { body: "a state message" }, ""),
      event("m.room.name", { name: "not state" }),
      event("m.room.name", { name: "odd key" }, "x"),
      event("m.room.topic", { topic: ["x"] }, ""),
      event("m.sticker", { body: "sticker" }),
    ]) {
      assert.equal(searchEntryOf(e, 1), undefined, JSON.stringify([e.type, e.content]));
    }
  });
});
