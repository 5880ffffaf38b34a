// POST /search's error answers over real HTTP on both engines: each a 4xx with the spec's
// {errcode, error}, never a 500.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, call, createRoom, registerUser, send, startEventsHomeserver, text, type TestUser } from "../events/helpers.ts";
import { roomEvents, search } from "./helpers.ts";

const PATH = "/_matrix/client/v3/search";
const many = (word: string) => Array.from({ length: 2000 }, (_, i) => `${word}${i}`).join(" ");

for (const engine of engines) {
  describe(`POST /search errors [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;

    before(async () => {
      hs = await startEventsHomeserver(engine);
      alice = await registerUser(hs, "e_alice");
      const roomId = await createRoom(hs, alice);
      for (let i = 0; i < 3; i++) await send(hs, alice, roomId, text(`erroneous ${i}`));
    });
    after(() => hs.stop());

    it("refuses a request without an access token", async () => {
      assertError(await call(hs, "POST", PATH, { body: { search_categories: {} } }), 401, "M_MISSING_TOKEN");
    });

    it("refuses a body that is not JSON, or not an object", async () => {
      assertError(await call(hs, "POST", PATH, { token: alice.accessToken, rawBody: "{not json" }), 400, "M_NOT_JSON");
      assertError(await call(hs, "POST", PATH, { token: alice.accessToken, rawBody: "[1]" }), 400, "M_BAD_JSON");
    });

    it("refuses missing search_categories and search_term", async () => {
      assertError(await call(hs, "POST", PATH, { token: alice.accessToken, body: {} }), 400, "M_MISSING_PARAM");
      assertError(await search(hs, alice, {}), 400, "M_MISSING_PARAM");
    });

    it("refuses values of the wrong shape", async () => {
      const bad: Array<Record<string, unknown>> = [
        { search_term: 7 },
        { search_term: "x", order_by: "oldest" },
        { search_term: "x", keys: ["content.msgtype"] },
        { search_term: "x", keys: "content.body" },
        { search_term: "x", filter: { limit: 0 } },
        { search_term: "x", filter: { rooms: ["not-a-room"] } },
        { search_term: "x", filter: { senders: "@a:x" } },
        { search_term: "x", filter: [] },
        { search_term: "x", event_context: { before_limit: "1" } },
        { search_term: "x", include_state: "yes" },
        { search_term: "x", groupings: { group_by: [{ key: "type" }] } },
      ];
      for (const criteria of bad) assertError(await search(hs, alice, criteria), 400, "M_BAD_JSON");
      assertError(await call(hs, "POST", PATH, { token: alice.accessToken, body: { search_categories: [] } }), 400, "M_BAD_JSON");
      assertError(await call(hs, "POST", PATH, { token: alice.accessToken, body: { search_categories: { room_events: "x" } } }), 400, "M_BAD_JSON");
    });

    it("refuses negative context limits", async () => {
      assertError(await search(hs, alice, { search_term: "x", event_context: { before_limit: -1 } }), 400, "M_INVALID_PARAM");
      assertError(await search(hs, alice, { search_term: "x", event_context: { after_limit: -5 } }), 400, "M_INVALID_PARAM");
    });

    it("refuses a next_batch it did not give, or one given for the other order", async () => {
      const garbage = ["!!", "bm90IGpzb24", Buffer.from("[]").toString("base64url"), Buffer.from('{"o":"recent","s":"1"}').toString("base64url"), Buffer.from('{"o":"rank","s":1}').toString("base64url")];
      for (const token of garbage) assertError(await search(hs, alice, { search_term: "erroneous" }, token), 400, "M_INVALID_PARAM");
      const page = await roomEvents(hs, alice, { search_term: "erroneous", order_by: "recent", filter: { limit: 1 } });
      const next = page["next_batch"];
      assert.equal(typeof next, "string");
      assertError(await search(hs, alice, { search_term: "erroneous", order_by: "rank" }, next as string), 400, "M_INVALID_PARAM");
      assert.equal((await search(hs, alice, { search_term: "erroneous", order_by: "recent", filter: { limit: 1 } }, next as string)).status, 200);
    });

    it("takes any search term without failing", async () => {
      for (const term of ['"', '"unclosed', "a AND", "OR", "or or", "-", "--x", "NEAR(a b)", "x*", "^x", "col:x", "(x", "\u0000", "\ud800", "ａｂｃ", "日本語", "x".repeat(5000), many("w"), many("-x"), many("or w"), `"${many("w")}"`]) {
        const reply = await search(hs, alice, { search_term: term });
        assert.equal(reply.status, 200, `${JSON.stringify(term)}: ${JSON.stringify(reply.body)}`);
      }
    });
  });
}
