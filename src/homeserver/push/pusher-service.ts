// Users' pushers (modules/push.md#client-behaviour, pusher.yaml): set, listed and deleted by their
// users, removed when a push gateway rejects their pushkey (push_notifier.yaml `rejected`) and
// when the device that set them goes (logout, device deletion, deactivation: Synapse ties a pusher
// to the session that set it too; the spec says nothing of it).
//
// All pushers are kept in memory, read once at start: every new event asks whether its room's
// members have one, and that must cost nothing on the send path. Changes are written first, then
// applied to memory, one at a time so that memory follows the order of the writes.
import { HTTP_PUSHER, parsePusherChange } from "../../core/push/pusher.ts";
import type { JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { PusherKey, PusherStore, StoredPusher } from "../../storage/stores/pushers.ts";

export type PusherRemovedListener = (key: PusherKey) => void;

/** A pusher's key as one string, for maps. */
export function pusherKeyString(key: PusherKey): string {
  return `${key.userId}\u0000${key.appId}\u0000${key.pushkey}`;
}

export class PusherService {
  readonly #store: PusherStore;
  readonly #now: () => number;
  /** Per user, their pushers by key string. */
  readonly #byUser = new Map<string, Map<string, StoredPusher>>();
  readonly #removedListeners: PusherRemovedListener[] = [];
  #writes: Promise<unknown> = Promise.resolve();
  #version = 0;

  constructor(store: PusherStore, options: { now?: () => number } = {}) {
    this.#store = store;
    this.#now = options.now ?? Date.now;
  }

  /** Reads every pusher; call once before serving. */
  async load(): Promise<void> {
    for (const pusher of await this.#store.all()) this.#put(pusher);
  }

  /** Listens for pushers removed (so that what is queued for them is dropped). */
  onRemoved(listener: PusherRemovedListener): void {
    this.#removedListeners.push(listener);
  }

  /** Bumped at every change: caches of who has a pusher compare it. */
  get version(): number {
    return this.#version;
  }

  /** Whether any user has a pusher this server sends to: false skips every event at once. */
  get isEmpty(): boolean {
    return this.#byUser.size === 0;
  }

  /** Whether the user has a pusher this server sends to. */
  hasPushers(userId: string): boolean {
    return this.#byUser.has(userId);
  }

  /** GET /pushers: the user's pushers. */
  list(userId: string): StoredPusher[] {
    return [...(this.#byUser.get(userId)?.values() ?? [])];
  }

  /** The pusher with this key, if it is still set. */
  get(key: PusherKey): StoredPusher | undefined {
    return this.#byUser.get(key.userId)?.get(pusherKeyString(key));
  }

  /** POST /pushers/set (pusher.yaml): creates, replaces or deletes one of the requester's pushers. */
  async set(requester: Requester, body: JsonObject): Promise<void> {
    const change = parsePusherChange(body);
    const userId = requester.userId;
    if (change.op === "delete") {
      // Deleting a pusher that is not there is no error (pusher.yaml gives none).
      await this.#serially(async () => {
        const key = { userId, appId: change.appId, pushkey: change.pushkey };
        if (await this.#store.delete(key)) this.#remove(key);
      });
      return;
    }
    const pusher: StoredPusher = { ...change.pusher, userId, deviceId: requester.deviceId, pushkeyTs: this.#now() };
    await this.#serially(async () => {
      // pusher.yaml `append`: "Otherwise, the homeserver must remove any other pushers with the same
      // App ID and pushkey for different users."
      const removed = await this.#store.set(pusher, !change.append);
      for (const key of removed) this.#remove(key);
      this.#put(pusher);
    });
  }

  /** A push gateway rejected the pushkey: "Homeservers must cease sending ... and remove the associated pushers." */
  async removeRejected(key: PusherKey): Promise<void> {
    await this.#serially(async () => {
      if (await this.#store.delete(key)) this.#remove(key);
    });
  }

  /** The devices were deleted: the pushers they set go with them. */
  async devicesDeleted(userId: string, deviceIds: readonly string[]): Promise<void> {
    await this.#serially(async () => {
      for (const key of await this.#store.deleteForDevices(userId, deviceIds)) this.#remove(key);
    });
  }

  /** The user was deactivated: every pusher of theirs goes. */
  async userDeactivated(userId: string): Promise<void> {
    await this.#serially(async () => {
      for (const key of await this.#store.deleteForUser(userId)) this.#remove(key);
    });
  }

  #serially(write: () => Promise<void>): Promise<void> {
    const done = this.#writes.then(write);
    this.#writes = done.catch(() => undefined);
    return done;
  }

  #put(pusher: StoredPusher): void {
    // Only http pushers are stored (parsePusherChange refuses the others); a row of another kind is not sent to.
    if (pusher.kind !== HTTP_PUSHER) return;
    let pushers = this.#byUser.get(pusher.userId);
    if (pushers === undefined) this.#byUser.set(pusher.userId, (pushers = new Map()));
    pushers.set(pusherKeyString(pusher), pusher);
    this.#version++;
  }

  #remove(key: PusherKey): void {
    const pushers = this.#byUser.get(key.userId);
    if (pushers === undefined || !pushers.delete(pusherKeyString(key))) return;
    if (pushers.size === 0) this.#byUser.delete(key.userId);
    this.#version++;
    for (const listener of this.#removedListeners) listener(key);
  }
}
