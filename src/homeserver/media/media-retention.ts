// media_retention (Synapse's config section): media not accessed for a lifetime are deleted, their
// rows, files and cached thumbnails. remote_media_lifetime ages the cache of other servers' media
// (what is purged is fetched again from its server when asked later); local_media_lifetime ages
// this server's uploads (gone, they are unknown: 404 M_NOT_FOUND). Either unset: that kind is kept
// forever. "Accessed" is downloaded or thumbnailed, by a local user or over federation; media never
// accessed count from when they were stored.
//
// Accesses are remembered in memory and written in batches (as Synapse's recently accessed sets),
// and only for media whose stored last access is older than a fraction of the lifetime, so a busy
// download path costs no write per request. The purge writes the remembered accesses first, then
// deletes in bounded batches.
import type { Logger } from "pino";
import type { MediaRetentionConfig } from "../../config/index.ts";

/** How often the retention rules run (Synapse's MEDIA_RETENTION_CHECK_PERIOD_MS: an hour). */
const PURGE_INTERVAL_MS = 60 * 60 * 1000;
/** The first run after start: soon, so a server restarted often still purges, yet off the start's path. */
const FIRST_PURGE_DELAY_MS = 60 * 1000;
/** How often remembered accesses are written. */
const ACCESS_FLUSH_INTERVAL_MS = 5 * 60 * 1000;
/** Past this many remembered accesses they are written at once, so memory stays bounded. */
const MAX_REMEMBERED_ACCESSES = 10_000;
/** Media purged per batch (rows deleted in one transaction, then their files). */
const PURGE_BATCH = 500;
const MAX_ACCESS_RESOLUTION_MS = 60 * 60 * 1000;

/**
 * How stale a stored last access may be before a new access is written: a tenth of the lifetime,
 * at most an hour (an hour when no lifetime is set, so accesses are known should one be set later).
 * A media accessed within nine tenths of its lifetime is therefore never purged.
 */
export function accessResolutionMs(lifetimeMs: number | undefined): number {
  return lifetimeMs === undefined ? MAX_ACCESS_RESOLUTION_MS : Math.min(MAX_ACCESS_RESOLUTION_MS, Math.floor(lifetimeMs / 10));
}

export interface MediaAccessesOptions {
  /** accessResolutionMs of the lifetime. */
  readonly resolutionMs: number;
  readonly log: Logger;
  readonly now?: () => number;
}

/** Accesses of one kind of media, remembered by an ID and written in batches with the time of writing. */
export class MediaAccesses<K> {
  readonly #write: (keys: K[], ts: number) => Promise<void>;
  readonly #options: MediaAccessesOptions;
  readonly #now: () => number;
  #remembered = new Map<string, K>();
  #flushing: Promise<void> | undefined;

