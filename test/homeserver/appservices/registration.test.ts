// Application service registration files (application-service-api#registration): parsing, the
// defaults, the refusals naming the file and key, uniqueness, and what the namespaces match.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Appservice } from "../../../src/homeserver/appservices/appservice.ts";
import { interestedServices } from "../../../src/homeserver/appservices/interest.ts";
import { loadRegistrations, parseRegistration } from "../../../src/homeserver/appservices/registration.ts";
import { AppserviceRegistry, assertionOf } from "../../../src/homeserver/appservices/registry.ts";
import type { RoomEvent } from "../../../src/core/events/room-event.ts";

const BASE = {
  id: "irc",
  url: "http://127.0.0.1:1234/",
  as_token: "as-secret",
  hs_token: "hs-secret",
  sender_localpart: "_irc_bot",
  namespaces: { users: [{ exclusive: true, regex: "@_irc_.*" }], aliases: [{ exclusive: false, regex: "#_irc_.*" }], rooms: [] },
};

function rejects(doc: unknown, pattern: RegExp): void {
  assert.throws(() => parseRegistration(doc, "irc.yaml"), (error: Error) => {
    assert.equal(error.name, "ConfigError");
    assert.match(error.message, /irc\.yaml/);
    assert.match(error.message, pattern);
    return true;
  });
}

