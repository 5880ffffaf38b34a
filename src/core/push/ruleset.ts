// A user's push ruleset (modules/push.md#push-rules, definitions/push_ruleset.yaml) and the changes
// pushrules.yaml makes to it. Pure: the stored form is the rendered ruleset itself (the content of the
// m.push_rules account data event, modules/push.md#push-rules-events), and rendering merges it with
// the current server-default rules, so defaults the server adds or changes reach every user while
// the user's own rules, and the `enabled`/`actions` they chose for default rules, are kept.
import { MatrixError } from "../errors.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../json.ts";
import { defaultOverrideRules, defaultUnderrideRules, masterRule } from "./default-rules.ts";

/** The kinds in the order they are checked (modules/push.md#push-rules). */
export const RULE_KINDS = ["override", "content", "room", "sender", "underride"] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export interface PushRule {
  readonly rule_id: string;
  readonly default: boolean;
  readonly enabled: boolean;
  /** override and underride rules only. */
  readonly conditions?: readonly JsonObject[];
  /** content rules only. */
  readonly pattern?: string;
  readonly actions: readonly JsonValue[];
}

export type Ruleset = { readonly [K in RuleKind]: readonly PushRule[] };

export function isRuleKind(kind: string): kind is RuleKind {
  return (RULE_KINDS as readonly string[]).includes(kind);
}

function isServerDefault(ruleId: string): boolean {
  return ruleId.startsWith(".");
}

/** The ruleset of `userId`: the stored one (an m.push_rules content, or undefined) over the server defaults. */
export function renderRuleset(userId: string, stored: JsonObject | undefined): Ruleset {
  const global = stored !== undefined && isJsonObject(stored["global"]) ? stored["global"] : {};
  const userRules = (kind: RuleKind): PushRule[] => storedRules(global[kind]).filter((r) => !isServerDefault(r.rule_id));
  // What the user chose for server-default rules: only `enabled` and `actions` can be changed.
  const chosen = new Map<string, PushRule>();
  for (const kind of ["override", "underride"] as const) {
    for (const r of storedRules(global[kind])) if (isServerDefault(r.rule_id)) chosen.set(`${kind}/${r.rule_id}`, r);
  }
  const withChoice = (kind: RuleKind) => (r: PushRule): PushRule => {
    const choice = chosen.get(`${kind}/${r.rule_id}`);
    return choice === undefined ? r : { ...r, enabled: choice.enabled, actions: choice.actions };
  };
  return {
    // modules/push.md#predefined-rules: `.m.rule.master` is above user-defined rules, other defaults below.
    override: [withChoice("override")(masterRule()), ...userRules("override"), ...defaultOverrideRules(userId).map(withChoice("override"))],
    content: userRules("content"),
    room: userRules("room"),
    sender: userRules("sender"),
    underride: [...userRules("underride"), ...defaultUnderrideRules().map(withChoice("underride"))],
  };
}

/** The m.push_rules account data content for a ruleset. */
export function rulesetContent(ruleset: Ruleset): JsonObject {
  return { global: ruleset as unknown as JsonObject };
}

/** A rule as the JSON the API answers with. */
export function ruleJson(rule: PushRule): JsonObject {
  return rule as unknown as JsonObject;
}

function storedRules(value: JsonValue | undefined): PushRule[] {
  if (!Array.isArray(value)) return [];
  const rules: PushRule[] = [];
  for (const item of value) {
    if (!isJsonObject(item) || typeof item["rule_id"] !== "string" || !Array.isArray(item["actions"])) continue;
    rules.push(item as unknown as PushRule);
  }
  return rules;
}

/** The rule `ruleId` of `kind`, or M_NOT_FOUND (pushrules.yaml: 404). */
export function findRule(ruleset: Ruleset, kind: RuleKind, ruleId: string): PushRule {
  const found = ruleset[kind].find((r) => r.rule_id === ruleId);
  if (found === undefined) throw new MatrixError("M_NOT_FOUND", "The push rule was not found.", 404);
  return found;
}

function replaceRule(ruleset: Ruleset, kind: RuleKind, ruleId: string, change: (r: PushRule) => PushRule): Ruleset {
  findRule(ruleset, kind, ruleId);
  return { ...ruleset, [kind]: ruleset[kind].map((r) => (r.rule_id === ruleId ? change(r) : r)) };
}

/** PUT .../enabled. */
export function setRuleEnabled(ruleset: Ruleset, kind: RuleKind, ruleId: string, enabled: boolean): Ruleset {
  return replaceRule(ruleset, kind, ruleId, (r) => ({ ...r, enabled }));
}

/** PUT .../actions. */
export function setRuleActions(ruleset: Ruleset, kind: RuleKind, ruleId: string, actions: JsonValue): Ruleset {
  const checked = checkActions(actions);
  return replaceRule(ruleset, kind, ruleId, (r) => ({ ...r, actions: checked }));
}

/** DELETE: user-defined rules only; server-default rules can be disabled, not deleted. */
export function deleteRule(ruleset: Ruleset, kind: RuleKind, ruleId: string): Ruleset {
  findRule(ruleset, kind, ruleId);
  if (isServerDefault(ruleId)) throw new MatrixError("M_INVALID_PARAM", "Server-default rules cannot be deleted", 400);
  return { ...ruleset, [kind]: ruleset[kind].filter((r) => r.rule_id !== ruleId) };
}

