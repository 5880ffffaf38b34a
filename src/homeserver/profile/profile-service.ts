// Profiles (client-server-api#profiles; profile.yaml): displayname, avatar_url, m.tz and the custom
// fields of v1.16. Changes are announced to listeners: the rooms work turns displayname and
// avatar_url changes into m.room.member events (client-server-api#events-on-change-of-profile-information).
import { canonicalJson } from "../../core/canonical-json/canonical-json.ts";
import { MatrixError } from "../../core/errors.ts";
import { parseUserId } from "../../core/identifiers/index.ts";
import { utf8Length } from "../../core/identifiers/common.ts";
import type { JsonObject, JsonValue } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { ProfileChange, ProfileStore, StoredProfile } from "../../storage/stores/profiles.ts";

/** profile.yaml: the key names a profile field may have. */
export const PROFILE_KEY = /^(avatar_url|displayname|m\.tz|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$/;
/** profile.yaml: M_KEY_TOO_LARGE beyond 255 bytes. */
export const MAX_PROFILE_KEY_BYTES = 255;
/** profile.yaml: "the total profile MUST be under 64 KiB". */
export const MAX_PROFILE_BYTES = 64 * 1024;
/** Synapse's limits on the two historical fields. */
export const MAX_DISPLAYNAME_LENGTH = 256;
export const MAX_AVATAR_URL_LENGTH = 1000;

export interface ProfileChangeEvent {
  readonly userId: string;
  /** The field that changed. */
  readonly key: string;
  /** Its new value; undefined when it was removed. */
  readonly value: JsonValue | undefined;
  /** The whole profile after the change. */
  readonly profile: JsonObject;
}

/** Profiles of other servers' users (RemoteProfiles): throws MatrixError only. */
export interface RemoteProfileLookup {
  profile(userId: string): Promise<JsonObject>;
  /** What is kept of the user's profile is out of date: the next lookup asks their server. */
  forget(userId: string): void;
}

export type ProfileListener = (change: ProfileChangeEvent) => void | Promise<void>;

function profileError(errcode: "M_PROFILE_TOO_LARGE" | "M_KEY_TOO_LARGE", message: string): MatrixError {
  return new MatrixError(errcode, message, 400);
}

function invalid(message: string): MatrixError {
  return new MatrixError("M_INVALID_PARAM", message, 400);
}

/** The profile as the API shows it: unset historical fields are absent. */
export function profileJson(p: StoredProfile): JsonObject {
  const out: JsonObject = {};
  if (p.displayname !== null) out["displayname"] = p.displayname;
  if (p.avatarUrl !== null) out["avatar_url"] = p.avatarUrl;
  for (const [key, value] of Object.entries(p.fields)) out[key] = value;
  return out;
}

export class ProfileService {
  readonly #serverName: string;
  readonly #store: ProfileStore;
  readonly #listeners: ProfileListener[] = [];
  readonly #onError: (error: unknown) => void;
  #remote: RemoteProfileLookup | undefined;
  #userQuery: ((userId: string) => Promise<boolean>) | undefined;

  constructor(serverName: string, store: ProfileStore, options: { onError?: (error: unknown) => void } = {}) {
    this.#serverName = serverName;
    this.#store = store;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Listens for profile changes of local users (awaited in turn; a failing listener is logged, not fatal). */
  onChange(listener: ProfileListener): void {
    this.#listeners.push(listener);
  }

  /**
   * application-service-api#querying: an unknown local user of an application service's namespace is
   * asked of the service (which may register it meanwhile); true when it now exists.
   */
  useUserQuery(query: (userId: string) => Promise<boolean>): void {
    this.#userQuery = query;
  }

  /** Where other servers' users' profiles come from (federation is built after this service). */
  useRemote(remote: RemoteProfileLookup): void {
    this.#remote = remote;
  }

  /**
   * A user of another server changed their name or avatar in a room we are in (their server sends
   * the new member event to every room they are in): what we kept of their profile is dropped.
   */
  remoteProfileChanged(userId: string): void {
    if (!this.#isLocal(userId)) this.#remote?.forget(userId);
  }

  /** GET /profile/{userId}: a user of another server is asked of their server. */
  async getProfile(userId: string): Promise<JsonObject> {
    if (parseUserId(userId) === undefined) throw invalid("Not a valid user ID");
    if (!this.#isLocal(userId) && this.#remote !== undefined) return await this.#remote.profile(userId);
    if (this.#userQuery !== undefined && (await this.#store.getProfile(userId)) === undefined) await this.#userQuery(userId);
    return profileJson(await this.#load(userId));
  }

  /** GET /profile/{userId}/{keyName}. */
  async getField(userId: string, key: string): Promise<JsonObject> {
    checkKey(key);
    const profile = await this.getProfile(userId);
    const value = profile[key];
    if (value === undefined) throw new MatrixError("M_NOT_FOUND", "No such profile field", 404);
    return { [key]: value };
  }

  /** PUT /profile/{userId}/{keyName}: the body holds the new value under the key name. */
  async setField(requester: Requester, userId: string, key: string, body: JsonObject): Promise<void> {
    checkKey(key);
    this.#checkMayChange(requester, userId, key);
    const value = body[key];
    if (value === undefined) throw new MatrixError("M_MISSING_PARAM", `Missing parameter: ${key}`, 400);
    await this.#change(userId, key, toChange(key, value));
  }

  /** DELETE /profile/{userId}/{keyName}: removing an absent field is no error. */
  async deleteField(requester: Requester, userId: string, key: string): Promise<void> {
    checkKey(key);
    this.#checkMayChange(requester, userId, key);
    const change: ProfileChange =
      key === "displayname" || key === "avatar_url" ? { kind: key, value: null } : { kind: "field", key, value: undefined };
    await this.#change(userId, key, change);
  }

  /** Deactivation with `erase`: the whole profile goes. */
  async erase(userId: string): Promise<void> {
    const before = await this.#store.getProfile(userId);
    await this.#store.eraseProfile(userId);
    if (before === undefined) return;
    const after: StoredProfile = { displayname: null, avatarUrl: null, fields: {} };
    for (const key of Object.keys(profileJson(before))) await this.#announce({ userId, key, value: undefined, profile: profileJson(after) });
  }

  async #load(userId: string): Promise<StoredProfile> {
    if (parseUserId(userId) === undefined) throw invalid("Not a valid user ID");
    // Without federation, other servers' users are as unknown as a missing local user.
    const profile = this.#isLocal(userId) ? await this.#store.getProfile(userId) : undefined;
    if (profile === undefined) throw new MatrixError("M_NOT_FOUND", "Profile not found", 404);
    return profile;
  }

  #isLocal(userId: string): boolean {
    return userId.endsWith(`:${this.#serverName}`);
  }

  #checkMayChange(requester: Requester, userId: string, key: string): void {
    if (requester.userId !== userId) throw new MatrixError("M_FORBIDDEN", "You may only change your own profile", 403);
    // modules/guest_access.md: guests may only change their display name.
    if (requester.isGuest && key !== "displayname") {
      throw new MatrixError("M_FORBIDDEN", "Guests may only change their display name", 403);
    }
  }

  async #change(userId: string, key: string, change: ProfileChange): Promise<void> {
    const next = await this.#store.changeProfile(userId, change, (candidate) => {
      if (utf8Length(canonicalJson(profileJson(candidate), { lenientNumbers: true })) >= MAX_PROFILE_BYTES) {
        throw profileError("M_PROFILE_TOO_LARGE", "The profile would exceed 64 KiB");
      }
    });
    if (next === undefined) throw new MatrixError("M_NOT_FOUND", "Profile not found", 404);
    const profile = profileJson(next);
    await this.#announce({ userId, key, value: profile[key], profile });
  }

  async #announce(change: ProfileChangeEvent): Promise<void> {
    for (const listener of this.#listeners) {
      try {
        await listener(change);
      } catch (error) {
        this.#onError(error);
      }
    }
  }
}

