// Push rule evaluation (modules/push.md#push-rules): the spec's examples of each condition, dotted
// keys with escapes (appendices#dot-separated-property-paths), the order of kinds, actions and
// tweaks, and the server-default rules on the events they are for.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import {
  PushEvent,
  actionsOutcome,
  conditionMatches,
  evaluatePushRules,
  usesDisplayName,
  type PushEnvironment,
} from "../../../src/core/push/evaluate.ts";
import { parseDotPath } from "../../../src/core/filters/event-fields.ts";
import { valueAtPath } from "../../../src/core/push/property-path.ts";
import { putRule, renderRuleset, setRuleEnabled, type Ruleset } from "../../../src/core/push/ruleset.ts";

const ALICE = "@alice:example.org";
const BOB = "@bob:example.org";
const ROOM = "!room:example.org";

const env = (over: Partial<PushEnvironment> = {}): PushEnvironment => ({
  userId: ALICE,
  roomMemberCount: 5,
  displayName: undefined,
  senderPowerLevel: 0,
  notificationPowerLevel: (key) => (key === "room" ? 50 : undefined),
  ...over,
});

const message = (content: JsonObject, extra: JsonObject = {}): PushEvent =>
  new PushEvent({ type: "m.room.message", sender: BOB, room_id: ROOM, event_id: "$e", content, ...extra });

const holds = (condition: JsonObject, event: PushEvent, e: PushEnvironment = env()) => conditionMatches(condition, event, e);

describe("property paths of push conditions (appendices#dot-separated-property-paths)", () => {
  // Splitting is the filters' parseDotPath, tested with event_fields.
  it("walks objects only, own properties only", () => {
    const event = { content: { "m.relates_to": { rel_type: "m.replace" }, list: [{ a: 1 }] } };
    assert.equal(valueAtPath(event, parseDotPath("content.m\\.relates_to.rel_type")), "m.replace");
    assert.equal(valueAtPath(event, ["content", "list", "0", "a"]), undefined);
    assert.equal(valueAtPath(event, ["content", "toString"]), undefined);
  });
});