export interface Placement {
  readonly before?: string | undefined;
  readonly after?: string | undefined;
}

/** PUT /pushrules/global/{kind}/{ruleId}: creates or updates a user-defined rule. */
export function putRule(ruleset: Ruleset, kind: RuleKind, ruleId: string, body: JsonObject, placement: Placement = {}): Ruleset {
  // pushrules.yaml: IDs starting with "." are reserved for server-default rules; "/" and "\" are not allowed.
  if (ruleId.length === 0 || isServerDefault(ruleId)) throw new MatrixError("M_INVALID_PARAM", "Rule IDs may not start with '.'", 400);
  if (/[/\\]/.test(ruleId)) throw new MatrixError("M_INVALID_PARAM", "Rule IDs may not contain '/' or '\\'", 400);
  const actions = checkActions(body["actions"]);
  const existing = ruleset[kind].find((r) => r.rule_id === ruleId);
  // pushrules.yaml: "When creating push rules, they MUST be enabled by default."
  let rule: PushRule = { rule_id: ruleId, default: false, enabled: existing?.enabled ?? true, actions };
  if (kind === "override" || kind === "underride") rule = { ...rule, conditions: checkConditions(body["conditions"]) };
  if (kind === "content") {
    if (typeof body["pattern"] !== "string") throw new MatrixError("M_MISSING_PARAM", "Content rules need a 'pattern'", 400);
    rule = { ...rule, pattern: body["pattern"] };
  }
  const rules = ruleset[kind];
  const userRules = (list: readonly PushRule[]) => list.filter((r) => !isServerDefault(r.rule_id));
  const others = rules.filter((r) => r.rule_id !== ruleId);
  const anchorId = placement.before ?? placement.after;
  let index: number;
  if (anchorId !== undefined) {
    // pushrules.yaml: before/after name a user-defined rule; not found is 400 M_UNKNOWN.
    const anchor = isServerDefault(anchorId) ? -1 : others.findIndex((r) => r.rule_id === anchorId);
    if (anchor < 0) throw new MatrixError("M_UNKNOWN", `before/after rule not found: ${anchorId}`, 400);
    index = placement.before !== undefined ? anchor : anchor + 1;
  } else if (existing !== undefined) {
    index = rules.indexOf(existing);
  } else {
    // A new rule is the most important user-defined rule of its kind (after `.m.rule.master`).
    const firstUser = userRules(others)[0];
    index = firstUser !== undefined ? others.indexOf(firstUser) : kind === "override" ? Math.min(1, others.length) : kind === "underride" ? 0 : others.length;
  }
  return { ...ruleset, [kind]: [...others.slice(0, index), rule, ...others.slice(index)] };
}

/**
 * modules/push.md#historical-actions: `dont_notify` and `coalesce` MUST be ignored, which stripping
 * or skipping them both do. They are kept as the client sent them (Complement's
 * TestPushRuleCacheHealth reads `dont_notify` back, as Synapse serves it); whatever evaluates the
 * rules skips them, so that `["dont_notify"]` acts as `[]`.
 */
const HISTORICAL_ACTIONS: ReadonlySet<string> = new Set(["dont_notify", "coalesce"]);

function checkActions(value: JsonValue | undefined): JsonValue[] {
  if (value === undefined) throw new MatrixError("M_MISSING_PARAM", "Missing 'actions'", 400);
  if (!Array.isArray(value)) throw new MatrixError("M_BAD_JSON", "'actions' must be an array", 400);
  const actions: JsonValue[] = [];
  for (const action of value) {
    if (typeof action === "string") {
      if (action !== "notify" && !HISTORICAL_ACTIONS.has(action)) throw new MatrixError("M_INVALID_PARAM", `Unrecognised action: ${action}`, 400);
      actions.push(action);
    } else if (isJsonObject(action) && typeof action["set_tweak"] === "string") {
      actions.push(action);
    } else {
      throw new MatrixError("M_INVALID_PARAM", "Actions are 'notify' or {\"set_tweak\": ...}", 400);
    }
  }
  return actions;
}

/** definitions/push_condition.yaml: the parameters each known kind needs; unknown kinds never match but are kept. */
function checkConditions(value: JsonValue | undefined): JsonObject[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new MatrixError("M_BAD_JSON", "'conditions' must be an array", 400);
  return value.map((condition) => {
    if (!isJsonObject(condition) || typeof condition["kind"] !== "string") throw new MatrixError("M_BAD_JSON", "A condition needs a 'kind'", 400);
    const need = (name: string, ok: (v: JsonValue | undefined) => boolean): void => {
      if (!ok(condition[name])) throw new MatrixError("M_BAD_JSON", `A ${String(condition["kind"])} condition needs a valid '${name}'`, 400);
    };
    const isString = (v: JsonValue | undefined) => typeof v === "string";
    const isScalar = (v: JsonValue | undefined) => v === null || ["string", "boolean"].includes(typeof v) || Number.isSafeInteger(v);
    switch (condition["kind"]) {
      case "event_match":
        need("key", isString);
        need("pattern", isString);
        break;
      case "event_property_is":
      case "event_property_contains":
        need("key", isString);
        need("value", isScalar);
        break;
      case "room_member_count":
        need("is", (v) => typeof v === "string" && /^(==|<|>|<=|>=)?[0-9]+$/.test(v));
        break;
      case "sender_notification_permission":
        need("key", isString);
        break;
    }
    return condition;
  });
}
