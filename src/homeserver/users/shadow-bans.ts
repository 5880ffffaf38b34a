// Shadow-banned users (Synapse's admin API .../users/{userId}/shadow_ban): what they send to others
// seems to succeed and reaches nobody, so that an abuser does not learn to work around a ban. Their
// messages, state events and redactions are answered with event IDs that name nothing
// (events/sender.ts), their invites are not sent (rooms/membership-service.ts, and the invite list
// of a room they create), their typing is not told. Joining and leaving rooms still work. The
// banned are few and asked on every send: they are kept in memory, loaded at start.
import { randomBytes } from "node:crypto";
import type { EventIdFormat } from "../../core/room-versions/room-versions.ts";
import type { ShadowBanStore } from "../../storage/stores/shadow-bans.ts";

export class ShadowBans {
  readonly #store: ShadowBanStore;
  readonly #now: () => number;
  #banned = new Set<string>();

  constructor(store: ShadowBanStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  async load(): Promise<void> {
    this.#banned = await this.#store.all();
  }

  isShadowBanned(userId: string): boolean {
    return this.#banned.has(userId);
  }

  async set(userId: string, banned: boolean): Promise<void> {
    await this.#store.set(userId, banned, this.#now());
    if (banned) this.#banned.add(userId);
    else this.#banned.delete(userId);
  }
}

/**
 * An event ID that looks like any other of the room version and names nothing: `$opaque:server`
 * (rooms/v1.md), or a reference hash in base64 (rooms/v3.md) or URL-safe base64 (rooms/v4.md on).
 */
export function fakeEventId(format: EventIdFormat, serverName: string): string {
  const bytes = randomBytes(32);
  if (format === "v1") return `$${bytes.toString("base64url").slice(0, 18)}:${serverName}`;
  return `$${bytes.toString(format === "v3" ? "base64" : "base64url").replace(/=+$/, "")}`;
}
