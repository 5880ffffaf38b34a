// Account data (modules/account_data.md), room tags (modules/tags.md) and the ignored-users list
// (modules/ignore_users.md), as a stream sync reads by position (storage/stores/account-data.ts).
import { MatrixError } from "../../core/errors.ts";
import { parseRoomId, parseUserId } from "../../core/identifiers/index.ts";
import { utf8Length } from "../../core/identifiers/common.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { AccountDataEntry, AccountDataStore } from "../../storage/stores/account-data.ts";

/** modules/account_data.md#server-behaviour: types the server manages, refused with 405. */
const SERVER_MANAGED_TYPES: ReadonlySet<string> = new Set(["m.fully_read", "m.push_rules"]);
/** client-server-api#size-limits: event types are at most 255 bytes. */
const MAX_TYPE_BYTES = 255;
/** modules/tags.md: "The name of a tag MUST NOT exceed 255 bytes." */
const MAX_TAG_BYTES = 255;

export const TAG_TYPE = "m.tag";
export const IGNORED_USER_LIST_TYPE = "m.ignored_user_list";

/** A change to a user's account data, at its stream position. */
export interface AccountDataChange {
  readonly userId: string;
  /** Undefined for global account data. */
  readonly roomId: string | undefined;
  readonly type: string;
  readonly streamId: number;
}

export type AccountDataListener = (change: AccountDataChange) => void;

export class AccountDataService {
  readonly #store: AccountDataStore;
  readonly #listeners: AccountDataListener[] = [];
  readonly #onError: (error: unknown) => void;
  /** How GET reads global types the server manages, by type (m.push_rules: the rendered ruleset). */
  readonly #managedReaders = new Map<string, (userId: string) => Promise<JsonObject>>();
  #position: number | undefined;
  #loading: Promise<number> | undefined;

  constructor(store: AccountDataStore, options: { onError?: (error: unknown) => void } = {}) {
    this.#store = store;
    this.#onError = options.onError ?? (() => undefined);
  }

  /**
   * modules/account_data.md#server-behaviour: "Servers must allow clients to read the above event
   * types as normal". GET of the global `type` answers what `read` gives, e.g. the push rules with
   * the server defaults, which exist before the user has changed (and so stored) anything.
   */
  readManagedWith(type: string, read: (userId: string) => Promise<JsonObject>): void {
    this.#managedReaders.set(type, read);
  }

  /** Listens for changes (sync wakes its waiters with the position). */
  onChange(listener: AccountDataListener): void {
    this.#listeners.push(listener);
  }

