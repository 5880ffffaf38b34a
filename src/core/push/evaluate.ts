// Push rule evaluation (modules/push.md#push-rules): which rule of a user's ruleset an event
// matches first, in the order of the kinds (override, content, room, sender, underride) and of the
// rules within each, and what its actions ask for. Pure: the facts about the room and the user
// that conditions read (member count, power levels, display name) are gathered by the caller.
import { isJsonObject, type JsonObject, type JsonValue } from "../json.ts";
import { rememberRecent } from "../recent-map.ts";
import { compileGlob, foldText, globMatches, literalGlob, type FoldedText } from "./glob.ts";
import { parseDotPath } from "../filters/event-fields.ts";
import { valueAtPath } from "./property-path.ts";
import { RULE_KINDS, type PushRule, type RuleKind, type Ruleset } from "./ruleset.ts";

/** What conditions need to know beyond the event, for the user whose rules are evaluated. */
export interface PushEnvironment {
  readonly userId: string;
  /** room_member_count: the number of joined members of the room. */
  readonly roomMemberCount: number;
  /** contains_display_name: the user's display name in the room, if they have one. */
  readonly displayName: string | undefined;
  /** sender_notification_permission: the sender's power level in the room. */
  readonly senderPowerLevel: number;
  /** sender_notification_permission: the level the power levels' `notifications` require for `key`, if any. */
  readonly notificationPowerLevel: (key: string) => number | undefined;
}

/** What the first matching rule asks for. */
export interface PushOutcome {
  readonly kind: RuleKind;
  readonly ruleId: string;
  /** The rule's actions without the historical ones (modules/push.md#historical-actions). */
  readonly actions: readonly JsonValue[];
  /** modules/push.md#actions `notify`. */
  readonly notify: boolean;
  /** modules/push.md#actions `set_tweak`: the tweaks to send to the push gateway. */
  readonly tweaks: JsonObject;
  /** modules/push.md#actions: the highlight tweak, false when not given. */
  readonly highlight: boolean;
}

/**
 * An event as conditions read it, with the values looked up by a path and the strings folded for
 * matching remembered, so that the rules of many users are evaluated against it cheaply.
 */
export class PushEvent {
  readonly json: JsonObject;
  readonly #values = new Map<string, JsonValue | undefined>();
  readonly #folded = new Map<string, FoldedText | undefined>();

  constructor(json: JsonObject) {
    this.json = json;
  }

