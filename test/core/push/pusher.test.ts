// POST /pushers/set bodies (pusher.yaml) and the /notify request built for a pusher
// (push_notifier.yaml): the checks and the two formats.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MatrixError } from "../../../src/core/errors.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { notificationPriority, notifyRequest, type NotifiedEvent } from "../../../src/core/push/notification.ts";
import { parsePusherChange, pusherJson, type Pusher } from "../../../src/core/push/pusher.ts";

const URL_OK = "https://push.example.com/_matrix/push/v1/notify";
const body = (over: JsonObject = {}): JsonObject => ({
  kind: "http",
  app_id: "com.example.app.ios",
  pushkey: "APA91bHPRgkF3JUikC4ENAHEeMrd41Zxv3hVZjC9KtT8",
  app_display_name: "Mat Rix",
  device_display_name: "iPhone 9",
  profile_tag: "xxyyzz",
  lang: "en",
  data: { url: URL_OK, format: "event_id_only" },
  ...over,
});
const refused = (value: JsonObject, errcode: string, message?: RegExp) =>
  assert.throws(
    () => parsePusherChange(value),
    (e: unknown) => e instanceof MatrixError && e.status === 400 && e.errcode === errcode && (message === undefined || message.test(e.message)),
  );

describe("POST /pushers/set bodies (pusher.yaml)", () => {
  it("takes the spec's example, append false unless given", () => {
    const change = parsePusherChange(body());
    assert.equal(change.op, "set");
    if (change.op !== "set") return;
    assert.equal(change.append, false);
    assert.deepEqual(pusherJson(change.pusher), {
      pushkey: "APA91bHPRgkF3JUikC4ENAHEeMrd41Zxv3hVZjC9KtT8",
      kind: "http",
      app_id: "com.example.app.ios",
      app_display_name: "Mat Rix",
      device_display_name: "iPhone 9",
      profile_tag: "xxyyzz",
      lang: "en",
      data: { url: URL_OK, format: "event_id_only" },
    });
    const appended = parsePusherChange(body({ append: true }));
    assert.equal(appended.op === "set" && appended.append, true);
  });

  it("deletes with kind null, needing only app_id and pushkey", () => {
    assert.deepEqual(parsePusherChange({ kind: null, app_id: "a", pushkey: "k" }), { op: "delete", appId: "a", pushkey: "k" });
  });

  it("names the missing parameters (M_MISSING_PARAM), as the spec's example does", () => {
    refused({ kind: "http", app_id: "a" }, "M_MISSING_PARAM", /pushkey/);
    refused({ kind: "http", app_id: "a", pushkey: "k", app_display_name: "A", device_display_name: "D" }, "M_MISSING_PARAM", /lang, data/);
    refused(body({ data: {} }), "M_MISSING_PARAM", /url/);
  });

  it("limits app_id to 64 characters and pushkey to 512 bytes", () => {
    assert.doesNotThrow(() => parsePusherChange(body({ app_id: "é".repeat(64) })));
    refused(body({ app_id: "a".repeat(65) }), "M_INVALID_PARAM");
    assert.doesNotThrow(() => parsePusherChange(body({ pushkey: "k".repeat(512) })));
    refused(body({ pushkey: "é".repeat(257) }), "M_INVALID_PARAM", /512 bytes/);
    refused({ kind: null, app_id: "a".repeat(65), pushkey: "k" }, "M_INVALID_PARAM");
  });

  it("wants an http(s) URL with the path /_matrix/push/v1/notify", () => {
    assert.doesNotThrow(() => parsePusherChange(body({ data: { url: "http://localhost:5000/_matrix/push/v1/notify" } })));
    refused(body({ data: { url: "ftp://push.example.com/_matrix/push/v1/notify" } }), "M_INVALID_PARAM", /http/);
    refused(body({ data: { url: "https://push.example.com/notify" } }), "M_INVALID_PARAM", /path/);
    refused(body({ data: { url: "not a url" } }), "M_INVALID_PARAM");
    // `format` other than event_id_only is the full format, as in Synapse.
    assert.doesNotThrow(() => parsePusherChange(body({ data: { url: URL_OK, format: "full" } })));
    refused(body({ data: { url: URL_OK, format: 5 } }), "M_BAD_JSON");
    assert.doesNotThrow(() => parsePusherChange(body({ data: { url: `${URL_OK}?token=1`, custom: { x: 1 } } })));
  });

  it("refuses kinds it cannot send with, and wrong types", () => {
    refused(body({ kind: "email", app_id: "m.email", pushkey: "a@example.com" }), "M_INVALID_PARAM", /kind/);
    refused(body({ data: "x" }), "M_BAD_JSON");
    refused(body({ lang: 5 }), "M_BAD_JSON");
    refused(body({ append: "yes" }), "M_BAD_JSON");
    refused(body({ data: { url: 5 } }), "M_BAD_JSON");
  });
});

