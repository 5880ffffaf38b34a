// Profiles of other servers' users (client-server-api#profiles for a user ID of another server):
// asked of the user's own server with GET /_matrix/federation/v1/query/profile (query.yaml), which
// says "Requesting servers MAY wish to cache the response". Answers are kept a few minutes in a
// bounded map, least recently used first out; "no such user" is kept briefly; failures to reach
// the server are not kept (the next request asks again), but one question per user is in flight.
import { canonicalJson } from "../../core/canonical-json/canonical-json.ts";
import { MatrixError } from "../../core/errors.ts";
import { utf8Length } from "../../core/identifiers/common.ts";
import { parseUserId, serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import { rememberRecent } from "../../core/recent-map.ts";
import { FederationRequestError, type QueryParams } from "../federation/client.ts";
import { MAX_AVATAR_URL_LENGTH, MAX_DISPLAYNAME_LENGTH, MAX_PROFILE_BYTES, MAX_PROFILE_KEY_BYTES, PROFILE_KEY } from "./profile-service.ts";

export interface ProfileQueryClient {
  get(destination: string, path: string, options?: { query?: QueryParams; timeoutMs?: number; maxResponseBytes?: number }): Promise<JsonObject>;
}

export interface RemoteProfilesOptions {
  /** Users whose answers are kept at once (default 10,000). */
  readonly maxEntries?: number;
  /** How long a profile is kept (default 5 minutes). */
  readonly ttlMs?: number;
  /** How long "no such user" (or "not disclosed") is kept (default 1 minute). */
  readonly missingTtlMs?: number;
  /** The whole question to the other server (default 5 s): clients wait on it. */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

const PATH = "/_matrix/federation/v1/query/profile";
/** Room for a whole profile (under MAX_PROFILE_BYTES) and the JSON around it. */
const MAX_RESPONSE_BYTES = MAX_PROFILE_BYTES + 1024;

interface Entry {
  readonly expiresAt: number;
  /** The checked profile, or the refusal to repeat (404 or 403). */
  readonly answer: JsonObject | MatrixError;
}

export class RemoteProfiles {
  readonly #client: ProfileQueryClient;
  readonly #serverName: string;
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #missingTtlMs: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  /** Insertion order is recency order: a hit moves the entry to the end. */
  readonly #cache = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<JsonObject>>();

  constructor(client: ProfileQueryClient, serverName: string, options: RemoteProfilesOptions = {}) {
    this.#client = client;
    this.#serverName = serverName;
    this.#maxEntries = Math.max(1, options.maxEntries ?? 10_000);
    this.#ttlMs = options.ttlMs ?? 5 * 60_000;
    this.#missingTtlMs = options.missingTtlMs ?? 60_000;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  /** How many users' answers are kept now. */
  get size(): number {
    return this.#cache.size;
  }

  /**
   * The public profile of a user of another server. Throws only MatrixError: 404 M_NOT_FOUND when
   * that server knows no such user, 403 when it will not say, 502 when it cannot be reached in
   * time or answers nonsense (as Synapse: "Failed to fetch profile").
   */
  async profile(userId: string): Promise<JsonObject> {
    const server = parseUserId(userId) === undefined ? undefined : serverNameOf(userId);
    if (server === undefined) throw new MatrixError("M_INVALID_PARAM", "Not a valid user ID", 400);
    if (server === this.#serverName) throw new Error("a local user's profile is not asked over federation");
    const cached = this.#cache.get(userId);
    if (cached !== undefined) {
      this.#cache.delete(userId);
      if (this.#now() < cached.expiresAt) {
        this.#cache.set(userId, cached);
        if (cached.answer instanceof MatrixError) throw cached.answer;
        return cached.answer;
      }
    }
    let pending = this.#inFlight.get(userId);
    if (pending === undefined) {
      pending = this.#fetch(server, userId).finally(() => this.#inFlight.delete(userId));
      this.#inFlight.set(userId, pending);
    }
    return await pending;
  }

  /** Drops what is kept of the user's profile (a question in flight still answers its callers). */
  forget(userId: string): void {
    this.#cache.delete(userId);
  }

  async #fetch(server: string, userId: string): Promise<JsonObject> {
    let answer: JsonObject;
    let timer: NodeJS.Timeout | undefined;
    try {
      // query.yaml: "Homeservers MUST only query profiles for users that belong to the target server".
      const asked = this.#client.get(server, PATH, { query: { user_id: userId }, timeoutMs: this.#timeoutMs, maxResponseBytes: MAX_RESPONSE_BYTES });
      // The client's timeout starts once the server name is resolved: this one bounds the whole wait.
      const late = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new FederationRequestError(server, "timeout", `no profile from ${server} in time`)), this.#timeoutMs);
      });
      asked.catch(() => undefined);
      answer = await Promise.race([asked, late]);
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal === undefined) throw new MatrixError(failureCode(err), `Failed to fetch the profile of ${userId}`, 502);
      this.#remember(userId, { expiresAt: this.#now() + this.#missingTtlMs, answer: refusal });
      throw refusal;
    } finally {
      clearTimeout(timer);
    }
    const profile = checkedProfile(answer);
    if (profile === undefined) throw new MatrixError("M_UNKNOWN", `Failed to fetch the profile of ${userId}: ${server} answered no profile`, 502);
    this.#remember(userId, { expiresAt: this.#now() + this.#ttlMs, answer: profile });
    return profile;
  }

  #remember(userId: string, entry: Entry): void {
    rememberRecent(this.#cache, userId, entry, this.#maxEntries);
  }
}

