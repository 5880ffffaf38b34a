// RemoteProfiles against scripted answers: another server's answer is checked field by field, kept
// for a while in a bounded map (least recently used out), "no such user" is kept briefly, failures
// to reach the server are not kept, and every failure reaches our client as a MatrixError.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import { FederationRequestError } from "../../../src/homeserver/federation/client.ts";
import { checkedProfile, RemoteProfiles, type ProfileQueryClient } from "../../../src/homeserver/profile/remote-profiles.ts";

function scripted(answer: (userId: string) => JsonObject | Promise<JsonObject>): ProfileQueryClient & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    get: async (destination, path, options) => {
      assert.equal(path, "/_matrix/federation/v1/query/profile");
      const userId = String(options?.query?.["user_id"]);
      assert.equal(destination, userId.slice(userId.indexOf(":") + 1), "only the user's own server is asked");
      asked.push(userId);
      return await answer(userId);
    },
  };
}

const named = (userId: string): JsonObject => ({ displayname: userId.slice(1, userId.indexOf(":")) });

describe("RemoteProfiles", () => {
  it("keeps at most maxEntries users, the least recently used going first", async () => {
    const client = scripted(named);
    const remote = new RemoteProfiles(client, "us.test", { maxEntries: 3 });
    for (const name of ["a", "b", "c"]) assert.deepEqual(await remote.profile(`@${name}:them.test`), { displayname: name });
    await remote.profile("@a:them.test"); // a is now the most recently used
    await remote.profile("@d:them.test"); // b goes
    assert.equal(remote.size, 3);
    assert.deepEqual(client.asked, ["@a:them.test", "@b:them.test", "@c:them.test", "@d:them.test"]);
    await remote.profile("@a:them.test");
    await remote.profile("@c:them.test");
    assert.equal(client.asked.length, 4, "a and c were kept");
    await remote.profile("@b:them.test");
    assert.equal(client.asked.length, 5, "b was asked again");
    assert.equal(remote.size, 3);
  });

  it("stays bounded under many users", async () => {
    const remote = new RemoteProfiles(scripted(named), "us.test", { maxEntries: 100 });
    for (let i = 0; i < 1000; i++) await remote.profile(`@u${i}:s${i % 7}.test`);
    assert.equal(remote.size, 100);
  });

  it("asks again once an answer is older than its time to live", async () => {
    let now = 1_000_000;
    let name = "Bob";
    const client = scripted(() => ({ displayname: name }));
    const remote = new RemoteProfiles(client, "us.test", { ttlMs: 300_000, now: () => now });
    assert.deepEqual(await remote.profile("@bob:them.test"), { displayname: "Bob" });
    name = "Robert";
    now += 299_999;
    assert.deepEqual(await remote.profile("@bob:them.test"), { displayname: "Bob" });
    now += 1;
    assert.deepEqual(await remote.profile("@bob:them.test"), { displayname: "Robert" });
    assert.equal(client.asked.length, 2);
  });

  it("asks again after forget", async () => {
    let name = "Bob";
    const client = scripted(() => ({ displayname: name }));
    const remote = new RemoteProfiles(client, "us.test");
    assert.deepEqual(await remote.profile("@bob:them.test"), { displayname: "Bob" });
    name = "Robert";
    remote.forget("@bob:them.test");
    assert.deepEqual(await remote.profile("@bob:them.test"), { displayname: "Robert" });
    assert.equal(client.asked.length, 2);
  });

  it("keeps 404 briefly, passes 403 on, and keeps no failure to reach the server", async () => {
    let now = 0;
    let failure: FederationRequestError = new FederationRequestError("them.test", "http", "no", 404, "M_NOT_FOUND");
    const client = scripted(() => {
      throw failure;
    });
    const remote = new RemoteProfiles(client, "us.test", { missingTtlMs: 60_000, now: () => now });
    await assert.rejects(remote.profile("@ghost:them.test"), { errcode: "M_NOT_FOUND", status: 404 });
    await assert.rejects(remote.profile("@ghost:them.test"), { errcode: "M_NOT_FOUND", status: 404 });
    assert.equal(client.asked.length, 1);
    now += 60_000;
    failure = new FederationRequestError("them.test", "http", "no", 403, "M_FORBIDDEN");
    await assert.rejects(remote.profile("@ghost:them.test"), { errcode: "M_FORBIDDEN", status: 403 });
    assert.equal(client.asked.length, 2);

    failure = new FederationRequestError("them.test", "connection", "refused");
    await assert.rejects(remote.profile("@x:them.test"), { errcode: "M_CONNECTION_FAILED", status: 502 });
    await assert.rejects(remote.profile("@x:them.test"), { errcode: "M_CONNECTION_FAILED", status: 502 });
    assert.equal(client.asked.filter((u) => u === "@x:them.test").length, 2, "not kept");
    for (const [status, errcode] of [[500, "M_UNKNOWN"], [401, "M_UNAUTHORIZED"], [400, "M_UNRECOGNIZED"]] as const) {
      failure = new FederationRequestError("them.test", "http", "no", status, errcode);
      await assert.rejects(remote.profile("@x:them.test"), { errcode: "M_UNKNOWN", status: 502 });
    }
    await assert.rejects(new RemoteProfiles(scripted(() => Promise.reject(new Error("boom"))), "us.test").profile("@x:them.test"), { status: 502 });
  });

  it("shares one question per user while it is in flight", async () => {
    let release: (answer: JsonObject) => void = () => undefined;
    const client = scripted(() => new Promise<JsonObject>((resolve) => (release = resolve)));
    const remote = new RemoteProfiles(client, "us.test");
    const both = Promise.all([remote.profile("@bob:them.test"), remote.profile("@bob:them.test")]);
    await new Promise((resolve) => setImmediate(resolve));
    release({ displayname: "Bob" });
    assert.deepEqual(await both, [{ displayname: "Bob" }, { displayname: "Bob" }]);
    assert.equal(client.asked.length, 1);
  });

  it("gives up on a server that does not answer within its timeout", async () => {
    const remote = new RemoteProfiles(scripted(() => new Promise<JsonObject>(() => undefined)), "us.test", { timeoutMs: 50 });
    await assert.rejects(remote.profile("@slow:them.test"), { errcode: "M_CONNECTION_TIMEOUT", status: 502 });
  });

  it("refuses what is not another server's user", async () => {
    const remote = new RemoteProfiles(scripted(named), "us.test");
    await assert.rejects(remote.profile("not a user"), { errcode: "M_INVALID_PARAM", status: 400 });
    await assert.rejects(remote.profile("@me:us.test"));
  });

  it("answers 502 for an answer too large to be a profile", async () => {
    const remote = new RemoteProfiles(scripted(() => ({ "org.example.blob": "x".repeat(70_000) })), "us.test");
    await assert.rejects(remote.profile("@big:them.test"), { status: 502 });
  });
});

describe("checkedProfile", () => {
  it("keeps the spec's example as it is", () => {
    const example = { displayname: "John Doe", avatar_url: "mxc://example.org/MyC00lAvatar" };
    assert.deepEqual(checkedProfile(example), example);
  });

  it("drops nulls, wrong types, over-long values and invalid key names; keeps other JSON fields", () => {
    assert.deepEqual(
      checkedProfile({
        displayname: 42,
        avatar_url: "https://example.org/a.png",
        "m.tz": "Mars/Olympus_Mons",
        "org.example.job": { title: "baker", since: 2020 },
        "org.example.unset": null,
        "Not A Key": "x",
        errcode: "M_NOT_FOUND",
      }),
      { "m.tz": "Mars/Olympus_Mons", "org.example.job": { title: "baker", since: 2020 } },
    );
    assert.deepEqual(checkedProfile({ displayname: null, avatar_url: null }), {});
    assert.deepEqual(checkedProfile({ displayname: "x".repeat(257), "m.tz": 5 }), {});
    assert.deepEqual(checkedProfile({ avatar_url: `mxc://example.org/${"a".repeat(1000)}` }), {});
  });
});
