// Answering key queries as a notary (server-server-api#querying-keys-through-another-server):
// the queried servers' key responses, from cache or fetched, each also signed by us.
import { MatrixError } from "../../core/errors.ts";
import { parseServerName } from "../../core/identifiers/index.ts";
import type { JsonObject } from "../../core/json.ts";
import type { ServerKeyPublisher } from "./server-keys.ts";

/** One request may make us fetch from this many servers at most: a bound on amplification. */
export const MAX_SERVERS_PER_QUERY = 100;

export interface NotaryKeySource {
  getServerKeyResponses(serverName: string, minimumValidUntilTs: number): Promise<JsonObject[]>;
}

export class KeyNotary {
  constructor(
    private readonly serverName: string,
    private readonly publisher: Pick<ServerKeyPublisher, "response" | "sign">,
    private readonly keys: NotaryKeySource,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The key responses of each server asked about, with `minimumValidUntilTs` per server (keys_query.yaml:
   * "If not supplied, the notary server MUST use the current time"). Servers that cannot be reached
   * and have nothing cached are left out; names that are not server names too.
   */
  async query(criteria: ReadonlyMap<string, number | undefined>): Promise<JsonObject[]> {
    if (criteria.size > MAX_SERVERS_PER_QUERY) {
      throw new MatrixError("M_INVALID_PARAM", `At most ${MAX_SERVERS_PER_QUERY} servers may be queried at once`, 400);
    }
    const now = this.now();
    const answers = await Promise.all(
      [...criteria].map(async ([serverName, minimumValidUntilTs]) => {
        if (parseServerName(serverName) === undefined) return [];
        if (serverName === this.serverName) return [this.publisher.response()];
        const responses = await this.keys.getServerKeyResponses(serverName, minimumValidUntilTs ?? now);
        return responses.map((response) => this.publisher.sign(response));
      }),
    );
    return answers.flat();
  }
}
