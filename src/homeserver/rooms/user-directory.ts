// POST /user_directory/search (users.yaml, client-server-api#user-directory). Searched: the users
// "that share a room with the requesting user" and those joined to rooms "that have a public join
// rule" or "a world_readable history visibility" (the minimum the spec sets); local and remote
// alike, by user ID and display name, case-insensitively.
// users.yaml: "SHOULD query remote users as part of the search": the remote users searched are those
// this server knows from the rooms it is in; other servers are not asked (federation has no such query).
//
// Each user is shown with the display name and avatar of their latest join among the rooms that
// make them visible to the searcher (so a per-room name in a room the searcher cannot see is never
// shown, nor matched), and matches when every word of the term is in their user ID or that name.
//
// A search costs what it examines, not the size of the server: the users having one gram of the
// words are read from the directory's index (storage/stores/user-directory.ts) in user ID order,
// a page at a time; those whose search text holds every word have their joins read and checked
// against the searcher's rooms and the open rooms; it stops once it has one result more than the
// limit, or after MAX_EXAMINED users (then saying `limited`).
//
// The index is kept a step behind the memberships: their writes mark the users they change stale,
// and refresh() rewrites those users' rows in the background, a few a transaction (refreshSoon
// gathers a burst of joins). A search first waits for it, for a bounded time, so that it finds a
// user who has just joined or changed names. Only which users are read can lag: the names shown and
// matched, and who may see whom, are read from the memberships themselves.
//
// users.yaml: "preferably using a collation determined based upon the Accept-Language header": not
// done. Text is lower-cased by Unicode's default mapping (String.prototype.toLowerCase), the same for
// every locale, so the stored search text and the term agree (and letters beyond ASCII fold too,
// which SQLite's lower() does not).
import { CoveringRun } from "../../core/covering-run.ts";
import type { JsonObject } from "../../core/json.ts";
import type { UserDirectoryStore } from "../../storage/stores/user-directory.ts";
import { latestJoin, searchable, searchWords } from "../../storage/stores/user-directory.ts";
import type { RoomStateReader } from "./room-state.ts";

export interface UserDirectoryDeps {
  readonly store: UserDirectoryStore;
  readonly states: RoomStateReader;
  /** The most users a search reads from the index (default MAX_EXAMINED). */
  readonly maxExamined?: number;
  /** How long a search waits at most for the stale rows to be rewritten (default MAX_REFRESH_WAIT_MS). */
  readonly maxRefreshWaitMs?: number;
  readonly onError?: (error: unknown, what: string) => void;
}

/** Results by default ("Defaults to 10") and at most. */
export const USER_DIRECTORY_LIMITS = { defaultLimit: 10, maxLimit: 100 } as const;

/**
 * The most users a search reads from the index, by default. Past it, the search answers with what
 * it found and `limited: true` (more may match: the client narrows the term); only a term common to
 * very many users few of whom the searcher may see gets there.
 */
const MAX_EXAMINED = 5000;
/**
 * Stale users whose rows are rewritten a transaction: a new user adds some 70 grams, so a
 * transaction writes about a thousand rows at most, and the writes between them go on.
 */
const REFRESH_CHUNK = 16;
/** How long after a membership change the background refresh starts. */
const REFRESH_DELAY_MS = 50;
/**
 * A search first waits for the users marked stale to be rewritten, so that it finds a user who has
 * just joined or changed names; this long at most (after a join of a room of many thousands, or at
 * the first start after the upgrade, it answers from the rows already written).
 */
const MAX_REFRESH_WAIT_MS = 1000;
/** The first page of users read, at least; each next page is twice the last, up to MAX_PAGE. */
const MIN_PAGE = 50;
const MAX_PAGE = 1000;

interface Found {
  readonly userId: string;
  readonly displayName: string | null;
  readonly avatarUrl: string | null;
}

export class UserDirectoryService {
  readonly #deps: UserDirectoryDeps;
  readonly #maxExamined: number;
  /** Whether each room is open to the directory (public join rule or world_readable history), as far as worked out. */
  readonly #open = new Map<string, boolean>();
  /** Bumped by roomChanged: an answer worked out across a change is not cached. */
  #changes = 0;
  /** Refreshes one at a time, each call covered by one that starts after it. */
  readonly #refreshes = new CoveringRun(async () => {
    while (!this.#stopped && (await this.#deps.store.refreshStale(REFRESH_CHUNK)) === REFRESH_CHUNK) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  });
  #refreshTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(deps: UserDirectoryDeps) {
    this.#deps = deps;
    this.#maxExamined = deps.maxExamined ?? MAX_EXAMINED;
  }

  /**
   * Rewrites the rows of every user marked stale (storage/stores/user-directory.ts), a few users a
   * transaction, a turn of the event loop apart. Settles once the users marked before the call are
   * done; calls made while a refresh runs share the one that follows it.
   */
  refresh(): Promise<void> {
    return this.#refreshes.run();
  }

