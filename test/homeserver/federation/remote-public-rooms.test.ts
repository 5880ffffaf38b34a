// RemotePublicRooms against scripted answers: what another server's room list may hold is checked
// room by room, a server without the POST form is asked with GET and filtered here, unfiltered
// pages are cached for a minute, and its refusals reach our client in terms that do not mislead.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import { FederationRequestError } from "../../../src/homeserver/federation/client.ts";
import { RemotePublicRooms, type PublicRoomsClient } from "../../../src/homeserver/federation/public-rooms.ts";

function scripted(answer: (method: "GET" | "POST", body?: JsonObject, query?: unknown) => JsonObject): PublicRoomsClient & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    get: async (_d, _p, options) => {
      calls.push(`GET ${JSON.stringify(options?.query ?? {})}`);
      return answer("GET", undefined, options?.query);
    },
    post: async (_d, _p, body) => {
      calls.push(`POST ${JSON.stringify(body)}`);
      return answer("POST", body);
    },
  };
}

const room = (id: string, extra: JsonObject = {}): JsonObject => ({ room_id: id, num_joined_members: 1, world_readable: false, guest_can_join: false, ...extra });

describe("RemotePublicRooms", () => {
  it("keeps only well-formed rooms and fields of a hostile answer", async () => {
    const client = scripted(() => ({
      chunk: [room("!ok:x", { name: "Fine", topic: 42, extra: "dropped" }), { room_id: 5 }, "nonsense", room("no-bang"), room("!neg:x", { num_joined_members: -1 })],
      next_batch: 7,
      prev_batch: "p1",
      total_room_count_estimate: "many",
    }));
    const page = await new RemotePublicRooms(client, "us.test").publicRooms("them.test", {});
    assert.deepEqual(page, { chunk: [{ room_id: "!ok:x", num_joined_members: 1, world_readable: false, guest_can_join: false, join_rule: "public", name: "Fine" }], prev_batch: "p1" });
    await assert.rejects(new RemotePublicRooms(scripted(() => ({ rooms: [] })), "us.test").publicRooms("them.test", {}), { status: 502 });
  });

  it("asks with GET and filters here when the server lacks the POST form", async () => {
    const client = scripted((method) => {
      if (method === "POST") throw new FederationRequestError("them.test", "http", "unknown", 404, "M_UNRECOGNIZED");
      return { chunk: [room("!a:x", { name: "Cats" }), room("!b:x", { name: "Dogs", room_type: "m.space" }), room("!c:x", { topic: "cats and dogs" })] };
    });
    const remote = new RemotePublicRooms(client, "us.test");
    const cats = await remote.publicRooms("them.test", { genericSearchTerm: "CAT" });
    assert.deepEqual((cats["chunk"] as JsonObject[]).map((r) => r["room_id"]), ["!a:x", "!c:x"]);
    const spaces = await remote.publicRooms("them.test", { roomTypes: ["m.space"] });
    assert.deepEqual((spaces["chunk"] as JsonObject[]).map((r) => r["room_id"]), ["!b:x"]);
    assert.deepEqual(client.calls.map((c) => c.split(" ")[0]), ["POST", "GET", "POST", "GET"]);
  });

  it("caches unfiltered pages for a minute, per page, and never failures", async () => {
    let now = 1_000_000;
    let fail = true;
    let n = 0;
    const client = scripted(() => {
      if (fail) throw new FederationRequestError("them.test", "connection", "refused");
      return { chunk: [room(`!r${++n}:x`)] };
    });
    const remote = new RemotePublicRooms(client, "us.test", () => now);
    await assert.rejects(remote.publicRooms("them.test", { limit: 5 }), { errcode: "M_CONNECTION_FAILED", status: 502 });
    fail = false;
    const first = await remote.publicRooms("them.test", { limit: 5 });
    assert.deepEqual(await remote.publicRooms("them.test", { limit: 5 }), first);
    assert.notDeepEqual(await remote.publicRooms("them.test", { limit: 5, since: "x" }), first);
    now += 60_000;
    assert.notDeepEqual(await remote.publicRooms("them.test", { limit: 5 }), first);
    assert.equal(client.calls.length, 4);
  });

  it("passes on the server's own refusals, not those about our request to it", async () => {
    const refusing = (status: number, errcode: string) =>
      new RemotePublicRooms(
        scripted(() => {
          throw new FederationRequestError("them.test", "http", "no", status, errcode);
        }),
        "us.test",
      );
    await assert.rejects(refusing(403, "M_FORBIDDEN").publicRooms("them.test", {}), { errcode: "M_FORBIDDEN", status: 403 });
    await assert.rejects(refusing(400, "M_INVALID_PARAM").publicRooms("them.test", { since: "bad" }), { errcode: "M_INVALID_PARAM", status: 400 });
    await assert.rejects(refusing(401, "M_UNAUTHORIZED").publicRooms("them.test", {}), { errcode: "M_UNKNOWN", status: 502 });
    await assert.rejects(refusing(404, "M_UNRECOGNIZED").publicRooms("them.test", {}), { errcode: "M_UNKNOWN", status: 502 });
    await assert.rejects(refusing(500, "M_UNKNOWN").publicRooms("them.test", {}), { status: 502 });
    await assert.rejects(refusing(403, "M_FORBIDDEN").publicRooms("not a server", {}), { errcode: "M_INVALID_PARAM", status: 400 });
  });
});