  constructor(write: (keys: K[], ts: number) => Promise<void>, options: MediaAccessesOptions) {
    this.#write = write;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The media `key` (`id` naming it) was served; `storedTs` is its last access as read with its row. */
  mark(id: string, key: K, storedTs: number): void {
    if (this.#now() - storedTs < this.#options.resolutionMs) return;
    this.#remembered.set(id, key);
    if (this.#remembered.size >= MAX_REMEMBERED_ACCESSES && this.#flushing === undefined) void this.flush();
  }

  /** Writes what is remembered. A failure is logged and the batch dropped: the next access of each marks it again. */
  async flush(): Promise<void> {
    if (this.#remembered.size === 0) return;
    const batch = this.#remembered;
    this.#remembered = new Map();
    const flushing = this.#write([...batch.values()], this.#now()).catch((error: unknown) => {
      this.#options.log.warn({ err: error, count: batch.size }, "writing media accesses failed");
    });
    this.#flushing = flushing;
    try {
      await flushing;
    } finally {
      if (this.#flushing === flushing) this.#flushing = undefined;
    }
  }
}

/** One kind of media the rules purge: the local repository, or the cache of other servers' media. */
export interface RetainedMedia {
  /** Writes the accesses remembered so far. */
  flushAccesses(): Promise<void>;
  /**
   * Purges up to `limit` media not accessed since `beforeTs` (rows, then files): how many were
   * looked at, and which were purged (some may be skipped, being in use right then), as their
   * `mxc://` server name and media ID.
   */
  purgeNotAccessedSince(beforeTs: number, limit: number): Promise<{ readonly examined: number; readonly purged: readonly string[] }>;
}

export interface MediaRetentionOptions {
  readonly config: MediaRetentionConfig;
  readonly local: RetainedMedia;
  readonly remote: RetainedMedia;
  readonly log: Logger;
  readonly now?: () => number;
}

/** The periodic job: accesses written every few minutes, the retention rules applied every hour. */
export class MediaRetention {
  readonly #options: MediaRetentionOptions;
  readonly #now: () => number;
  #flushTimer: NodeJS.Timeout | undefined;
  #purgeTimer: NodeJS.Timeout | undefined;
  #running: Promise<{ local: number; remote: number }> | undefined;
  #closed = false;

  constructor(options: MediaRetentionOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Whether any lifetime is set (without one, only accesses are written). */
  get enabled(): boolean {
    const { localMediaLifetimeMs, remoteMediaLifetimeMs } = this.#options.config;
    return localMediaLifetimeMs !== undefined || remoteMediaLifetimeMs !== undefined;
  }

  start(): void {
    if (this.#closed) return;
    this.#flushTimer = setInterval(() => void this.#flushAll(), ACCESS_FLUSH_INTERVAL_MS);
    this.#flushTimer.unref();
    if (this.enabled) this.#schedule(FIRST_PURGE_DELAY_MS);
  }

  #schedule(delayMs: number): void {
    this.#purgeTimer = setTimeout(() => {
      void this.run().finally(() => {
        if (!this.#closed) this.#schedule(PURGE_INTERVAL_MS);
      });
    }, delayMs);
    this.#purgeTimer.unref();
  }

  /** Applies the rules once (a run already under way is joined): how many media of each kind were purged. */
  run(): Promise<{ local: number; remote: number }> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #run(): Promise<{ local: number; remote: number }> {
    // What was served since the last write counts before anything is judged unused.
    await this.#flushAll();
    const { config, local, remote } = this.#options;
    return {
      remote: await this.#purge("remote", remote, config.remoteMediaLifetimeMs),
      local: await this.#purge("local", local, config.localMediaLifetimeMs),
    };
  }

  async #purge(kind: "local" | "remote", media: RetainedMedia, lifetimeMs: number | undefined): Promise<number> {
    if (lifetimeMs === undefined) return 0;
    const { log } = this.#options;
    const beforeTs = this.#now() - lifetimeMs;
    let purged = 0;
    try {
      purged = (await this.#purgeAll(media, beforeTs)).length;
    } catch (error) {
      log.error({ err: error, kind }, "purging media not accessed within their lifetime failed");
    }
    if (purged > 0) log.info({ kind, purged, beforeTs }, `media_retention: purged ${purged} ${kind} media not accessed within ${kind}_media_lifetime`);
    return purged;
  }

  /**
   * An admin's purge (Synapse's admin API): every media of the kind not accessed since `beforeTs`,
   * now, whatever the lifetimes configured; the media purged. What was served so far counts first.
   */
  async purgeNow(kind: "local" | "remote", beforeTs: number): Promise<string[]> {
    await this.#flushAll();
    return await this.#purgeAll(kind === "local" ? this.#options.local : this.#options.remote, beforeTs);
  }

  async #purgeAll(media: RetainedMedia, beforeTs: number): Promise<string[]> {
    const purged: string[] = [];
    for (;;) {
      const batch = await media.purgeNotAccessedSince(beforeTs, PURGE_BATCH);
      purged.push(...batch.purged);
      // A short batch was the last; one purging nothing (all in use) would only be looked at again.
      if (batch.examined < PURGE_BATCH || batch.purged.length === 0 || this.#closed) break;
      await new Promise((resolve) => setImmediate(resolve)); // requests get their turn between batches
    }
    return purged;
  }

  async #flushAll(): Promise<void> {
    const { local, remote } = this.#options;
    await Promise.all([local.flushAccesses(), remote.flushAccesses()]);
  }

  /** Stops the timers, lets a run under way end (after its batch), and writes the remembered accesses. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#flushTimer);
    clearTimeout(this.#purgeTimer);
    await this.#running;
    await this.#flushAll();
  }
}
