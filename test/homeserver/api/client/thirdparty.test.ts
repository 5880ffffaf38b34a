import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { ACCOUNTS_YAML, assertError, call, registerGuest, registerUser, type TestUser } from "./helpers.ts";

// modules/third_party_networks.md: the protocols are those of the application services
// (application-service-api#third-party-networks). With none registered, none is bridged here.
for (const engine of engines) {
  describe(`third-party lookups [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: `${ACCOUNTS_YAML}\nallow_guest_access: true` });
      alice = await registerUser(hs, "alice");
    });
    after(() => hs.stop());

    const get = (path: string, token: string | undefined = alice.accessToken) => call(hs, "GET", `/_matrix/client/v3${path}`, { token });

    it("lists no protocols: an empty dictionary (third_party_lookup.yaml GET /thirdparty/protocols)", async () => {
      const reply = await get("/thirdparty/protocols");
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, {});
      // The r0 path older clients call.
      assert.deepEqual((await call(hs, "GET", "/_matrix/client/r0/thirdparty/protocols", { token: alice.accessToken })).body, {});
    });

    it("knows no protocol: 404 M_NOT_FOUND (GET /thirdparty/protocol/{protocol}, 'The protocol is unknown')", async () => {
      assertError(await get("/thirdparty/protocol/irc"), 404, "M_NOT_FOUND");
      assertError(await get(`/thirdparty/protocol/${encodeURIComponent("no such/protocol")}`), 404, "M_NOT_FOUND");
    });

    it("finds no portal room and no user of any protocol: 404 M_NOT_FOUND (GET /thirdparty/location|user/{protocol})", async () => {
      // third_party_lookup.yaml: 200 only when "at least one portal room was found"; 404 "No portal rooms were found".
      assertError(await get("/thirdparty/location/irc"), 404, "M_NOT_FOUND");
      assertError(await get("/thirdparty/location/irc?network=libera&channel=%23matrix"), 404, "M_NOT_FOUND");
      // third_party_lookup.yaml: 404 "The Matrix User ID was not found".
      assertError(await get("/thirdparty/user/irc?nickname=bob"), 404, "M_NOT_FOUND");
    });

    it("finds no third-party location of an alias and no third-party user of a user ID: 404 M_NOT_FOUND", async () => {
      // third_party_lookup.yaml GET /thirdparty/location?alias= and /thirdparty/user?userid=: 404 when nothing maps.
      assertError(await get(`/thirdparty/location?alias=${encodeURIComponent("#matrix:test.local")}`), 404, "M_NOT_FOUND");
      assertError(await get(`/thirdparty/user?userid=${encodeURIComponent(alice.userId)}`), 404, "M_NOT_FOUND");
    });

    it("needs the required query parameters: 400 M_MISSING_PARAM", async () => {
      // third_party_lookup.yaml: `alias` and `userid` are required.
      assertError(await get("/thirdparty/location"), 400, "M_MISSING_PARAM");
      assertError(await get("/thirdparty/location?alias="), 400, "M_MISSING_PARAM");
      assertError(await get("/thirdparty/user"), 400, "M_MISSING_PARAM");
    });

    it("needs an access token, and is not for guests", async () => {
      // third_party_lookup.yaml security: an access token on every endpoint.
      for (const path of ["/thirdparty/protocols", "/thirdparty/protocol/irc", "/thirdparty/location/irc", "/thirdparty/user/irc", "/thirdparty/location?alias=%23a:b", "/thirdparty/user?userid=@a:b"]) {
        assertError(await call(hs, "GET", `/_matrix/client/v3${path}`), 401, "M_MISSING_TOKEN");
      }
      // modules/guest_access.md: the third-party lookups are not among the endpoints guests may call.
      const guest: TestUser = await registerGuest(hs);
      assertError(await get("/thirdparty/protocols", guest.accessToken), 403, "M_GUEST_ACCESS_FORBIDDEN");
      assertError(await get("/thirdparty/location/irc", guest.accessToken), 403, "M_GUEST_ACCESS_FORBIDDEN");
      assertError(await get("/thirdparty/user?userid=@a:b", guest.accessToken), 403, "M_GUEST_ACCESS_FORBIDDEN");
    });
  });
}
