// Application services over real HTTP on both engines, with a fake service on a local port:
// requests made with an as_token (identity assertion, registration, login, aliases), the events
// pushed to the service in transactions (with retries), the users and aliases asked of it, the
// ping, and the third-party lookups answered from it.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, call, createRoom, enc, registerUser, startRoomsHomeserver, type TestUser } from "../rooms/helpers.ts";
import { FakeAppservice, registrationYaml } from "./fake-appservice.ts";

const AS_TOKEN = "bridge-as-token";
const HS_TOKEN = "bridge-hs-token";
const SERVER = "test.local";

for (const engine of engines) {
  describe(`application services [${engine}]`, () => {
    let hs: TestHomeserver;
    let bridge: FakeAppservice;
    let dir: string;
    let alice: TestUser;
    const asCall = (method: string, path: string, body?: unknown) => call(hs, method, path, { token: AS_TOKEN, body });

    before(async () => {
      bridge = await FakeAppservice.start();
      dir = await mkdtemp(join(tmpdir(), "weft-as-test-"));
      const bridgeFile = join(dir, "bridge.yaml");
      const loggerFile = join(dir, "logger.yaml");
      await writeFile(
        bridgeFile,
        registrationYaml({
          id: "bridge",
          url: bridge.url,
          asToken: AS_TOKEN,
          hsToken: HS_TOKEN,
          sender: "_bridge_bot",
          users: "[{exclusive: true, regex: '@_bridge_.*'}]",
          aliases: "[{exclusive: true, regex: '#_bridge_.*'}]",
          extra: "rate_limited: false\nprotocols: [chat]",
        }),
      );
      await writeFile(loggerFile, registrationYaml({ id: "logger", url: null, asToken: "logger-as-token", hsToken: "logger-hs", sender: "logger_bot", users: "[{exclusive: false, regex: '@_log_.*'}]" }));
      hs = await startRoomsHomeserver(engine, `app_service_config_files: [${JSON.stringify(bridgeFile)}, ${JSON.stringify(loggerFile)}]`);
      alice = await registerUser(hs, "as_alice");
    });
    after(async () => {
      await hs.stop();
      await bridge.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it("authenticates the service as its sender, or as a user of its namespace it asserts", async () => {
      const sender = await asCall("GET", "/_matrix/client/v3/account/whoami");
      assert.equal(sender.status, 200, JSON.stringify(sender.body));
      assert.equal(sender.body["user_id"], `@_bridge_bot:${SERVER}`);
      const asserted = await asCall("GET", `/_matrix/client/v3/account/whoami?user_id=${enc(`@_bridge_carol:${SERVER}`)}`);
      assert.equal(asserted.body["user_id"], `@_bridge_carol:${SERVER}`);
      assertError(await asCall("GET", `/_matrix/client/v3/account/whoami?user_id=${enc(alice.userId)}`), 403, "M_FORBIDDEN");
      assertError(await asCall("GET", `/_matrix/client/v3/account/whoami?user_id=${enc(`@_bridge_carol:other.example`)}`), 403, "M_FORBIDDEN");
      assertError(await asCall("GET", `/_matrix/client/v3/account/whoami?user_id=${enc(`@_bridge_carol:${SERVER}`)}&device_id=NOPE`), 400, "M_UNKNOWN_DEVICE");
      assertError(await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token: "not-a-token" }), 401, "M_UNKNOWN_TOKEN");
      // A user's own token ignores user_id.
      const own = await call(hs, "GET", `/_matrix/client/v3/account/whoami?user_id=${enc(`@_bridge_carol:${SERVER}`)}`, { token: alice.accessToken });
      assert.equal(own.body["user_id"], alice.userId);
    });

    it("registers users of its namespace without UIA, and refuses others", async () => {
      const registered = await asCall("POST", "/_matrix/client/v3/register", { type: "m.login.application_service", username: "_bridge_dave" });
      assert.equal(registered.status, 200, JSON.stringify(registered.body));
      assert.equal(registered.body["user_id"], `@_bridge_dave:${SERVER}`);
      assert.equal(typeof registered.body["access_token"], "string");
      const inhibited = await asCall("POST", "/_matrix/client/v3/register", { type: "m.login.application_service", username: "_bridge_erin", inhibit_login: true });
      assert.equal(inhibited.status, 200);
      assert.equal(inhibited.body["access_token"], undefined);
      assertError(await asCall("POST", "/_matrix/client/v3/register", { type: "m.login.application_service", username: "plain_frank" }), 400, "M_EXCLUSIVE");
      assertError(await asCall("POST", "/_matrix/client/v3/register", { type: "m.login.application_service", username: "_bridge_dave" }), 400, "M_USER_IN_USE");
      assertError(await call(hs, "POST", "/_matrix/client/v3/register", { body: { type: "m.login.application_service", username: "_bridge_gina" } }), 401, "M_MISSING_TOKEN");
      assertError(await call(hs, "POST", "/_matrix/client/v3/register", { token: alice.accessToken, body: { type: "m.login.application_service", username: "_bridge_gina" } }), 401, "M_UNKNOWN_TOKEN");
      assertError(await call(hs, "POST", "/_matrix/client/v3/register", { token: "nonsense", body: { type: "m.login.application_service", username: "_bridge_gina" } }), 401, "M_UNKNOWN_TOKEN");
      // Exclusive namespaces: nobody else registers their users; a non-exclusive one is open.
      assertError(await call(hs, "POST", "/_matrix/client/v3/register", { body: { username: "_bridge_hank", password: "pw-Secret-123" } }), 400, "M_EXCLUSIVE");
      assertError(await call(hs, "GET", "/_matrix/client/v3/register/available?username=_bridge_hank"), 400, "M_EXCLUSIVE");
      await registerUser(hs, "_log_ivy");
    });

    it("logs in as users of its namespace with m.login.application_service", async () => {
      const flows = await call(hs, "GET", "/_matrix/client/v3/login");
      assert.ok((flows.body["flows"] as Array<{ type: string }>).some((f) => f.type === "m.login.application_service"));
      const login = (token: string | undefined, user: string) =>
        call(hs, "POST", "/_matrix/client/v3/login", { token, body: { type: "m.login.application_service", identifier: { type: "m.id.user", user } } });
      const ok = await login(AS_TOKEN, "_bridge_dave");
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body["user_id"], `@_bridge_dave:${SERVER}`);
      const whoami = await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token: ok.body["access_token"] as string });
      assert.equal(whoami.body["device_id"], ok.body["device_id"]);
      // The asserted device must be the user's.
      const withDevice = await asCall("GET", `/_matrix/client/v3/account/whoami?user_id=${enc(`@_bridge_dave:${SERVER}`)}&device_id=${enc(ok.body["device_id"] as string)}`);
      assert.equal(withDevice.body["device_id"], ok.body["device_id"]);
      assertError(await login(AS_TOKEN, "as_alice"), 403, "M_EXCLUSIVE");
      assertError(await login(undefined, "_bridge_dave"), 401, "M_MISSING_TOKEN");
      assertError(await login("nonsense", "_bridge_dave"), 401, "M_UNKNOWN_TOKEN");
      assertError(await login(AS_TOKEN, "_bridge_never_registered"), 403, "M_FORBIDDEN");
    });

    it("keeps exclusive aliases to their service", async () => {
      const room = await createRoom(hs, alice, { preset: "public_chat" });
      const put = (token: string, alias: string) => call(hs, "PUT", `/_matrix/client/v3/directory/room/${enc(alias)}`, { token, body: { room_id: room } });
      assertError(await put(alice.accessToken, `#_bridge_taken:${SERVER}`), 400, "M_EXCLUSIVE");
      assert.equal((await put(AS_TOKEN, `#_bridge_mine:${SERVER}`)).status, 200, "the service needs no membership for its own aliases");
      assertError(await put(AS_TOKEN, `#elsewhere:${SERVER}`), 400, "M_EXCLUSIVE");
      assert.equal((await put(alice.accessToken, `#alices:${SERVER}`)).status, 200);
    });

    it("pushes the events it is interested in, in order, with the hs_token", async () => {
      const before = bridge.transactions.length;
      // A room nobody of the service is in: nothing is pushed.
      const quiet = await createRoom(hs, alice, { preset: "private_chat" });
      // A room the service's user is invited to and joins: the invite, the join and the messages after.
      const room = await createRoom(hs, alice, { preset: "public_chat", invite: [`@_bridge_dave:${SERVER}`] });
      const dave = `@_bridge_dave:${SERVER}`;
      assert.equal((await call(hs, "POST", `/_matrix/client/v3/rooms/${enc(room)}/join?user_id=${enc(dave)}`, { token: AS_TOKEN, body: {} })).status, 200);
      for (const body of ["one", "two", "three"]) {
        const sent = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(room)}/send/m.room.message/${body}`, { token: alice.accessToken, body: { msgtype: "m.text", body } });
        assert.equal(sent.status, 200);
      }
      await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(quiet)}/send/m.room.message/q`, { token: alice.accessToken, body: { msgtype: "m.text", body: "quiet" } });
      const pushed = () => bridge.transactions.slice(before).flatMap((t) => t.body?.["events"] as Array<Record<string, unknown>>);
      await bridge.waitFor(() => pushed().some((e) => (e["content"] as { body?: string }).body === "three"), "the third message");
      const events = pushed();
      assert.ok(!events.some((e) => e["room_id"] === quiet), "not the room nobody of the service is in");
      const bodies = events.filter((e) => e["room_id"] === room && e["type"] === "m.room.message").map((e) => (e["content"] as { body: string }).body);
      assert.deepEqual(bodies, ["one", "two", "three"]);
      const members = events.filter((e) => e["type"] === "m.room.member" && e["state_key"] === dave).map((e) => (e["content"] as { membership: string }).membership);
      assert.deepEqual(members, ["invite", "join"]);
      for (const txn of bridge.transactions) assert.equal(txn.authorization, `Bearer ${HS_TOKEN}`);
      const ids = bridge.transactions.map((t) => Number(t.path.split("/").pop()));
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "transaction IDs count up");
      assert.equal(new Set(ids).size, ids.length, "and are not reused");
      assert.ok(events.every((e) => typeof e["event_id"] === "string" && typeof e["origin_server_ts"] === "number" && e["sender"] !== undefined), "client format");
    });

    it("sends a transaction again, unchanged, until the service takes it", async () => {
      const room = await createRoom(hs, alice, { preset: "public_chat" });
      const joined = await call(hs, "POST", `/_matrix/client/v3/rooms/${enc(room)}/join?user_id=${enc(`@_bridge_dave:${SERVER}`)}`, { token: AS_TOKEN, body: {} });
      assert.equal(joined.status, 200);
      let refusals = 0;
      bridge.handler = (request) => {
        if (request.method === "PUT" && refusals < 1 && JSON.stringify(request.body).includes("retried")) {
          refusals++;
          return { status: 500, body: { errcode: "M_UNKNOWN" } };
        }
        return undefined;
      };
      const before = bridge.transactions.length;
      await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(room)}/send/m.room.message/r1`, { token: alice.accessToken, body: { msgtype: "m.text", body: "retried" } });
      const hasRetried = () => bridge.transactions.slice(before).some((t) => JSON.stringify(t.body).includes("retried"));
      await bridge.waitFor(() => bridge.transactions.slice(before).filter((t) => JSON.stringify(t.body).includes("retried")).length >= 2, "the retry", 10_000);
      assert.ok(hasRetried());
      const attempts = bridge.transactions.slice(before).filter((t) => JSON.stringify(t.body).includes("retried"));
      assert.equal(attempts[0]?.path, attempts[1]?.path, "the same transaction ID");
      assert.deepEqual(attempts[0]?.body, attempts[1]?.body, "the same events");
      bridge.handler = () => undefined;
    });

    it("asks the service about unknown users and aliases of its namespaces", async () => {
      bridge.handler = async (request) => {
        if (request.method === "GET" && request.path.startsWith("/_matrix/app/v1/users/")) {
          const userId = decodeURIComponent(request.path.split("/").pop() ?? "");
          if (userId !== `@_bridge_queried:${SERVER}`) return { status: 404, body: { errcode: "M_NOT_FOUND" } };
          const made = await asCall("POST", "/_matrix/client/v3/register", { type: "m.login.application_service", username: "_bridge_queried", inhibit_login: true });
          return { status: made.status };
        }
        if (request.method === "GET" && request.path.startsWith("/_matrix/app/v1/rooms/")) {
          const alias = decodeURIComponent(request.path.split("/").pop() ?? "");
          if (alias !== `#_bridge_chan:${SERVER}`) return { status: 404, body: { errcode: "M_NOT_FOUND" } };
          const made = await asCall("POST", "/_matrix/client/v3/createRoom", { room_alias_name: "_bridge_chan" });
          return { status: made.status };
        }
        return undefined;
      };
      const profile = await call(hs, "GET", `/_matrix/client/v3/profile/${enc(`@_bridge_queried:${SERVER}`)}`, { token: alice.accessToken });
      assert.equal(profile.status, 200, JSON.stringify(profile.body));
      assertError(await call(hs, "GET", `/_matrix/client/v3/profile/${enc(`@_bridge_nobody:${SERVER}`)}`, { token: alice.accessToken }), 404, "M_NOT_FOUND");
      const resolved = await call(hs, "GET", `/_matrix/client/v3/directory/room/${enc(`#_bridge_chan:${SERVER}`)}`);
      assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
      assert.match(resolved.body["room_id"] as string, /^!/);
      assertError(await call(hs, "GET", `/_matrix/client/v3/directory/room/${enc(`#_bridge_none:${SERVER}`)}`), 404, "M_NOT_FOUND");
      const asked = bridge.received.filter((r) => r.method === "GET").map((r) => decodeURIComponent(r.path));
      assert.ok(asked.includes(`/_matrix/app/v1/users/@_bridge_queried:${SERVER}`));
      assert.ok(asked.includes(`/_matrix/app/v1/rooms/#_bridge_chan:${SERVER}`));
      // A user outside every namespace is not asked about.
      const queries = () => bridge.received.filter((r) => r.method === "GET").length;
      const count = queries();
      assertError(await call(hs, "GET", `/_matrix/client/v3/profile/${enc(`@nobody:${SERVER}`)}`, { token: alice.accessToken }), 404, "M_NOT_FOUND");
      assert.equal(queries(), count);
      bridge.handler = () => undefined;
    });

    it("does not rate limit a service registered with rate_limited: false", async () => {
      const room = await createRoom(hs, alice, { preset: "public_chat" });
      const dave = `@_bridge_dave:${SERVER}`;
      assert.equal((await call(hs, "POST", `/_matrix/client/v3/rooms/${enc(room)}/join?user_id=${enc(dave)}`, { token: AS_TOKEN, body: {} })).status, 200);
      for (let i = 0; i < 30; i++) {
        const sent = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(room)}/send/m.room.message/rl${i}?user_id=${enc(dave)}`, { token: AS_TOKEN, body: { msgtype: "m.text", body: `n${i}` } });
        assert.equal(sent.status, 200, `message ${i}: ${JSON.stringify(sent.body)}`);
      }
    });

    it("pings the service for itself only", async () => {
      bridge.handler = (request) => (request.path === "/_matrix/app/v1/ping" ? { status: 200, body: {} } : undefined);
      const ping = await asCall("POST", "/_matrix/client/v1/appservice/bridge/ping", { transaction_id: "meow" });
      assert.equal(ping.status, 200, JSON.stringify(ping.body));
      assert.equal(typeof ping.body["duration_ms"], "number");
      const received = bridge.received.filter((r) => r.path === "/_matrix/app/v1/ping").pop();
      assert.deepEqual(received?.body, { transaction_id: "meow" });
      assert.equal(received?.authorization, `Bearer ${HS_TOKEN}`);
      assertError(await asCall("POST", "/_matrix/client/v1/appservice/logger/ping", {}), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", "/_matrix/client/v1/appservice/bridge/ping", { token: alice.accessToken, body: {} }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", "/_matrix/client/v1/appservice/logger/ping", { token: "logger-as-token", body: {} }), 400, "M_URL_NOT_SET");
      bridge.handler = (request) => (request.path === "/_matrix/app/v1/ping" ? { status: 403, body: { errcode: "M_FORBIDDEN" } } : undefined);
      const bad = await asCall("POST", "/_matrix/client/v1/appservice/bridge/ping", {});
      assertError(bad, 502, "M_BAD_STATUS");
      assert.equal(bad.body["status"], 403);
      assert.deepEqual(JSON.parse(bad.body["body"] as string), { errcode: "M_FORBIDDEN" });
      bridge.handler = () => undefined;
    });

    it("answers third-party lookups from the services' protocols", async () => {
      bridge.handler = (request) => {
        if (request.path === "/_matrix/app/v1/thirdparty/protocol/chat") {
          return { status: 200, body: { user_fields: ["nick"], location_fields: ["channel"], icon: "mxc://x/y", field_types: {}, instances: [{ desc: "Chat", network_id: "chatnet", fields: {} }] } };
        }
        if (request.path.startsWith("/_matrix/app/v1/thirdparty/user/chat?")) return { status: 200, body: [{ userid: `@_bridge_nick:${SERVER}`, protocol: "chat", fields: { nick: "nick" } }] };
        if (request.path.startsWith("/_matrix/app/v1/thirdparty/location?")) return { status: 200, body: [] };
        return undefined;
      };
      const protocols = await call(hs, "GET", "/_matrix/client/v3/thirdparty/protocols", { token: alice.accessToken });
      assert.equal(protocols.status, 200);
      const chat = protocols.body["chat"] as { instances: Array<Record<string, unknown>> };
      assert.deepEqual(chat.instances[0], { desc: "Chat", network_id: "chatnet", fields: {}, instance_id: "bridge|chatnet" });
      const users = await call(hs, "GET", "/_matrix/client/v3/thirdparty/user/chat?nick=nick", { token: alice.accessToken });
      assert.equal(users.status, 200);
      assert.deepEqual(users.body, [{ userid: `@_bridge_nick:${SERVER}`, protocol: "chat", fields: { nick: "nick" } }]);
      assert.ok(bridge.received.some((r) => r.path === "/_matrix/app/v1/thirdparty/user/chat?nick=nick"), "the fields are passed on");
      assertError(await call(hs, "GET", "/_matrix/client/v3/thirdparty/protocol/irc", { token: alice.accessToken }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "GET", "/_matrix/client/v3/thirdparty/location?alias=%23x:test.local", { token: alice.accessToken }), 404, "M_NOT_FOUND");
      bridge.handler = () => undefined;
    });
  });
}
