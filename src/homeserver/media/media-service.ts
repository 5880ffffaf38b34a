// The media repository (client-server-api#content-repository): uploads, created-then-uploaded media
// IDs, downloads and thumbnails of this server's media. Other servers' media go through a
// RemoteMedia source, which fetching over federation will fill in; until then it knows none.
// Downloads and thumbnails are remembered as accesses, and media not accessed within
// local_media_lifetime are purged (media-retention.ts).
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import { MatrixError } from "../../core/errors.ts";
import { parseServerName } from "../../core/identifiers/server-name.ts";
import type { LocalMediaRow, MediaStore, UserMediaQuery } from "../../storage/stores/media.ts";
import { openMediaFile, removeMediaFiles, writeFileDurably } from "./media-files.ts";
import { accessResolutionMs, MediaAccesses, type RetainedMedia } from "./media-retention.ts";
import {
  chooseThumbnailSize,
  isValidMediaId,
  localMediaPath,
  localThumbnailDir,
  localThumbnailPath,
  mediaTypeEssence,
  uploadContentType,
  type ThumbnailSize,
} from "./media-rules.ts";
import { canThumbnail, servableAsThumbnail, type Thumbnail, type Thumbnailer } from "./thumbnailer.ts";

/** Downloaded content: its bytes as a stream, and what it was uploaded as. */
export interface MediaContent {
  readonly stream: Readable;
  readonly size: number;
  readonly contentType: string;
  readonly uploadName: string | undefined;
}

export interface DownloadOptions {
  /** authed-content-repo.yaml timeout_ms: how long to wait for media created and not yet uploaded. */
  readonly timeoutMs: number;
  /** content-repo.yaml allow_remote: false means never ask another server (no routing loops). */
  readonly allowRemote: boolean;
  /** Asked through an authenticated endpoint (or over federation): frozen media may be served. */
  readonly authenticated: boolean;
  readonly signal?: AbortSignal;
}

export interface ThumbnailRequest extends ThumbnailSize {
  readonly animated: boolean;
}

/**
 * Where other servers' media come from: the seam for fetching over federation
 * (server-server-api#content-repository), a later step. Undefined: not known there.
 */
export interface RemoteMedia {
  download(serverName: string, mediaId: string, options: DownloadOptions): Promise<MediaContent | undefined>;
  thumbnail(serverName: string, mediaId: string, request: ThumbnailRequest, options: DownloadOptions): Promise<Thumbnail | undefined>;
}

/** No remote media at all: every other server's media ID is unknown (404 M_NOT_FOUND). */
export const NO_REMOTE_MEDIA: RemoteMedia = {
  download: () => Promise.resolve(undefined),
  thumbnail: () => Promise.resolve(undefined),
};

/** content-repo.yaml create: the recommended default expiration of an unused media ID, 24 hours. */
export const UNUSED_EXPIRY_MS = 24 * 60 * 60 * 1000;
/** content-repo.yaml create: a limit on the pending media uploads of a user (Synapse's `max_pending_media_uploads`). */
export const MAX_PENDING_UPLOADS = 5;
/** authed-content-repo.yaml timeout_ms: the default, and the maximum this server imposes (SHOULD). */
export const DEFAULT_TIMEOUT_MS = 20_000;
export const MAX_TIMEOUT_MS = 60_000;

export interface MediaServiceOptions {
  readonly serverName: string;
  readonly storePath: string;
  readonly maxUploadSize: number;
  /** Synapse's `enable_authenticated_media`: new media are frozen out of the unauthenticated endpoints. */
  readonly enableAuthenticatedMedia: boolean;
  readonly store: MediaStore;
  readonly thumbnailer: Thumbnailer;
  readonly log: Logger;
  /** media_retention.local_media_lifetime: accesses are written when the stored one is older than a fraction of it. */
  readonly localMediaLifetimeMs?: number;
  readonly now?: () => number;
  /** Media a server admin quarantined (media-quarantine.ts): served as unknown; none when absent. */
  readonly quarantine?: { isQuarantined(serverName: string, mediaId: string): boolean };
}

function notFound(): MatrixError {
  return new MatrixError("M_NOT_FOUND", "Media not found", 404);
}

/** A fresh media ID: 24 characters of URL-safe base64 (client-server-api#matrix-content-mxc-uris alphabet). */
function newMediaId(): string {
  return randomBytes(18).toString("base64url");
}

