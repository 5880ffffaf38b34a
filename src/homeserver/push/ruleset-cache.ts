// Users' push rulesets as evaluated for every event of their rooms: read once, and again after the
// user changes a rule (their m.push_rules account data changed).
import type { Ruleset } from "../../core/push/ruleset.ts";
import { rememberRecent } from "../../core/recent-map.ts";

const MAX_USERS = 10_000;

export class RulesetCache {
  readonly #read: (userId: string) => Promise<Ruleset>;
  readonly #rulesets = new Map<string, Ruleset>();
  readonly #generation = new Map<string, number>();

  constructor(read: (userId: string) => Promise<Ruleset>) {
    this.#read = read;
  }

  /** The user's rules changed. */
  changed(userId: string): void {
    this.#rulesets.delete(userId);
    rememberRecent(this.#generation, userId, (this.#generation.get(userId) ?? 0) + 1, MAX_USERS);
  }

  async of(userId: string): Promise<Ruleset> {
    const cached = this.#rulesets.get(userId);
    if (cached !== undefined) return cached;
    const generation = this.#generation.get(userId);
    const ruleset = await this.#read(userId);
    // A change that landed while reading may be missing from what was read: not kept then.
    if (this.#generation.get(userId) === generation) rememberRecent(this.#rulesets, userId, ruleset, MAX_USERS);
    return ruleset;
  }
}