  /**
   * A refresh a moment from now (REFRESH_DELAY_MS), for users just marked stale: the marks of a burst
   * of joins are rewritten together, in full chunks, rather than a transaction each.
   */
  refreshSoon(): void {
    if (this.#refreshTimer !== undefined || this.#stopped) return;
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined;
      this.refresh().catch((err: unknown) => this.#deps.onError?.(err, "refreshing the user directory"));
    }, REFRESH_DELAY_MS);
    this.#refreshTimer.unref();
  }

  /** Stops refreshing (the server is closing): a refresh running ends after the chunk it is writing, and the marks left stay for the next start. */
  async close(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    await this.#refreshes.settled();
  }

  /** The stale rows rewritten, or MAX_REFRESH_WAIT_MS gone by, whichever comes first; a failed refresh is reported, not thrown. */
  async #refreshed(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#deps.maxRefreshWaitMs ?? MAX_REFRESH_WAIT_MS);
    });
    try {
      await Promise.race([this.refresh().catch((err: unknown) => this.#deps.onError?.(err, "refreshing the user directory")), waited]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The room's join rules or history visibility changed: work out again whether it is open. */
  roomChanged(roomId: string): void {
    this.#open.delete(roomId);
    this.#changes++;
  }

  /** Up to `limit` (greater than zero) users matching every word of the term, by user ID. */
  async search(searcher: string, searchTerm: string, limit: number): Promise<JsonObject> {
    const words = searchWords(searchTerm);
    if (words.length === 0) return { results: [], limited: false };
    await this.#refreshed();
    const { store } = this.#deps;
    const gram = await store.gramFor(words);
    if (gram === undefined) return { results: [], limited: false };
    const mine = new Set(await store.joinedRooms(searcher));

    const found: Found[] = [];
    let after = "";
    let examined = 0;
    let page = Math.min(MAX_PAGE, Math.max(MIN_PAGE, 2 * (limit + 1)));
    let exhausted = false;
    while (found.length <= limit && examined < this.#maxExamined) {
      const asked = Math.min(page, this.#maxExamined - examined);
      const candidates = await store.candidates(gram, words, after, asked);
      examined += candidates.scanned;
      for (const user of await this.#visible(candidates.userIds, mine, words)) {
        found.push(user);
        if (found.length > limit) break;
      }
      if (candidates.scanned < asked || candidates.last === undefined) {
        exhausted = true;
        break;
      }
      after = candidates.last;
      page = Math.min(MAX_PAGE, page * 2);
    }

    const results = found.slice(0, limit).map((u) => {
      const out: JsonObject = { user_id: u.userId };
      if (u.displayName !== null) out["display_name"] = u.displayName;
      if (u.avatarUrl !== null) out["avatar_url"] = u.avatarUrl;
      return out;
    });
    // users.yaml `limited`: "if the result list has been truncated by the limit"; also when the search stopped at its most examined.
    return { results, limited: found.length > limit || !exhausted };
  }

  /** Of these users (in order), those the searcher may see, with the profile shown, who match every word. */
  async #visible(userIds: readonly string[], mine: ReadonlySet<string>, words: readonly string[]): Promise<Found[]> {
    if (userIds.length === 0) return [];
    const joins = await this.#deps.store.joins(userIds);
    const rooms = new Set<string>();
    for (const list of joins.values()) for (const j of list) if (!mine.has(j.roomId)) rooms.add(j.roomId);
    const open = new Set<string>();
    await Promise.all(
      [...rooms].map(async (roomId) => {
        if (await this.#isOpen(roomId)) open.add(roomId);
      }),
    );

    const out: Found[] = [];
    for (const userId of userIds) {
      const shown = latestJoin((joins.get(userId) ?? []).filter((j) => mine.has(j.roomId) || open.has(j.roomId)));
      if (shown === undefined) continue;
      const id = searchable(userId);
      const name = shown.displayName === null ? "" : searchable(shown.displayName);
      if (words.every((w) => id.includes(w) || name.includes(w))) out.push({ userId, displayName: shown.displayName, avatarUrl: shown.avatarUrl });
    }
    return out;
  }

  async #isOpen(roomId: string): Promise<boolean> {
    const cached = this.#open.get(roomId);
    if (cached !== undefined) return cached;
    const changes = this.#changes;
    const state = await this.#deps.states.current(roomId);
    const isOpen =
      state !== undefined &&
      ((await state.stringField("m.room.join_rules", "join_rule")) === "public" ||
        (await state.stringField("m.room.history_visibility", "history_visibility")) === "world_readable");
    if (changes === this.#changes) this.#open.set(roomId, isOpen);
    return isOpen;
  }
}