  /** The value at a dot-separated path (appendices#dot-separated-property-paths). */
  value(key: string): JsonValue | undefined {
    if (this.#values.has(key)) return this.#values.get(key);
    const value = valueAtPath(this.json, pathOf(key));
    this.#values.set(key, value);
    return value;
  }

  /** The string at a path prepared for glob matching, or undefined when it is absent or not a string. */
  folded(key: string): FoldedText | undefined {
    if (this.#folded.has(key)) return this.#folded.get(key);
    const value = this.value(key);
    const folded = typeof value === "string" ? foldText(value) : undefined;
    this.#folded.set(key, folded);
    return folded;
  }
}

// What every event's evaluation derives from the rules is worked out once: the same default and
// user rules (their patterns and keys) and the same few display names come up for every event.
const MAX_COMPILED = 10_000;

/** A bounded cache of `make`, by its string argument. */
function compiledOnce<T>(make: (source: string) => T): (source: string) => T {
  const cache = new Map<string, T>();
  return (source) => {
    let value = cache.get(source);
    if (value === undefined) {
      value = make(source);
      rememberRecent(cache, source, value, MAX_COMPILED);
    }
    return value;
  };
}

const globOf = compiledOnce(compileGlob);
const displayNameGlobOf = compiledOnce(literalGlob);
const pathOf = compiledOnce(parseDotPath);

/** modules/push.md#conditions-1: `content.body` is matched by words, any other key as a whole. */
function eventMatch(event: PushEvent, key: string, pattern: string): boolean {
  const text = event.folded(key);
  if (text === undefined) return false; // absent or not a string: no match, "even if pattern is *"
  return globMatches(globOf(pattern), text, key === "content.body" ? "words" : "whole");
}

/**
 * event_property_is and event_property_contains compare "non-compound canonical JSON values":
 * strings, integers in [-(2**53)+1, (2**53)-1], booleans and null.
 */
function isNonCompound(value: JsonValue | undefined): value is string | number | boolean | null {
  return value === null || typeof value === "string" || typeof value === "boolean" || Number.isSafeInteger(value);
}

// room_member_count `is`: "A decimal integer optionally prefixed by one of, ==, <, >, >= or <=".
const MEMBER_COUNT = /^(==|<=|>=|<|>)?([0-9]+)$/;

function memberCountMatches(is: string, count: number): boolean {
  const match = MEMBER_COUNT.exec(is);
  if (match === null) return false;
  const bound = Number(match[2]);
  switch (match[1]) {
    case "<":
      return count < bound;
    case ">":
      return count > bound;
    case "<=":
      return count <= bound;
    case ">=":
      return count >= bound;
    default:
      return count === bound; // "If no prefix is present, this parameter defaults to =="
  }
}

/** Whether one condition of an override or underride rule holds (modules/push.md#conditions-1). */
export function conditionMatches(condition: JsonObject, event: PushEvent, env: PushEnvironment): boolean {
  const key = condition["key"];
  switch (condition["kind"]) {
    case "event_match": {
      const pattern = condition["pattern"];
      return typeof key === "string" && typeof pattern === "string" && eventMatch(event, key, pattern);
    }
    case "event_property_is": {
      if (typeof key !== "string" || !Object.hasOwn(condition, "value")) return false;
      const wanted = condition["value"];
      const value = event.value(key);
      // "The match is performed exactly": no casting, so "true" is not true and 1 is not true.
      return isNonCompound(wanted) && isNonCompound(value) && value === wanted;
    }
    case "event_property_contains": {
      if (typeof key !== "string" || !Object.hasOwn(condition, "value")) return false;
      const wanted = condition["value"];
      const value = event.value(key);
      // "Array values not of those types are ignored"; a property that is not an array never matches.
      return isNonCompound(wanted) && Array.isArray(value) && value.some((item) => isNonCompound(item) && item === wanted);
    }
    case "contains_display_name": {
      // The user's display name in the room, anywhere in content.body between word boundaries.
      const body = event.folded("content.body");
      const name = env.displayName;
      return body !== undefined && name !== undefined && name.length > 0 && globMatches(displayNameGlobOf(name), body, "words");
    }
    case "room_member_count": {
      const is = condition["is"];
      return typeof is === "string" && memberCountMatches(is, env.roomMemberCount);
    }
    case "sender_notification_permission": {
      if (typeof key !== "string") return false;
      const required = env.notificationPowerLevel(key);
      return required !== undefined && env.senderPowerLevel >= required;
    }
    default:
      // "Unrecognised conditions MUST NOT match any events, effectively making the push rule disabled."
      return false;
  }
}

/** Whether a rule of `kind` matches: conditions, or the predefined condition of its kind. */
export function ruleMatches(kind: RuleKind, rule: PushRule, event: PushEvent, env: PushEnvironment): boolean {
  switch (kind) {
    case "override":
    case "underride":
      // "A rule with no conditions always matches."
      return (rule.conditions ?? []).every((condition) => isJsonObject(condition) && conditionMatches(condition, event, env));
    case "content":
      // The pattern against content.body, by words (modules/push.md#push-rules).
      return typeof rule.pattern === "string" && eventMatch(event, "content.body", rule.pattern);
    case "room":
      // "The rule_id of a room rule is always the ID of the room that it affects."
      return event.value("room_id") === rule.rule_id;
    case "sender":
      // "The rule_id of Sender rules is always the Matrix user ID of the user whose messages they'd apply to."
      return event.value("sender") === rule.rule_id;
  }
}

/** modules/push.md#historical-actions: `dont_notify` and `coalesce` MUST be ignored. */
const HISTORICAL_ACTIONS: ReadonlySet<string> = new Set(["dont_notify", "coalesce"]);

/** What a list of actions asks for. */
export function actionsOutcome(actions: readonly JsonValue[]): Pick<PushOutcome, "actions" | "notify" | "tweaks" | "highlight"> {
  const kept: JsonValue[] = [];
  const tweaks: JsonObject = {};
  let notify = false;
  for (const action of actions) {
    if (typeof action === "string") {
      if (HISTORICAL_ACTIONS.has(action)) continue;
      if (action === "notify") notify = true;
      kept.push(action);
    } else if (isJsonObject(action) && typeof action["set_tweak"] === "string") {
      const name = action["set_tweak"];
      const value = action["value"];
      // "If a highlight tweak is given with no value, its value is defined to be true."
      if (value !== undefined) tweaks[name] = value;
      else if (name === "highlight") tweaks[name] = true;
      kept.push(action);
    }
  }
  return { actions: kept, notify, tweaks, highlight: tweaks["highlight"] === true };
}

/**
 * The outcome of the first enabled rule matching the event, or undefined when none does ("If no
 * rules match an event, the homeserver MUST NOT notify the Push Gateway for that event").
 */
export function evaluatePushRules(ruleset: Ruleset, event: PushEvent, env: PushEnvironment): PushOutcome | undefined {
  for (const kind of RULE_KINDS) {
    for (const rule of ruleset[kind]) {
      // "Disabled rules never match."
      if (rule.enabled !== true || !ruleMatches(kind, rule, event, env)) continue;
      return { kind, ruleId: rule.rule_id, ...actionsOutcome(rule.actions) };
    }
  }
  return undefined;
}

/** Whether any enabled rule asks for the user's display name (so the caller looks it up only then). */
export function usesDisplayName(ruleset: Ruleset): boolean {
  return RULE_KINDS.some((kind) =>
    ruleset[kind].some((rule) => rule.enabled === true && (rule.conditions ?? []).some((c) => isJsonObject(c) && c["kind"] === "contains_display_name")),
  );
}