export class MediaService implements RetainedMedia {
  readonly #options: MediaServiceOptions;
  readonly #now: () => number;
  readonly #accesses: MediaAccesses<string>;
  #remote: RemoteMedia = NO_REMOTE_MEDIA;
  /** Downloads waiting for a created media ID to be uploaded, by media ID. */
  readonly #waiters = new Map<string, Set<() => void>>();
  /** Media IDs whose PUT upload is being written: a second one at once is refused. */
  readonly #uploading = new Set<string>();

  constructor(options: MediaServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#accesses = new MediaAccesses((mediaIds, ts) => options.store.markAccessed(mediaIds, ts), {
      resolutionMs: accessResolutionMs(options.localMediaLifetimeMs),
      log: options.log,
      now: this.#now,
    });
  }

  /** Other servers' media come from here from now on (the federation fetcher, later). */
  useRemote(remote: RemoteMedia): void {
    this.#remote = remote;
  }

  /** authed-content-repo.yaml /media/config. */
  config(): { "m.upload.size": number } {
    return { "m.upload.size": this.#options.maxUploadSize };
  }

  #checkSize(bytes: Buffer): void {
    // content-repo-security-considerations: files too large are refused with 413 M_TOO_LARGE.
    if (bytes.length > this.#options.maxUploadSize) {
      throw new MatrixError("M_TOO_LARGE", `Cannot upload files larger than ${this.#options.maxUploadSize} bytes`, 413);
    }
  }

  /** POST /_matrix/media/v3/upload: stores the bytes, then records them; answers the mxc:// URI. */
  async upload(userId: string, bytes: Buffer, contentTypeHeader: string | string[] | undefined, fileName: string | undefined): Promise<string> {
    this.#checkSize(bytes);
    const mediaId = newMediaId();
    const path = localMediaPath(this.#options.storePath, mediaId);
    // The file is written and synced before the row says the media exists.
    await writeFileDurably(this.#options.storePath, path, bytes);
    // Should this fail, the file stays: a failed commit may still have landed, and a file no row
    // names is only space, where a row without its file would be lost media.
    await this.#options.store.insertUploaded(mediaId, userId, this.#now(), {
      contentType: uploadContentType(contentTypeHeader),
      uploadName: fileName,
      size: bytes.length,
      authenticated: this.#options.enableAuthenticatedMedia,
    });
    return `mxc://${this.#options.serverName}/${mediaId}`;
  }

  /** POST /_matrix/media/v1/create: a media ID to upload to later, with when it expires unused. */
  async create(userId: string): Promise<{ content_uri: string; unused_expires_at: number }> {
    const mediaId = newMediaId();
    const now = this.#now();
    const expires = now + UNUSED_EXPIRY_MS;
    const recorded = await this.#options.store.insertPending(mediaId, userId, now, expires, MAX_PENDING_UPLOADS);
    // content-repo.yaml create: too many pending media uploads is 429 M_LIMIT_EXCEEDED.
    if (!recorded) throw new MatrixError("M_LIMIT_EXCEEDED", "Too many pending media uploads", 429, { retry_after_ms: 60_000 });
    return { content_uri: `mxc://${this.#options.serverName}/${mediaId}`, unused_expires_at: expires };
  }

  /** PUT /_matrix/media/v3/upload/{serverName}/{mediaId}: the bytes of a created media ID. */
  async uploadTo(
    userId: string,
    serverName: string,
    mediaId: string,
    bytes: Buffer,
    contentTypeHeader: string | string[] | undefined,
    fileName: string | undefined,
  ): Promise<void> {
    // content-repo.yaml PUT upload 404: an MXC ID not created with /create (ours only).
    if (serverName !== this.#options.serverName || !isValidMediaId(mediaId)) throw notFound();
    const row = await this.#options.store.get(mediaId);
    if (row === undefined) throw notFound();
    // content-repo.yaml PUT upload 403: another user than the one that called /create.
    if (row.userId !== userId) throw new MatrixError("M_FORBIDDEN", "This media ID was created by another user", 403);
    // content-repo.yaml PUT upload 409: the media ID already has content.
    if (row.uploadTs !== undefined || this.#uploading.has(mediaId)) {
      throw new MatrixError("M_CANNOT_OVERWRITE_MEDIA", "Media already uploaded", 409);
    }
    // content-repo.yaml PUT upload 404: the MXC ID has expired.
    if (row.unusedExpiresTs !== undefined && row.unusedExpiresTs <= this.#now()) throw notFound();
    this.#checkSize(bytes);
    this.#uploading.add(mediaId);
    try {
      const path = localMediaPath(this.#options.storePath, mediaId);
      await writeFileDurably(this.#options.storePath, path, bytes);
      const done = await this.#options.store.completePending(mediaId, this.#now(), {
        contentType: uploadContentType(contentTypeHeader),
        uploadName: fileName,
        size: bytes.length,
        authenticated: this.#options.enableAuthenticatedMedia,
      });
      if (!done) {
        // It expired while the bytes were written: not accepted, the file goes (as in upload(), a
        // failed commit leaves it, since the row may have landed).
        await rm(path, { force: true }).catch(() => undefined);
        throw notFound();
      }
    } finally {
      this.#uploading.delete(mediaId);
    }
    const waiters = this.#waiters.get(mediaId);
    this.#waiters.delete(mediaId);
    for (const wake of waiters ?? []) wake();
  }

  /** The content of a media ID, ours or another server's. */
  async download(serverName: string, mediaId: string, options: DownloadOptions): Promise<MediaContent> {
    // content-repo-security-considerations: server names and media IDs are checked before any use.
    if (!isValidMediaId(mediaId) || parseServerName(serverName) === undefined) throw notFound();
    if (this.#options.quarantine?.isQuarantined(serverName, mediaId) === true) throw notFound();
    if (serverName !== this.#options.serverName) {
      // content-repo.yaml allow_remote=false: never fetch media deemed remote.
      if (!options.allowRemote) throw notFound();
      const remote = await this.#remote.download(serverName, mediaId, options);
      if (remote === undefined) throw notFound();
      return remote;
    }
    const row = await this.#uploaded(mediaId, options);
    const file = await openMediaFile(localMediaPath(this.#options.storePath, mediaId));
    if (file === undefined) {
      // Purged (media_retention) since its row was read: unknown now, as any other.
      if ((await this.#options.store.get(mediaId)) !== undefined) this.#options.log.error({ mediaId }, "the file of uploaded media is missing");
      throw notFound();
    }
    this.#accesses.mark(mediaId, mediaId, row.lastAccessTs ?? 0);
    return { ...file, contentType: row.contentType ?? "application/octet-stream", uploadName: row.uploadName };
  }

  /** A thumbnail of a media ID, ours or another server's (client-server-api#thumbnails). */
  async thumbnail(serverName: string, mediaId: string, request: ThumbnailRequest, options: DownloadOptions): Promise<Thumbnail> {
    if (!isValidMediaId(mediaId) || parseServerName(serverName) === undefined) throw notFound();
    if (this.#options.quarantine?.isQuarantined(serverName, mediaId) === true) throw notFound();
    if (serverName !== this.#options.serverName) {
      if (!options.allowRemote) throw notFound();
      const remote = await this.#remote.thumbnail(serverName, mediaId, request, options);
      if (remote === undefined) throw notFound();
      return remote;
    }
    const row = await this.#uploaded(mediaId, options);
    const contentType = row.contentType ?? "application/octet-stream";
    // authed-content-repo.yaml thumbnail 400: content the server cannot thumbnail.
    if (!canThumbnail(contentType)) throw new MatrixError("M_UNKNOWN", "Cannot generate thumbnails for the requested content", 400);
    const { thumbnailer, storePath } = this.#options;
    const bytes = await readFile(localMediaPath(storePath, mediaId)).catch(() => {
      throw notFound();
    });
    this.#accesses.mark(mediaId, mediaId, row.lastAccessTs ?? 0);
    const info = await thumbnailer.info(bytes);
    const choice = chooseThumbnailSize(request, info);
    if (choice.kind === "original") {
      // client-server-api#thumbnails: content smaller than asked is returned as it is (when its type may be).
      if (servableAsThumbnail(contentType, info, request.animated)) return { bytes, contentType: mediaTypeEssence(contentType) };
      return thumbnailer.convert(bytes, contentType, info, request.animated);
    }
    if (!choice.standard) return thumbnailer.make(bytes, contentType, info, choice.size, request.animated);
    // Standard sizes are made once and kept beside the media (derived data: losing one costs a remake).
    const animated = request.animated && info.animated;
    const cachedType = animated ? "image/webp" : /jpe?g$/.test(mediaTypeEssence(contentType)) ? "image/jpeg" : "image/png";
    const cachePath = localThumbnailPath(storePath, mediaId, choice.size, `${cachedType}${animated ? "-animated" : ""}`);
    const cached = await readFile(cachePath).catch(() => undefined);
    if (cached !== undefined) return { bytes: cached, contentType: cachedType };
    const made = await thumbnailer.make(bytes, contentType, info, choice.size, request.animated);
    await writeFileDurably(storePath, cachePath, made.bytes).catch((error: unknown) =>
      this.#options.log.warn({ err: error, mediaId }, "keeping a thumbnail failed"),
    );
    return made;
  }

  /** media_retention: writes the downloads and thumbnails remembered so far as the media's last accesses. */
  flushAccesses(): Promise<void> {
    return this.#accesses.flush();
  }

  /**
   * media_retention local_media_lifetime: purges up to `limit` uploaded media not accessed since
   * `beforeTs`, never one pending upload (/create, then PUT) nor a user's avatar (MediaStore). The
   * row goes first, so a download from then on answers 404 M_NOT_FOUND (unknown media), while one
   * that opened the file keeps reading it; then the file and its cached thumbnails. A thumbnail
   * being made right then may still be written after: a few kilobytes no row names.
   */
  async purgeNotAccessedSince(beforeTs: number, limit: number): Promise<{ examined: number; purged: string[] }> {
    const { store, serverName } = this.#options;
    const candidates = await store.notAccessedSince(serverName, beforeTs, limit);
    const deleted = await store.deleteNotAccessedSince(serverName, candidates, beforeTs);
    await this.#removeFiles(deleted);
    return { examined: candidates.length, purged: deleted.map((mediaId) => `${serverName}/${mediaId}`) };
  }

  /** A page of the media a local user created (Synapse's admin API), and how many they have. */
  mediaOf(userId: string, query: UserMediaQuery): Promise<{ media: LocalMediaRow[]; total: number }> {
    return this.#options.store.byUser(userId, query);
  }

  /**
   * Deletes local media on an admin's request, as a purge does (purgeNotAccessedSince): the rows
   * first, then the files and cached thumbnails. Returns the media there were.
   */
  async deleteLocal(mediaIds: readonly string[]): Promise<string[]> {
    const deleted = await this.#options.store.delete(mediaIds);
    await this.#removeFiles(deleted);
    return deleted;
  }

  /** The files and cached thumbnails of media whose rows are gone. */
  async #removeFiles(mediaIds: readonly string[]): Promise<void> {
    const { storePath, log } = this.#options;
    for (const mediaId of mediaIds) {
      await removeMediaFiles(localMediaPath(storePath, mediaId), log);
      await removeMediaFiles(localThumbnailDir(storePath, mediaId), log);
    }
  }

  /**
   * The row of a local media ID once uploaded: 404 M_NOT_FOUND when unknown (or frozen, asked
   * unauthenticated); a created one not yet uploaded is waited for up to the timeout, then
   * 504 M_NOT_YET_UPLOADED (authed-content-repo.yaml notYetUploaded).
   */
  async #uploaded(mediaId: string, options: DownloadOptions) {
    let row = await this.#options.store.get(mediaId);
    if (row !== undefined && row.uploadTs === undefined) {
      const deadline = this.#now() + Math.min(Math.max(options.timeoutMs, 0), MAX_TIMEOUT_MS);
      while (row !== undefined && row.uploadTs === undefined) {
        if (row.unusedExpiresTs !== undefined && row.unusedExpiresTs <= this.#now()) throw notFound();
        const left = deadline - this.#now();
        if (left <= 0 || options.signal?.aborted === true) {
          throw new MatrixError("M_NOT_YET_UPLOADED", "Content has not yet been uploaded", 504);
        }
        // Woken by the upload, and looking again at least every second (an upload may land
        // between the read above and the wait starting).
        await this.#waitForUpload(mediaId, Math.min(left, 1000), options.signal);
        row = await this.#options.store.get(mediaId);
      }
    }
    if (row === undefined) throw notFound();
    // client-server-api#content-repo-client-behaviour: media uploaded during the freeze are served
    // by the authenticated endpoints only; the deprecated ones MAY answer 404 M_NOT_FOUND.
    if (row.authenticated && !options.authenticated) throw notFound();
    return row;
  }

  #waitForUpload(mediaId: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(mediaId);
      if (waiters === undefined) this.#waiters.set(mediaId, (waiters = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        const set = this.#waiters.get(mediaId);
        set?.delete(done);
        if (set?.size === 0) this.#waiters.delete(mediaId);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      waiters.add(done);
    });
  }
}