describe("push conditions (modules/push.md#conditions-1)", () => {
  it("event_match: the spec's content.topic example, absent keys and non-strings never match, even *", () => {
    const topic = (value: unknown) => new PushEvent({ type: "m.room.topic", state_key: "", content: { topic: value } as JsonObject });
    const lunch = { kind: "event_match", key: "content.topic", pattern: "lunc?*" };
    assert.equal(holds(lunch, topic("Lunch plans")), true);
    assert.equal(holds(lunch, topic("LUNCH")), true);
    assert.equal(holds(lunch, topic(" lunch")), false);
    assert.equal(holds(lunch, topic("lunc")), false);
    assert.equal(holds(lunch, topic(null)), false);
    assert.equal(holds({ kind: "event_match", key: "content.missing", pattern: "*" }, topic("x")), false);
    assert.equal(holds({ kind: "event_match", key: "content.topic", pattern: "*" }, topic(5)), false);
    assert.equal(holds({ kind: "event_match", key: "content.topic" }, topic("x")), false, "no pattern");
  });

  it("event_match on content.body matches by words (the spec's ex*ple example)", () => {
    const rule = { kind: "event_match", key: "content.body", pattern: "ex*ple" };
    assert.equal(holds(rule, message({ body: "An example event." })), true);
    assert.equal(holds(rule, message({ body: "exple" })), true);
    assert.equal(holds(rule, message({ body: "An exciting triple-whammy" })), true);
    assert.equal(holds(rule, message({ body: "Anexample" })), false);
    // Other keys match as a whole.
    assert.equal(holds({ kind: "event_match", key: "content.msgtype", pattern: "text" }, message({ msgtype: "m.text" })), false);
  });

  it("event_property_is: the spec's content.m\\.federate example, exact and uncast", () => {
    const create = (federate: unknown) => new PushEvent({ type: "m.room.create", state_key: "", content: { "m.federate": federate } as JsonObject });
    const rule = { kind: "event_property_is", key: "content.m\\.federate", value: true };
    assert.equal(holds(rule, create(true)), true);
    assert.equal(holds(rule, create("true")), false, "note the string value");
    assert.equal(holds(rule, create(1)), false, "do not cast types");
    assert.equal(holds({ kind: "event_property_is", key: "content.m\\.federate", value: null }, create(null)), true);
    assert.equal(holds({ kind: "event_property_is", key: "content.m\\.federate", value: 3 }, create(3)), true);
    assert.equal(holds({ kind: "event_property_is", key: "content.m\\.federate", value: 3 }, create(3.5)), false);
    assert.equal(holds({ kind: "event_property_is", key: "content.m\\.federate", value: null }, create({})), false, "compound values never match");
    assert.equal(holds({ kind: "event_property_is", key: "content.absent", value: null }, create(true)), false, "absent is not null");
  });

  it("event_property_contains: the spec's alt_aliases example, arrays only, whole values only", () => {
    const aliases = (list: unknown) => new PushEvent({ type: "m.room.canonical_alias", state_key: "", content: { alias: "#somewhere:localhost", alt_aliases: list } as JsonObject });
    const rule = { kind: "event_property_contains", key: "content.alt_aliases", value: "#myroom:example.com" };
    assert.equal(holds(rule, aliases(["#somewhere:example.org", "#myroom:example.com"])), true);
    assert.equal(holds(rule, aliases([":example.com"])), false, "partial values do not match");
    assert.equal(holds(rule, aliases("#myroom:example.com")), false, "not an array");
    assert.equal(holds({ ...rule, value: 1 }, aliases([[1], { a: 1 }, 1])), true, "compound items are ignored");
  });

  it("contains_display_name: the user's name in the room anywhere in the body, by words", () => {
    const named = env({ displayName: "Alice Liddell" });
    assert.equal(holds({ kind: "contains_display_name" }, message({ body: "hi alice liddell!" }), named), true);
    assert.equal(holds({ kind: "contains_display_name" }, message({ body: "hi alice liddells" }), named), false);
    assert.equal(holds({ kind: "contains_display_name" }, message({ body: "hi" }), env()), false, "no display name");
    assert.equal(holds({ kind: "contains_display_name" }, message({ body: 5 }), named), false);
  });

  it("room_member_count: ==, <, >, <=, >= and no prefix", () => {
    const count = (is: string, n: number) => holds({ kind: "room_member_count", is }, message({}), env({ roomMemberCount: n }));
    assert.equal(count("2", 2), true);
    assert.equal(count("2", 3), false);
    assert.equal(count("==2", 2), true);
    assert.equal(count("<10", 9), true);
    assert.equal(count("<10", 10), false);
    assert.equal(count("<=10", 10), true);
    assert.equal(count(">2", 3), true);
    assert.equal(count(">2", 2), false);
    assert.equal(count(">=2", 2), true);
    assert.equal(count("=>2", 2), false, "not an operator");
    assert.equal(count("two", 2), false);
  });

  it("sender_notification_permission: the sender's level against notifications[key]", () => {
    const room = { kind: "sender_notification_permission", key: "room" };
    assert.equal(holds(room, message({}), env({ senderPowerLevel: 50 })), true);
    assert.equal(holds(room, message({}), env({ senderPowerLevel: 49 })), false);
    assert.equal(holds(room, message({}), env({ senderPowerLevel: Infinity })), true, "a v12 room creator");
    assert.equal(holds({ kind: "sender_notification_permission", key: "other" }, message({}), env({ senderPowerLevel: 100 })), false, "no level for the key");
  });

  it("never matches an unknown condition kind", () => {
    assert.equal(holds({ kind: "org.example.custom" }, message({})), false);
  });
});

