import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MatrixError } from "../../../src/core/errors.ts";
import {
  RULE_KINDS,
  deleteRule,
  findRule,
  putRule,
  renderRuleset,
  rulesetContent,
  setRuleActions,
  setRuleEnabled,
  type RuleKind,
  type Ruleset,
} from "../../../src/core/push/ruleset.ts";

const ALICE = "@alice:example.org";
const ids = (ruleset: Ruleset, kind: RuleKind) => ruleset[kind].map((r) => r.rule_id);
const rejects = (fn: () => unknown, status: number, errcode: string) =>
  assert.throws(fn, (e: unknown) => e instanceof MatrixError && e.status === status && e.errcode === errcode);

describe("push rulesets (modules/push.md)", () => {
  it("serves the spec's server-default rules, in order, with the user's ID filled in", () => {
    const ruleset = renderRuleset(ALICE, undefined);
    assert.deepEqual(ids(ruleset, "override"), [
      ".m.rule.master",
      ".m.rule.suppress_notices",
      ".m.rule.invite_for_me",
      ".m.rule.member_event",
      ".m.rule.is_user_mention",
      ".m.rule.is_room_mention",
      ".m.rule.tombstone",
      ".m.rule.reaction",
      ".m.rule.room.server_acl",
      ".m.rule.suppress_edits",
    ]);
    assert.deepEqual(ids(ruleset, "underride"), [".m.rule.call", ".m.rule.encrypted_room_one_to_one", ".m.rule.room_one_to_one", ".m.rule.message", ".m.rule.encrypted"]);
    for (const kind of ["content", "room", "sender"] as const) assert.deepEqual(ruleset[kind], []);
    const master = findRule(ruleset, "override", ".m.rule.master");
    assert.deepEqual(master, { rule_id: ".m.rule.master", default: true, enabled: false, conditions: [], actions: [] });
    const invite = findRule(ruleset, "override", ".m.rule.invite_for_me");
    assert.deepEqual(invite.conditions?.[2], { kind: "event_match", key: "state_key", pattern: ALICE });
    const mention = findRule(ruleset, "override", ".m.rule.is_user_mention");
    assert.deepEqual(mention.conditions, [{ kind: "event_property_contains", key: "content.m\\.mentions.user_ids", value: ALICE }]);
    assert.deepEqual(mention.actions, ["notify", { set_tweak: "sound", value: "default" }, { set_tweak: "highlight" }]);
  });

  it("places new rules first among user rules, after .m.rule.master and before the defaults", () => {
    let ruleset = renderRuleset(ALICE, undefined);
    ruleset = putRule(ruleset, "override", "first", { actions: ["notify"], conditions: [] });
    ruleset = putRule(ruleset, "override", "second", { actions: [] });
    assert.deepEqual(ids(ruleset, "override").slice(0, 4), [".m.rule.master", "second", "first", ".m.rule.suppress_notices"]);
    ruleset = putRule(ruleset, "underride", "low", { actions: ["notify"] });
    assert.equal(ids(ruleset, "underride")[0], "low");
    // The spec's examples: a content rule, then one placed before it.
    ruleset = putRule(ruleset, "content", "SSByZWFsbHkgbGlrZSBjYWtl", { pattern: "cake", actions: ["notify", { set_tweak: "sound", value: "cakealarm.wav" }] });
    ruleset = putRule(ruleset, "content", "U3BvbmdlIGNha2UgaXMgYmVzdA", { pattern: "cake*lie", actions: ["notify"] }, { before: "SSByZWFsbHkgbGlrZSBjYWtl" });
    assert.deepEqual(ids(ruleset, "content"), ["U3BvbmdlIGNha2UgaXMgYmVzdA", "SSByZWFsbHkgbGlrZSBjYWtl"]);
    ruleset = putRule(ruleset, "content", "tea", { pattern: "tea", actions: [] }, { after: "U3BvbmdlIGNha2UgaXMgYmVzdA" });
    assert.deepEqual(ids(ruleset, "content"), ["U3BvbmdlIGNha2UgaXMgYmVzdA", "tea", "SSByZWFsbHkgbGlrZSBjYWtl"]);
    // An update without before/after keeps the rule's place and its enabled state.
    ruleset = setRuleEnabled(ruleset, "content", "tea", false);
    ruleset = putRule(ruleset, "content", "tea", { pattern: "tea*", actions: ["notify"] });
    assert.deepEqual(ids(ruleset, "content"), ["U3BvbmdlIGNha2UgaXMgYmVzdA", "tea", "SSByZWFsbHkgbGlrZSBjYWtl"]);
    assert.deepEqual(findRule(ruleset, "content", "tea"), { rule_id: "tea", default: false, enabled: false, actions: ["notify"], pattern: "tea*" });
  });

  it("refuses reserved IDs, unknown anchors, defaults as anchors, bad actions and missing patterns", () => {
    const ruleset = renderRuleset(ALICE, undefined);
    rejects(() => putRule(ruleset, "override", ".m.rule.mine", { actions: [] }), 400, "M_INVALID_PARAM");
    rejects(() => putRule(ruleset, "override", "a/b", { actions: [] }), 400, "M_INVALID_PARAM");
    rejects(() => putRule(ruleset, "override", "a\\b", { actions: [] }), 400, "M_INVALID_PARAM");
    rejects(() => putRule(ruleset, "override", "x", { actions: [] }, { before: "nope" }), 400, "M_UNKNOWN");
    rejects(() => putRule(ruleset, "override", "x", { actions: [] }, { after: ".m.rule.master" }), 400, "M_UNKNOWN");
    rejects(() => putRule(ruleset, "override", "x", {}), 400, "M_MISSING_PARAM");
    rejects(() => putRule(ruleset, "override", "x", { actions: ["explode"] }), 400, "M_INVALID_PARAM");
    rejects(() => putRule(ruleset, "override", "x", { actions: [], conditions: [{ kind: "event_match", key: "type" }] }), 400, "M_BAD_JSON");
    rejects(() => putRule(ruleset, "override", "x", { actions: [], conditions: [{ kind: "room_member_count", is: "about 3" }] }), 400, "M_BAD_JSON");
    rejects(() => putRule(ruleset, "content", "x", { actions: [] }), 400, "M_MISSING_PARAM");
    rejects(() => deleteRule(ruleset, "override", ".m.rule.master"), 400, "M_INVALID_PARAM");
    rejects(() => deleteRule(ruleset, "room", "!nope:example.org"), 404, "M_NOT_FOUND");
    rejects(() => setRuleEnabled(ruleset, "underride", ".m.rule.master", true), 404, "M_NOT_FOUND");
    // Unknown condition kinds are kept (they never match, modules/push.md#conditions); so are historical
    // actions, which evaluation ignores (modules/push.md#historical-actions).
    const kept = putRule(ruleset, "override", "future", { actions: ["dont_notify", "coalesce"], conditions: [{ kind: "org.example.future" }] });
    assert.deepEqual(findRule(kept, "override", "future").actions, ["dont_notify", "coalesce"]);
    assert.deepEqual(findRule(kept, "override", "future").conditions, [{ kind: "org.example.future" }]);
  });

  it("keeps the user's choices for default rules across a round trip through the stored form", () => {
    let ruleset = renderRuleset(ALICE, undefined);
    ruleset = setRuleEnabled(ruleset, "override", ".m.rule.master", true);
    ruleset = setRuleActions(ruleset, "underride", ".m.rule.message", ["notify", { set_tweak: "sound", value: "ping" }]);
    ruleset = putRule(ruleset, "room", "!room:example.org", { actions: [] });
    const stored = JSON.parse(JSON.stringify(rulesetContent(ruleset)));
    // A stale definition of a default rule in the stored form does not survive: conditions come from the server.
    stored.global.underride.find((r: { rule_id: string }) => r.rule_id === ".m.rule.message").conditions = [];
    const again = renderRuleset(ALICE, stored);
    assert.equal(findRule(again, "override", ".m.rule.master").enabled, true);
    assert.deepEqual(findRule(again, "underride", ".m.rule.message").actions, ["notify", { set_tweak: "sound", value: "ping" }]);
    assert.deepEqual(findRule(again, "underride", ".m.rule.message").conditions, [{ kind: "event_match", key: "type", pattern: "m.room.message" }]);
    assert.deepEqual(ids(again, "room"), ["!room:example.org"]);
    assert.deepEqual(deleteRule(again, "room", "!room:example.org").room, []);
  });

  it("property: any sequence of changes keeps master first, every default once, and rule IDs unique per kind", () => {
    const kind = fc.constantFrom<RuleKind>(...RULE_KINDS);
    const ruleId = fc.constantFrom("a", "b", "c", "d");
    const op = fc.oneof(
      fc.record({ op: fc.constant("put" as const), kind, ruleId, anchor: fc.option(fc.tuple(fc.boolean(), ruleId), { nil: undefined }) }),
      fc.record({ op: fc.constant("delete" as const), kind, ruleId }),
      fc.record({ op: fc.constant("enable" as const), kind, ruleId, enabled: fc.boolean() }),
    );
    const defaults = renderRuleset(ALICE, undefined);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        let ruleset = defaults;
        for (const o of ops) {
          try {
            if (o.op === "put") {
              const placement = o.anchor === undefined ? {} : o.anchor[0] ? { before: o.anchor[1] } : { after: o.anchor[1] };
              ruleset = putRule(ruleset, o.kind, o.ruleId, { actions: ["notify"], pattern: "p" }, placement);
            } else if (o.op === "delete") ruleset = deleteRule(ruleset, o.kind, o.ruleId);
            else ruleset = setRuleEnabled(ruleset, o.kind, o.ruleId, o.enabled);
          } catch (e) {
            if (!(e instanceof MatrixError)) throw e;
          }
          ruleset = renderRuleset(ALICE, JSON.parse(JSON.stringify(rulesetContent(ruleset))));
        }
        assert.equal(ruleset.override[0]?.rule_id, ".m.rule.master");
        for (const k of RULE_KINDS) {
          const list = ids(ruleset, k);
          assert.equal(new Set(list).size, list.length);
          const firstDefault = list.findIndex((id, i) => id.startsWith(".") && i > 0);
          if (firstDefault >= 0) assert.ok(list.slice(firstDefault).every((id) => id.startsWith(".")), "defaults come after user rules");
          assert.deepEqual(list.filter((id) => id.startsWith(".")), ids(defaults, k));
        }
      }),
    );
  });
});
