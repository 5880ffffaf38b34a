// The server-default push rules of modules/push.md#predefined-rules (v1.19: the legacy rules that
// looked for mentions in `body` were removed in v1.17). Their rule IDs start with a dot.
import type { PushRule } from "./ruleset.ts";

const SOUND_DEFAULT = { set_tweak: "sound", value: "default" } as const;
const HIGHLIGHT = { set_tweak: "highlight" } as const;

function rule(rule_id: string, conditions: PushRule["conditions"], actions: PushRule["actions"], enabled = true): PushRule {
  return { rule_id, default: true, enabled, conditions, actions };
}

function typeIs(pattern: string): { kind: string; key: string; pattern: string } {
  return { kind: "event_match", key: "type", pattern };
}

const EMPTY_STATE_KEY = { kind: "event_match", key: "state_key", pattern: "" };

/** `.m.rule.master`: above every other rule, user-defined ones included (modules/push.md#mrulemaster). */
export function masterRule(): PushRule {
  return rule(".m.rule.master", [], [], false);
}

/** The default override rules after `.m.rule.master`, in the spec's order, for `userId`. */
export function defaultOverrideRules(userId: string): PushRule[] {
  return [
    rule(".m.rule.suppress_notices", [{ kind: "event_match", key: "content.msgtype", pattern: "m.notice" }], []),
    rule(
      ".m.rule.invite_for_me",
      [typeIs("m.room.member"), { kind: "event_match", key: "content.membership", pattern: "invite" }, { kind: "event_match", key: "state_key", pattern: userId }],
      ["notify", SOUND_DEFAULT],
    ),
    rule(".m.rule.member_event", [typeIs("m.room.member")], []),
    rule(".m.rule.is_user_mention", [{ kind: "event_property_contains", key: "content.m\\.mentions.user_ids", value: userId }], ["notify", SOUND_DEFAULT, HIGHLIGHT]),
    rule(
      ".m.rule.is_room_mention",
      [
        { kind: "event_property_is", key: "content.m\\.mentions.room", value: true },
        { kind: "sender_notification_permission", key: "room" },
      ],
      ["notify", HIGHLIGHT],
    ),
    rule(".m.rule.tombstone", [typeIs("m.room.tombstone"), EMPTY_STATE_KEY], ["notify", HIGHLIGHT]),
    rule(".m.rule.reaction", [typeIs("m.reaction")], []),
    rule(".m.rule.room.server_acl", [typeIs("m.room.server_acl"), EMPTY_STATE_KEY], []),
    rule(".m.rule.suppress_edits", [{ kind: "event_property_is", key: "content.m\\.relates_to.rel_type", value: "m.replace" }], []),
  ];
}

/** The default underride rules, in the spec's order. */
export function defaultUnderrideRules(): PushRule[] {
  return [
    rule(".m.rule.call", [typeIs("m.call.invite")], ["notify", { set_tweak: "sound", value: "ring" }]),
    rule(".m.rule.encrypted_room_one_to_one", [{ kind: "room_member_count", is: "2" }, typeIs("m.room.encrypted")], ["notify", SOUND_DEFAULT]),
    rule(".m.rule.room_one_to_one", [{ kind: "room_member_count", is: "2" }, typeIs("m.room.message")], ["notify", SOUND_DEFAULT]),
    rule(".m.rule.message", [typeIs("m.room.message")], ["notify"]),
    rule(".m.rule.encrypted", [typeIs("m.room.encrypted")], ["notify"]),
  ];
}
