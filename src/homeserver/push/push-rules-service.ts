// A user's push rules (modules/push.md#push-rules-api), kept as the m.push_rules account data event
// the spec says clients receive in /sync (modules/push.md#push-rules-events). Until a user changes a
// rule nothing is stored and the server defaults are served.
import type { JsonObject } from "../../core/json.ts";
import { renderRuleset, rulesetContent, type Ruleset } from "../../core/push/ruleset.ts";
import type { AccountDataService } from "../account-data/account-data-service.ts";

export const PUSH_RULES_TYPE = "m.push_rules";

export class PushRulesService {
  readonly #accountData: AccountDataService;

  constructor(accountData: AccountDataService) {
    this.#accountData = accountData;
    // GET /user/{userId}/account_data/m.push_rules reads the same ruleset as GET /pushrules/.
    accountData.readManagedWith(PUSH_RULES_TYPE, async (userId) => rulesetContent(await this.ruleset(userId)));
  }

  /** The user's current ruleset. */
  async ruleset(userId: string): Promise<Ruleset> {
    return renderRuleset(userId, await this.#accountData.getServerManaged(userId, undefined, PUSH_RULES_TYPE));
  }

  /** Applies a change to the ruleset in one write; the change may throw a MatrixError, and then nothing is written. */
  async change(userId: string, change: (ruleset: Ruleset) => Ruleset): Promise<void> {
    await this.#accountData.updateServerManaged(userId, undefined, PUSH_RULES_TYPE, (current: JsonObject | undefined) =>
      rulesetContent(change(renderRuleset(userId, current))),
    );
  }
}