describe("/notify requests (push_notifier.yaml)", () => {
  const pusher = (data: JsonObject): Pusher => ({
    kind: "http",
    appId: "org.matrix.matrixConsole.ios",
    pushkey: "V2h5IG9uIGVhcnRoIGRpZCB5b3UgZGVjb2RlIHRoaXM/",
    appDisplayName: "Console",
    deviceDisplayName: "Phone",
    profileTag: undefined,
    lang: "en",
    data,
  });
  const event: NotifiedEvent = {
    eventId: "$3957tyerfgewrf384",
    roomId: "!slw48wfj34rtnrf:example.com",
    type: "m.room.message",
    sender: "@exampleuser:matrix.org",
    senderDisplayName: "Major Tom",
    roomName: "Mission Control",
    roomAlias: "#exampleroom:matrix.org",
    stateKey: undefined,
    content: { msgtype: "m.text", body: "I'm floating in a most peculiar way." },
  };

  it("carries the event's fields, the counts and the device without its url (the spec's example)", () => {
    const request = notifyRequest(event, "@me:example.com", pusher({ url: URL_OK, brand: "x" }), 12_345_678_999, { sound: "bing" }, { unread: 2, missedCalls: 1 });
    assert.deepEqual(request, {
      notification: {
        event_id: "$3957tyerfgewrf384",
        room_id: "!slw48wfj34rtnrf:example.com",
        type: "m.room.message",
        sender: "@exampleuser:matrix.org",
        sender_display_name: "Major Tom",
        room_name: "Mission Control",
        room_alias: "#exampleroom:matrix.org",
        prio: "high",
        content: { msgtype: "m.text", body: "I'm floating in a most peculiar way." },
        counts: { unread: 2, missed_calls: 1 },
        devices: [
          {
            app_id: "org.matrix.matrixConsole.ios",
            pushkey: "V2h5IG9uIGVhcnRoIGRpZCB5b3UgZGVjb2RlIHRoaXM/",
            pushkey_ts: 12_345_678,
            data: { brand: "x" },
            tweaks: { sound: "bing" },
          },
        ],
      },
    });
  });

  it("sends only the IDs, counts and devices with format event_id_only, and omits zero counts", () => {
    const request = notifyRequest(event, "@me:example.com", pusher({ url: URL_OK, format: "event_id_only" }), 5000, {}, { unread: 0 });
    assert.deepEqual(request, {
      notification: {
        event_id: event.eventId,
        room_id: event.roomId,
        counts: {},
        devices: [{ app_id: "org.matrix.matrixConsole.ios", pushkey: "V2h5IG9uIGVhcnRoIGRpZCB5b3UgZGVjb2RlIHRoaXM/", pushkey_ts: 5, data: { format: "event_id_only" }, tweaks: {} }],
      },
    });
  });

  it("says user_is_target for member events, and prio low for a plain notification", () => {
    const invite: NotifiedEvent = { ...event, type: "m.room.member", stateKey: "@me:example.com", content: { membership: "invite" } };
    const forMe = notifyRequest(invite, "@me:example.com", pusher({ url: URL_OK }), 0, { sound: "default" }, { unread: 1 })["notification"] as JsonObject;
    assert.equal(forMe["user_is_target"], true);
    const other = notifyRequest(invite, "@other:example.com", pusher({ url: URL_OK }), 0, {}, { unread: 1 })["notification"] as JsonObject;
    assert.equal(other["user_is_target"], false);
    assert.equal(other["prio"], "low");
    assert.equal("user_is_target" in (notifyRequest(event, "@me:example.com", pusher({ url: URL_OK }), 0, {}, { unread: 0 })["notification"] as JsonObject), false);
    assert.equal(notificationPriority("m.room.encrypted", {}), "high");
    assert.equal(notificationPriority("m.room.message", { highlight: true }), "high");
  });
});