describe("actions (modules/push.md#actions)", () => {
  it("notify and set_tweak, highlight without a value is true, without the tweak false", () => {
    assert.deepEqual(actionsOutcome(["notify", { set_tweak: "sound", value: "default" }, { set_tweak: "highlight" }]), {
      actions: ["notify", { set_tweak: "sound", value: "default" }, { set_tweak: "highlight" }],
      notify: true,
      tweaks: { sound: "default", highlight: true },
      highlight: true,
    });
    assert.equal(actionsOutcome(["notify"]).highlight, false);
    assert.equal(actionsOutcome(["notify", { set_tweak: "highlight", value: false }]).highlight, false);
  });

  it("ignores the historical dont_notify and coalesce: [\"dont_notify\"] is []", () => {
    assert.deepEqual(actionsOutcome(["dont_notify"]), actionsOutcome([]));
    assert.deepEqual(actionsOutcome(["coalesce", "notify"]).actions, ["notify"]);
    assert.equal(actionsOutcome(["coalesce", "notify"]).notify, true);
  });
});

describe("rulesets (modules/push.md#push-rules)", () => {
  const defaults = renderRuleset(ALICE, undefined);
  const evaluate = (ruleset: Ruleset, event: PushEvent, e: PushEnvironment = env()) => evaluatePushRules(ruleset, event, e);

  it("notifies for messages, with a sound in one-to-one rooms", () => {
    assert.equal(evaluate(defaults, message({ msgtype: "m.text", body: "hi" }))?.ruleId, ".m.rule.message");
    const direct = evaluate(defaults, message({ msgtype: "m.text", body: "hi" }), env({ roomMemberCount: 2 }));
    assert.equal(direct?.ruleId, ".m.rule.room_one_to_one");
    assert.deepEqual(direct?.tweaks, { sound: "default" });
    const encrypted = new PushEvent({ type: "m.room.encrypted", sender: BOB, room_id: ROOM, content: { algorithm: "m.megolm.v1.aes-sha2" } });
    assert.equal(evaluate(defaults, encrypted)?.ruleId, ".m.rule.encrypted");
    assert.equal(evaluate(defaults, encrypted, env({ roomMemberCount: 2 }))?.ruleId, ".m.rule.encrypted_room_one_to_one");
  });

  it("highlights mentions of the user, and @room from a sender allowed to", () => {
    const mention = evaluate(defaults, message({ body: "hey", "m.mentions": { user_ids: [ALICE] } }));
    assert.equal(mention?.ruleId, ".m.rule.is_user_mention");
    assert.equal(mention?.highlight, true);
    const room = message({ body: "all", "m.mentions": { room: true } });
    assert.equal(evaluate(defaults, room, env({ senderPowerLevel: 50 }))?.ruleId, ".m.rule.is_room_mention");
    assert.equal(evaluate(defaults, room, env({ senderPowerLevel: 0 }))?.ruleId, ".m.rule.message", "not allowed: a plain message");
  });

  it("stays silent for notices, edits, reactions, member events and the ACL", () => {
    for (const event of [
      message({ msgtype: "m.notice", body: "bot" }),
      message({ body: "* edit", "m.relates_to": { rel_type: "m.replace", event_id: "$x" } }),
      new PushEvent({ type: "m.reaction", sender: BOB, content: { "m.relates_to": { rel_type: "m.annotation", event_id: "$x", key: "👍" } } }),
      new PushEvent({ type: "m.room.member", sender: BOB, state_key: BOB, content: { membership: "join" } }),
      new PushEvent({ type: "m.room.server_acl", sender: BOB, state_key: "", content: { allow: ["*"] } }),
    ]) {
      const outcome = evaluate(defaults, event);
      assert.ok(outcome !== undefined && !outcome.notify, JSON.stringify(event.json));
    }
    assert.equal(evaluate(defaults, new PushEvent({ type: "m.sticker", sender: BOB, content: {} })), undefined, "no rule matches a sticker");
  });

  it("notifies of an invite of the user and of a room upgrade", () => {
    const invite = new PushEvent({ type: "m.room.member", sender: BOB, state_key: ALICE, content: { membership: "invite" } });
    assert.equal(evaluate(defaults, invite)?.ruleId, ".m.rule.invite_for_me");
    const tombstone = new PushEvent({ type: "m.room.tombstone", sender: BOB, state_key: "", content: { replacement_room: "!new:x" } });
    assert.equal(evaluate(defaults, tombstone)?.highlight, true);
  });

  it("checks the kinds in order: override, content, room, sender, underride; the first match wins", () => {
    let ruleset = putRule(defaults, "sender", BOB, { actions: [] });
    assert.equal(evaluate(ruleset, message({ body: "hi" }))?.ruleId, BOB, "a sender rule is above the underrides");
    ruleset = putRule(ruleset, "room", ROOM, { actions: ["notify", { set_tweak: "sound", value: "room.wav" }] });
    assert.equal(evaluate(ruleset, message({ body: "hi" }))?.ruleId, ROOM, "room rules before sender rules");
    // The spec's example content rules: "cake", then "cake*lie" placed before it.
    ruleset = putRule(ruleset, "content", "SSByZWFsbHkgbGlrZSBjYWtl", { pattern: "cake", actions: ["notify", { set_tweak: "sound", value: "cakealarm.wav" }] });
    assert.equal(evaluate(ruleset, message({ body: "Is there cake?" }))?.tweaks["sound"], "cakealarm.wav");
    ruleset = putRule(ruleset, "content", "U3BvbmdlIGNha2UgaXMgYmVzdA", { pattern: "cake*lie", actions: ["notify"] }, { before: "SSByZWFsbHkgbGlrZSBjYWtl" });
    assert.equal(evaluate(ruleset, message({ body: "the cake is a lie" }))?.ruleId, "U3BvbmdlIGNha2UgaXMgYmVzdA");
    assert.equal(evaluate(ruleset, message({ body: "cakes" }))?.ruleId, ROOM, "content patterns match whole words");
    // The spec's example override: beer in rooms of 10 members or fewer.
    ruleset = putRule(ruleset, "override", "U2VlIHlvdSBpbiBUaGUgRHVrZQ", {
      conditions: [
        { kind: "event_match", key: "content.body", pattern: "beer" },
        { kind: "room_member_count", is: "<=10" },
      ],
      actions: ["notify", { set_tweak: "sound", value: "beeroclock.wav" }],
    });
    assert.equal(evaluate(ruleset, message({ body: "cake and beer" }))?.tweaks["sound"], "beeroclock.wav");
    assert.equal(evaluate(ruleset, message({ body: "cake and beer" }), env({ roomMemberCount: 11 }))?.tweaks["sound"], "cakealarm.wav");
  });

  it("skips disabled rules; the master rule enabled silences everything", () => {
    const noMessages = setRuleEnabled(defaults, "underride", ".m.rule.message", false);
    assert.equal(evaluate(noMessages, message({ body: "hi" })), undefined);
    const master = setRuleEnabled(defaults, "override", ".m.rule.master", true);
    const outcome = evaluate(master, message({ body: "hey", "m.mentions": { user_ids: [ALICE] } }));
    assert.equal(outcome?.ruleId, ".m.rule.master");
    assert.equal(outcome?.notify, false);
  });

  it("takes a rule with dont_notify as one with no actions, and one with an unknown condition as never matching", () => {
    let ruleset = putRule(defaults, "override", "quiet", { conditions: [{ kind: "event_match", key: "content.body", pattern: "shh" }], actions: ["dont_notify"] });
    assert.equal(evaluate(ruleset, message({ body: "shh" }))?.notify, false);
    ruleset = putRule(defaults, "override", "odd", { conditions: [{ kind: "org.example.unknown" }], actions: ["notify", { set_tweak: "highlight" }] });
    assert.equal(evaluate(ruleset, message({ body: "x" }))?.ruleId, ".m.rule.message");
  });

  it("says when a ruleset needs the user's display name", () => {
    assert.equal(usesDisplayName(defaults), false);
    const ruleset = putRule(defaults, "override", "name", { conditions: [{ kind: "contains_display_name" }], actions: ["notify"] });
    assert.equal(usesDisplayName(ruleset), true);
    assert.equal(evaluate(ruleset, message({ body: "hi Alice" }), env({ displayName: "alice" }))?.ruleId, "name");
  });
});