/** The other server's own answer about the user, passed on to clients (query.yaml's 404 and 403). */
function refusalOf(err: unknown): MatrixError | undefined {
  if (!(err instanceof FederationRequestError) || err.reason !== "http") return undefined;
  if (err.status === 404) return new MatrixError("M_NOT_FOUND", "Profile was not found", 404);
  if (err.status === 403) return new MatrixError("M_FORBIDDEN", "The user's server does not disclose this profile", 403);
  return undefined;
}

function failureCode(err: unknown): "M_CONNECTION_TIMEOUT" | "M_CONNECTION_FAILED" | "M_UNKNOWN" {
  if (!(err instanceof FederationRequestError)) return "M_UNKNOWN";
  if (err.reason === "timeout") return "M_CONNECTION_TIMEOUT";
  return err.reason === "http" || err.reason === "invalid-response" ? "M_UNKNOWN" : "M_CONNECTION_FAILED";
}

/**
 * Another server's answer, checked: displayname and avatar_url (an mxc:// URI) are strings or
 * absent (null, which query.yaml allows for unset fields, wrong types and values longer than
 * we allow our own users are dropped); m.tz a
 * string; other fields kept under valid key names. Undefined when it is too large to be a profile.
 */
export function checkedProfile(answer: JsonObject): JsonObject | undefined {
  if (!isJsonObject(answer)) return undefined;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(answer)) {
    if (value === null || utf8Length(key) > MAX_PROFILE_KEY_BYTES || !PROFILE_KEY.test(key)) continue;
    if (key === "displayname") {
      if (typeof value === "string" && value.length <= MAX_DISPLAYNAME_LENGTH) out[key] = value;
    } else if (key === "avatar_url") {
      if (typeof value === "string" && value.startsWith("mxc://") && value.length <= MAX_AVATAR_URL_LENGTH) out[key] = value;
    } else if (key === "m.tz") {
      // query.yaml: "Requesting servers MUST tolerate invalid or unknown values" (of a string).
      if (typeof value === "string") out[key] = value;
    } else {
      out[key] = value;
    }
  }
  if (utf8Length(canonicalJson(out, { lenientNumbers: true })) >= MAX_PROFILE_BYTES) return undefined;
  return out;
}