  /** The stream's current position: every change at or below it is committed. */
  async currentPosition(): Promise<number> {
    if (this.#position !== undefined) return this.#position;
    this.#loading ??= this.#store.maxStreamId();
    const loaded = await this.#loading;
    this.#position = Math.max(this.#position ?? 0, loaded);
    return this.#position;
  }

  /** The user's changes after `since`, in stream order. */
  changesSince(userId: string, since: number, limit?: number): Promise<AccountDataEntry[]> {
    return this.#store.changesSince(userId, since, limit);
  }

  /**
   * The global types the server manages that the user has stored nothing of, as GET reads them
   * (at position 0): an initial sync sends them too, since the push rules exist, with the server's
   * defaults, before the user changes one (modules/push.md: clients read them from /sync).
   */
  async unstoredManaged(userId: string): Promise<AccountDataEntry[]> {
    const out: AccountDataEntry[] = [];
    for (const [type, read] of this.#managedReaders) {
      if ((await this.#store.get(userId, undefined, type)) !== undefined) continue;
      out.push({ streamId: 0, userId, roomId: undefined, type, content: await read(userId) });
    }
    return out;
  }

  /** The user's account data in a room as the server reads it (no requester), by type. */
  roomEntries(userId: string, roomId: string): Promise<{ type: string; content: JsonObject }[]> {
    return this.#store.roomEntries(userId, roomId);
  }

  /** A global account data entry of the user as the server reads it (no requester): undefined when unset. */
  globalContent(userId: string, type: string): Promise<JsonObject | undefined> {
    return this.#store.get(userId, undefined, type);
  }

  /** GET /user/{userId}/account_data/{type} and the per-room variant (roomId defined). */
  async get(requester: Requester, userId: string, roomId: string | undefined, type: string): Promise<JsonObject> {
    checkOwner(requester, userId);
    checkRoomId(roomId);
    const read = roomId === undefined ? this.#managedReaders.get(type) : undefined;
    const content = read !== undefined ? await read(userId) : await this.#store.get(userId, roomId, type);
    if (content === undefined) throw new MatrixError("M_NOT_FOUND", roomId === undefined ? "Account data not found" : "Room account data not found", 404);
    return content;
  }

  /** PUT /user/{userId}/account_data/{type} and the per-room variant. */
  async put(requester: Requester, userId: string, roomId: string | undefined, type: string, content: JsonObject): Promise<void> {
    checkOwner(requester, userId);
    checkRoomId(roomId);
    if (type.length === 0 || utf8Length(type) > MAX_TYPE_BYTES) throw new MatrixError("M_INVALID_PARAM", `Types are 1 to ${MAX_TYPE_BYTES} bytes`, 400);
    if (SERVER_MANAGED_TYPES.has(type)) throw new MatrixError("M_BAD_JSON", `Cannot set ${type} through this API`, 405);
    if (type === IGNORED_USER_LIST_TYPE) checkIgnoredUserList(content);
    await this.#write(userId, roomId, type, () => content);
  }

  /** Writes a type the server manages (m.fully_read by read markers, m.push_rules by push rules). */
  async putServerManaged(userId: string, roomId: string | undefined, type: string, content: JsonObject): Promise<number> {
    return await this.#write(userId, roomId, type, () => content);
  }

  /** Changes a type the server manages from its current content, in one write (no lost updates). */
  async updateServerManaged(userId: string, roomId: string | undefined, type: string, change: (current: JsonObject | undefined) => JsonObject): Promise<number> {
    return await this.#write(userId, roomId, type, change);
  }

  /** Reads a type the server manages, for the server itself. */
  getServerManaged(userId: string, roomId: string | undefined, type: string): Promise<JsonObject | undefined> {
    return this.#store.get(userId, roomId, type);
  }

  /** GET /user/{userId}/rooms/{roomId}/tags. */
  async getTags(requester: Requester, userId: string, roomId: string): Promise<JsonObject> {
    checkOwner(requester, userId);
    checkRoomId(roomId);
    return { tags: tagsOf(await this.#store.get(userId, roomId, TAG_TYPE)) };
  }

  /** PUT /user/{userId}/rooms/{roomId}/tags/{tag}. */
  async putTag(requester: Requester, userId: string, roomId: string, tag: string, content: JsonObject): Promise<void> {
    checkOwner(requester, userId);
    checkRoomId(roomId);
    if (tag.length === 0 || utf8Length(tag) > MAX_TAG_BYTES) throw new MatrixError("M_INVALID_PARAM", `Tags are 1 to ${MAX_TAG_BYTES} bytes`, 400);
    await this.#write(userId, roomId, TAG_TYPE, (current) => ({ ...current, tags: { ...tagsOf(current), [tag]: content } }));
  }

  /** DELETE /user/{userId}/rooms/{roomId}/tags/{tag}: removing an absent tag is no error. */
  async deleteTag(requester: Requester, userId: string, roomId: string, tag: string): Promise<void> {
    checkOwner(requester, userId);
    checkRoomId(roomId);
    await this.#write(userId, roomId, TAG_TYPE, (current) => {
      const tags = tagsOf(current);
      delete tags[tag];
      return { ...current, tags };
    });
  }

  /** Deactivation with `erase`: all of the user's account data goes. */
  erase(userId: string): Promise<void> {
    return this.#store.eraseUser(userId);
  }

  async #write(userId: string, roomId: string | undefined, type: string, change: (current: JsonObject | undefined) => JsonObject): Promise<number> {
    const { streamId } = await this.#store.update(userId, roomId, type, change);
    await this.currentPosition();
    this.#position = Math.max(this.#position ?? 0, streamId);
    for (const listener of this.#listeners) {
      try {
        listener({ userId, roomId, type, streamId });
      } catch (error) {
        this.#onError(error);
      }
    }
    return streamId;
  }
}

function checkOwner(requester: Requester, userId: string): void {
  if (requester.userId !== userId) throw new MatrixError("M_FORBIDDEN", "Cannot access account data of other users", 403);
}

function checkRoomId(roomId: string | undefined): void {
  if (roomId !== undefined && parseRoomId(roomId) === undefined) throw new MatrixError("M_INVALID_PARAM", `${roomId} is not a valid room ID`, 400);
}

function tagsOf(content: JsonObject | undefined): JsonObject {
  const tags = content?.["tags"];
  return isJsonObject(tags) ? { ...tags } : {};
}

/** m.ignored_user_list: `ignored_users` maps user IDs to objects. */
function checkIgnoredUserList(content: JsonObject): void {
  const ignored = content["ignored_users"];
  if (!isJsonObject(ignored)) throw new MatrixError("M_BAD_JSON", "ignored_users must be an object", 400);
  for (const [userId, value] of Object.entries(ignored)) {
    if (parseUserId(userId) === undefined) throw new MatrixError("M_BAD_JSON", `ignored_users: ${userId} is not a user ID`, 400);
    if (!isJsonObject(value)) throw new MatrixError("M_BAD_JSON", "ignored_users values must be objects", 400);
  }
}