function checkKey(key: string): void {
  if (utf8Length(key) > MAX_PROFILE_KEY_BYTES) throw profileError("M_KEY_TOO_LARGE", `Profile keys may be at most ${MAX_PROFILE_KEY_BYTES} bytes`);
  if (!PROFILE_KEY.test(key)) throw invalid("Invalid profile key");
}

/** The stored change for a new value; the historical fields and m.tz must be strings. */
function toChange(key: string, value: JsonValue): ProfileChange {
  if (key === "displayname") {
    if (typeof value !== "string") throw invalid("displayname must be a string");
    if (value.length > MAX_DISPLAYNAME_LENGTH) throw invalid(`displayname may be at most ${MAX_DISPLAYNAME_LENGTH} characters`);
    // An empty name clears it, as Synapse does for clients that have no DELETE.
    return { kind: "displayname", value: value === "" ? null : value };
  }
  if (key === "avatar_url") {
    if (typeof value !== "string") throw invalid("avatar_url must be a string");
    if (value !== "" && (!value.startsWith("mxc://") || value.length > MAX_AVATAR_URL_LENGTH)) {
      throw invalid("avatar_url must be an mxc:// URI");
    }
    return { kind: "avatar_url", value: value === "" ? null : value };
  }
  if (key === "m.tz" && typeof value !== "string") throw invalid("m.tz must be a string");
  return { kind: "field", key, value };
}
