// identity-service-api#terms-of-service (v2_terms.yaml): the policies offered, the URLs each user
// accepted, and whether those cover every current policy.
import type { JsonObject } from "../core/json.ts";
import type { Policy } from "./config.ts";
import type { AnyIdentityEndpoint, IdentityEndpoint } from "./http.ts";
import type { IdentityStore } from "./store.ts";

export class Terms {
  constructor(
    private readonly policies: ReadonlyMap<string, Policy>,
    private readonly store: IdentityStore,
  ) {}

  /** GET /terms's `policies`. */
  document(): JsonObject {
    const policies: JsonObject = {};
    for (const [id, policy] of this.policies) {
      const entry: JsonObject = { version: policy.version };
      for (const [language, text] of policy.languages) entry[language] = { name: text.name, url: text.url };
      policies[id] = entry;
    }
    return policies;
  }

  /**
   * Whether the user accepted every current policy, in any one of its languages ("Servers SHOULD
   * consider acceptance of any one language's URL as acceptance for all other languages").
   */
  async accepted(userId: string): Promise<boolean> {
    if (this.policies.size === 0) return true;
    const accepted = await this.store.acceptedTerms(userId);
    for (const policy of this.policies.values()) {
      if (![...policy.languages.values()].some((text) => accepted.has(text.url))) return false;
    }
    return true;
  }

  /** Appends the URLs to what the user accepted ("append the provided URLs to what the server already knows"). */
  async accept(userId: string, urls: readonly string[]): Promise<void> {
    const known = new Set([...this.policies.values()].flatMap((p) => [...p.languages.values()].map((t) => t.url)));
    // Only the URLs of policies offered are kept: anything else accepts nothing the server asks.
    await this.store.acceptTerms(userId, [...new Set(urls)].filter((url) => known.has(url)));
  }
}

export function termsEndpoints(terms: Terms): AnyIdentityEndpoint[] {
  const get: IdentityEndpoint<undefined> = {
    name: "terms.get",
    method: "GET",
    path: "/terms",
    // v2_terms.yaml: "Note that this endpoint does not require authentication."
    auth: "none",
    handler: async () => ({ policies: terms.document() }),
  };
  const post: IdentityEndpoint<{ user_accepts: string[] }> = {
    name: "terms.accept",
    method: "POST",
    path: "/terms",
    auth: "required",
    // "The server should avoid returning M_TERMS_NOT_SIGNED because the client may not be accepting all terms at once."
    terms: false,
    schema: { type: "object", properties: { user_accepts: { type: "array", items: { type: "string" } } }, required: ["user_accepts"] },
    handler: async (request) => {
      await terms.accept(request.userId as string, request.body.user_accepts);
      return {};
    },
  };
  return [get, post];
}