describe("application service registration", () => {
  it("parses a registration, with the defaults", () => {
    const r = parseRegistration(BASE, "irc.yaml");
    assert.equal(r.id, "irc");
    assert.equal(r.url, "http://127.0.0.1:1234", "the trailing slash goes");
    assert.equal(r.asToken, "as-secret");
    assert.equal(r.hsToken, "hs-secret");
    assert.equal(r.rateLimited, true);
    assert.equal(r.receiveEphemeral, false);
    assert.deepEqual(r.protocols, []);
    assert.equal(r.namespaces.users[0]?.exclusive, true);
    assert.equal(r.namespaces.rooms.length, 0);
    const noTraffic = parseRegistration({ ...BASE, url: null, rate_limited: false, protocols: ["irc"], receive_ephemeral: true }, "irc.yaml");
    assert.equal(noTraffic.url, null);
    assert.equal(noTraffic.rateLimited, false);
    assert.deepEqual(noTraffic.protocols, ["irc"]);
    assert.equal(noTraffic.receiveEphemeral, true);
  });

  it("refuses bad registrations, naming the key", () => {
    const { id: _id, ...noId } = BASE;
    rejects(noId, /id is required/);
    const { url: _url, ...noUrl } = BASE;
    rejects(noUrl, /url is required/);
    rejects({ ...BASE, url: "ftp://x" }, /url must be an http/);
    rejects({ ...BASE, url: "not a url" }, /url must be a URL/);
    rejects({ ...BASE, as_token: "" }, /as_token must be a non-empty string/);
    rejects({ ...BASE, hs_token: 3 }, /hs_token must be/);
    rejects({ ...BASE, sender_localpart: "Bad Name" }, /sender_localpart is not a valid/);
    rejects({ ...BASE, namespaces: undefined }, /namespaces is required/);
    rejects({ ...BASE, namespaces: { users: [{ regex: "@(" }] } }, /namespaces\.users\[0\]\.regex is not a valid regular expression/);
    rejects({ ...BASE, namespaces: { aliases: [{ regex: "#a", exclusive: "yes" }] } }, /namespaces\.aliases\[0\]\.exclusive must be true or false/);
    rejects({ ...BASE, namespaces: { rooms: "!x" } }, /namespaces\.rooms must be a list/);
    rejects({ ...BASE, rate_limited: "no" }, /rate_limited must be true or false/);
    rejects({ ...BASE, protocols: [1] }, /protocols must be a list of strings/);
    rejects("just text", /must be a mapping/);
  });

  it("loads files, and refuses unreadable, non-YAML and duplicate ones", async () => {
    const dir = await mkdtemp(join(tmpdir(), "weft-as-"));
    try {
      const yaml = (id: string, token: string, sender: string) =>
        [`id: ${id}`, "url: null", `as_token: ${token}`, "hs_token: h", `sender_localpart: ${sender}`, "namespaces: {users: [], aliases: [], rooms: []}"].join("\n");
      await writeFile(join(dir, "a.yaml"), yaml("a", "t1", "bot_a"));
      await writeFile(join(dir, "b.yaml"), yaml("b", "t2", "bot_b"));
      await writeFile(join(dir, "same-token.yaml"), yaml("c", "t1", "bot_c"));
      await writeFile(join(dir, "same-id.yaml"), yaml("a", "t3", "bot_d"));
      await writeFile(join(dir, "broken.yaml"), "id: [unclosed");
      assert.deepEqual((await loadRegistrations([join(dir, "a.yaml"), join(dir, "b.yaml")])).map((r) => r.id), ["a", "b"]);
      await assert.rejects(loadRegistrations([join(dir, "a.yaml"), join(dir, "same-token.yaml")]), /same-token\.yaml: as_token is the same as in .*a\.yaml/);
      await assert.rejects(loadRegistrations([join(dir, "a.yaml"), join(dir, "same-id.yaml")]), /same-id\.yaml: id is the same as in/);
      await assert.rejects(loadRegistrations([join(dir, "broken.yaml")]), /broken\.yaml: is not valid YAML/);
      await assert.rejects(loadRegistrations([join(dir, "missing.yaml")]), /missing\.yaml: cannot be read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("matches namespaces from the start, local users only, and exclusive ones apart", () => {
    const as = new Appservice(parseRegistration({ ...BASE, namespaces: { ...BASE.namespaces, rooms: [{ regex: "!bridged" }] } }, "irc.yaml"), "example.org");
    assert.equal(as.sender, "@_irc_bot:example.org");
    assert.ok(as.isInterestedInUser("@_irc_bob:example.org"));
    assert.ok(as.isInterestedInUser("@_irc_bot:example.org"));
    assert.ok(!as.isInterestedInUser("@_irc_bob:elsewhere.org"), "users of other servers are not claimed");
    assert.ok(!as.isInterestedInUser("@alice_irc_:example.org"), "anchored at the start");
    assert.ok(as.claimsUserExclusively("@_irc_bob:example.org"));
    assert.ok(as.isInterestedInAlias("#_irc_chan:example.org"));
    assert.ok(!as.claimsAliasExclusively("#_irc_chan:example.org"), "the alias namespace is not exclusive");
    assert.ok(as.isInterestedInRoomId("!bridged:example.org"));
    assert.ok(!as.isInterestedInRoomId("!other:example.org"));
  });

  it("finds the services interested in an event", async () => {
    const irc = new Appservice(parseRegistration(BASE, "irc.yaml"), "example.org");
    const other = new Appservice(parseRegistration({ ...BASE, id: "other", as_token: "x", sender_localpart: "other", namespaces: { rooms: [{ regex: "!mine" }] } }, "o.yaml"), "example.org");
    const event = (fields: Partial<RoomEvent>): RoomEvent => ({ eventId: "$e", roomId: "!r:example.org", type: "m.room.message", stateKey: undefined, sender: "@alice:example.org", content: {}, ...fields }) as RoomEvent;
    let memberLookups = 0;
    const lookups = (members: string[], aliases: string[] = []) => ({
      joinedMembers: async () => {
        memberLookups++;
        return members;
      },
      aliasesOf: async () => aliases,
    });
    const ids = async (e: RoomEvent, l: ReturnType<typeof lookups>) => (await interestedServices([irc, other], e, 1, l)).map((a) => a.id);
    assert.deepEqual(await ids(event({ sender: "@_irc_x:example.org" }), lookups([])), ["irc"], "the sender");
    assert.deepEqual(await ids(event({ type: "m.room.member", stateKey: "@_irc_x:example.org" }), lookups([])), ["irc"], "the member event's target");
    assert.deepEqual(await ids(event({ roomId: "!mine:example.org" }), lookups([])), ["other"], "the room ID");
    assert.deepEqual(await ids(event({}), lookups([], ["#_irc_chan:example.org"])), ["irc"], "an alias of the room");
    memberLookups = 0;
    assert.deepEqual(await ids(event({}), lookups(["@alice:example.org", "@_irc_bot:example.org"])), ["irc"], "a joined member (the sender user)");
    assert.equal(memberLookups, 1, "the members are looked up once per event");
    assert.deepEqual(await ids(event({}), lookups(["@alice:example.org"])), []);
  });

  it("authenticates as_tokens with identity assertion", async () => {
    const registry = new AppserviceRegistry([parseRegistration({ ...BASE, rate_limited: false }, "irc.yaml")], "example.org");
    const devices = async (userId: string, deviceId: string) => userId === "@_irc_bob:example.org" && deviceId === "DEV";
    assert.equal(await registry.authenticate("not-an-as-token", {}, devices), undefined);
    const sender = await registry.authenticate("as-secret", {}, devices);
    assert.equal(sender?.userId, "@_irc_bot:example.org");
    assert.deepEqual(sender?.appservice, { id: "irc", rateLimited: false });
    const bob = await registry.authenticate("as-secret", assertionOf({ user_id: "@_irc_bob:example.org", device_id: "DEV" }), devices);
    assert.equal(bob?.userId, "@_irc_bob:example.org");
    assert.equal(bob?.deviceId, "DEV");
    const msc = assertionOf({ user_id: "@_irc_bob:example.org", "org.matrix.msc3202.device_id": "DEV" });
    assert.equal(msc.deviceId, "DEV");
    await assert.rejects(registry.authenticate("as-secret", { userId: "@alice:example.org" }, devices), { errcode: "M_FORBIDDEN", status: 403 });
    await assert.rejects(registry.authenticate("as-secret", { userId: "@_irc_bob:example.org", deviceId: "NOPE" }, devices), { errcode: "M_UNKNOWN_DEVICE", status: 400 });
    assert.throws(() => registry.userForToken(undefined, "@_irc_bob:example.org", 400), { errcode: "M_MISSING_TOKEN", status: 401 });
    assert.throws(() => registry.userForToken("bad", "@_irc_bob:example.org", 400), { errcode: "M_UNKNOWN_TOKEN", status: 401 });
    assert.throws(() => registry.userForToken("as-secret", "@alice:example.org", 400), { errcode: "M_EXCLUSIVE", status: 400 });
  });
});
