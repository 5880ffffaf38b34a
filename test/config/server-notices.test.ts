// `server_notices` in homeserver.yaml, Synapse's keys: on with system_mxid_localpart, Synapse's
// room name by default, and the errors an admin is told.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseConfig } from "../../src/config/index.ts";

const parse = (serverNotices: unknown) => parseConfig({ server_name: "example.org", server_notices: serverNotices }, { baseDir: "/" });

describe("server_notices", () => {
  it("is off without the section or without system_mxid_localpart (with a warning for the latter)", () => {
    assert.equal(parseConfig({ server_name: "example.org" }, { baseDir: "/" }).config.serverNotices, undefined);
    const half = parse({ room_name: "Notices" });
    assert.equal(half.config.serverNotices, undefined);
    assert.ok(half.warnings.some((w) => w.includes("system_mxid_localpart")));
    assert.ok(!half.warnings.some((w) => w.includes("unknown")), "its other keys are known");
  });

  it("reads Synapse's keys, with its room name by default", () => {
    assert.deepEqual(parse({ system_mxid_localpart: "notices" }).config.serverNotices, {
      systemMxidLocalpart: "notices",
      systemMxidDisplayName: undefined,
      systemMxidAvatarUrl: undefined,
      roomName: "Server Notices",
      roomAvatarUrl: undefined,
      roomTopic: undefined,
      autoJoin: false,
    });
    const full = parse({
      system_mxid_localpart: "server",
      system_mxid_display_name: "Server",
      system_mxid_avatar_url: "mxc://example.org/abc",
      room_name: "From the admins",
      room_avatar_url: "mxc://example.org/def",
      room_topic: "Read me",
      auto_join: true,
    });
    assert.equal(full.config.serverNotices?.autoJoin, true);
    assert.equal(full.config.serverNotices?.roomAvatarUrl, "mxc://example.org/def");
    assert.deepEqual(full.warnings, []);
  });

  it("refuses a localpart that is none, and avatars that are not mxc:// URLs", () => {
    assert.throws(() => parse({ system_mxid_localpart: "Not Valid" }), (err: unknown) => err instanceof ConfigError && /server_notices\.system_mxid_localpart/.test(err.message));
    assert.throws(() => parse({ system_mxid_localpart: "n", room_avatar_url: "https://example.org/a.png" }), /server_notices\.room_avatar_url: must be an mxc:\/\/ URL/);
  });
});
