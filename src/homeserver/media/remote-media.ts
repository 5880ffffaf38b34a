// Other servers' media, fetched over federation (server-server-api#content-repository): the
// authenticated GET /_matrix/federation/v1/media/download/{mediaId} of the media's server, X-Matrix
// signed, answered as multipart/mixed (a JSON part, then the bytes or a Location to follow); the
// deprecated /_matrix/media/v3/download when that server does not know the endpoint. What is
// fetched is kept: a file under the media store, then a row (remote_media), so a second download
// does not ask again; downloads of the same media at once share one fetch. Thumbnails are made
// here from the cached original. Media not accessed within media_retention's
// remote_media_lifetime are purged (media-retention.ts), and fetched again when asked later.
import { readFile } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import type { Logger } from "pino";
import { MatrixError } from "../../core/errors.ts";
import type { TransportResponse } from "../federation/transport.ts";
import { FederationRequestError, type FederationClient } from "../federation/client.ts";
import type { RemoteMediaKey, RemoteMediaRow, RemoteMediaStore } from "../../storage/stores/remote-media.ts";
import { openMediaFile, removeMediaFiles, writeFileDurably } from "./media-files.ts";
import { accessResolutionMs, MediaAccesses, type RetainedMedia } from "./media-retention.ts";
import { chooseThumbnailSize, isValidMediaId, mediaTypeEssence, uploadContentType } from "./media-rules.ts";
import { MAX_TIMEOUT_MS, type DownloadOptions, type MediaContent, type RemoteMedia, type ThumbnailRequest } from "./media-service.ts";
import { canThumbnail, servableAsThumbnail, type Thumbnail, type Thumbnailer } from "./thumbnailer.ts";

/**
 * The file of a remote media ID under the store's root: `remote_content/<server>/ab/cd/efgh...`.
 * The server name is percent-encoded outside `A-Za-z0-9.-` (its `:`, `[` and `]`), and `.`/`..`
 * refused; the path resolved must stay inside the root (content-repo-security-considerations:
 * server names and media IDs are sanitised before use in paths).
 */
export function remoteMediaPath(root: string, serverName: string, mediaId: string): string {
  if (!isValidMediaId(mediaId) || mediaId.length < 5) throw new Error(`invalid media ID: ${JSON.stringify(mediaId)}`);
  const folder = serverName.replace(/[^A-Za-z0-9.-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
  if (folder === "" || /^\.+$/.test(folder) || folder.length > 255) throw new Error(`invalid server name: ${JSON.stringify(serverName)}`);
  const base = resolve(root);
  const remoteBase = join(base, "remote_content");
  const path = resolve(join(remoteBase, folder, mediaId.slice(0, 2), mediaId.slice(2, 4), mediaId.slice(4)));
  if (!path.startsWith(join(remoteBase, folder) + sep)) throw new Error(`media path escapes the store: ${JSON.stringify([serverName, mediaId])}`);
  return path;
}

/** What the second part of a federation media answer holds: the media, or where to get it. */
export type MediaPart =
  | { readonly kind: "bytes"; readonly contentType: string | undefined; readonly disposition: string | undefined; readonly body: Buffer }
  | { readonly kind: "location"; readonly location: string };

/** A remote's answer that does not follow the endpoint's format. */
export class MalformedMediaResponse extends Error {
  override name = "MalformedMediaResponse";
}

const MAX_PART_HEADERS = 16 * 1024;

function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new MalformedMediaResponse("a part header without a name");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/**
 * The two parts of a federation media answer (server-server content_repository.yaml 200: a
 * `boundary` per RFC 2046 delineating exactly two parts, the first `application/json`, the second
 * the media's bytes with their headers or a `Location`). Throws MalformedMediaResponse otherwise.
 */
export function parseMultipartMedia(contentType: string | undefined, body: Buffer): MediaPart {
  if (contentType === undefined || mediaTypeEssence(contentType) !== "multipart/mixed") throw new MalformedMediaResponse("not multipart/mixed");
  // RFC 2046 5.1.1: the boundary is 1 to 70 characters, maybe quoted.
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))\s*(?:;|$)/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (boundary === undefined) throw new MalformedMediaResponse("no boundary");
  const delimiter = Buffer.from(`--${boundary}`, "latin1");
  const crlfDelimiter = Buffer.from(`\r\n--${boundary}`, "latin1");
  // RFC 2046: a preamble may come before the first delimiter, which then follows a CRLF.
  let at: number;
  if (body.subarray(0, delimiter.length).equals(delimiter)) at = 0;
  else {
    const found = body.indexOf(crlfDelimiter);
    if (found < 0) throw new MalformedMediaResponse("no delimiter");
    at = found + 2;
  }
  const parts: { headers: Record<string, string>; body: Buffer }[] = [];
  for (;;) {
    at += delimiter.length;
    if (body[at] === 0x2d && body[at + 1] === 0x2d) break; // "--": the close delimiter
    while (body[at] === 0x20 || body[at] === 0x09) at++; // transport padding
    if (body[at] !== 0x0d || body[at + 1] !== 0x0a) throw new MalformedMediaResponse("a delimiter line without its CRLF");
    at += 2;
    let headers: Record<string, string>;
    let start: number;
    if (body[at] === 0x0d && body[at + 1] === 0x0a) {
      headers = {}; // no header fields
      start = at + 2;
    } else {
      const end = body.indexOf("\r\n\r\n", at);
      if (end < 0 || end - at > MAX_PART_HEADERS) throw new MalformedMediaResponse("part headers without their end");
      headers = parseHeaders(body.subarray(at, end).toString("latin1"));
      start = end + 4;
    }
    const next = body.indexOf(crlfDelimiter, start);
    if (next < 0) throw new MalformedMediaResponse("a part without the delimiter after it");
    parts.push({ headers, body: body.subarray(start, next) });
    if (parts.length > 2) throw new MalformedMediaResponse("more than two parts");
    at = next + 2;
  }
  // content_repository.yaml: exactly two parts.
  if (parts.length !== 2) throw new MalformedMediaResponse(`${parts.length} parts`);
  const [metadata, media] = parts as [(typeof parts)[0], (typeof parts)[0]];
  // content_repository.yaml: the first part is application/json, the media's metadata (a JSON object).
  if (mediaTypeEssence(metadata.headers["content-type"] ?? "") !== "application/json") throw new MalformedMediaResponse("the first part is not JSON");
  let json: unknown;
  try {
    json = JSON.parse(metadata.body.toString("utf8"));
  } catch {
    throw new MalformedMediaResponse("the first part is not JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new MalformedMediaResponse("the first part is not a JSON object");
  // content_repository.yaml: the second part is the bytes, or a Location header to redirect to.
  const location = media.headers["location"];
  if (location !== undefined && location !== "") return { kind: "location", location };
  return { kind: "bytes", contentType: media.headers["content-type"], disposition: media.headers["content-disposition"], body: media.body };
}

/** The file name of a Content-Disposition (RFC 6266): `filename*` (RFC 8187 UTF-8) first, else `filename`. */
export function dispositionFileName(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const extended = /;\s*filename\*\s*=\s*utf-8'[^']*'([^;\s]+)/i.exec(header);
  if (extended?.[1] !== undefined) {
    try {
      return sanitizeName(decodeURIComponent(extended[1]));
    } catch {
      // a bad encoding: try the plain parameter
    }
  }
  const quoted = /;\s*filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(header);
  if (quoted?.[1] !== undefined) return sanitizeName(quoted[1].replace(/\\(.)/g, "$1"));
  const token = /;\s*filename\s*=\s*([^;\s"]+)/i.exec(header);
  return token?.[1] === undefined ? undefined : sanitizeName(token[1]);
}

/** A remote's file name kept only when it is a plain name: no controls, not too long. */
function sanitizeName(name: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (name === "" || name.length > 255 || /[\x00-\x1f\x7f]/.test(name)) return undefined;
  return name;
}

function header(response: TransportResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function errcodeOf(response: TransportResponse): string | undefined {
  try {
    const json = JSON.parse(response.body.toString("utf8")) as unknown;
    if (typeof json === "object" && json !== null && typeof (json as { errcode?: unknown }).errcode === "string") return (json as { errcode: string }).errcode;
  } catch {
    // not JSON
  }
  return undefined;
}

function notFound(): MatrixError {
  return new MatrixError("M_NOT_FOUND", "Media not found", 404);
}

/** content-repo-security-considerations: remote files too large are not proxied, 502 M_TOO_LARGE. */
function tooLarge(): MatrixError {
  return new MatrixError("M_TOO_LARGE", "The remote content is too large", 502);
}

/** The remote gave no usable answer (unreachable, too slow, garbage): 502, as a gateway would. */
function badGateway(): MatrixError {
  return new MatrixError("M_UNKNOWN", "Failed to fetch remote media", 502);
}

/** What a fetch brings back before it is kept. */
interface Fetched {
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly uploadName: string | undefined;
}

export interface FederationRemoteMediaOptions {
  readonly client: Pick<FederationClient, "requestRaw" | "fetchUrl">;
  readonly store: RemoteMediaStore;
  readonly storePath: string;
  /** The config's max_upload_size: remote media larger are not accepted. */
  readonly maxUploadSize: number;
  readonly thumbnailer: Thumbnailer;
  readonly log: Logger;
  /** Time for the transfer itself, on top of the remote's wait for media not yet uploaded. */
  readonly transferTimeoutMs?: number;
  /** media_retention.remote_media_lifetime: accesses are written when the stored one is older than a fraction of it. */
  readonly remoteMediaLifetimeMs?: number;
  readonly now?: () => number;
}

/** Room for the multipart framing and JSON part around the media's bytes. */
const FRAMING_BYTES = 64 * 1024;
const DEFAULT_TRANSFER_TIMEOUT_MS = 30_000;

/** The key of a remote media ID in the maps below (server names hold no `/`). */
function keyOf(serverName: string, mediaId: string): string {
  return `${serverName}/${mediaId}`;
}

export class FederationRemoteMedia implements RemoteMedia, RetainedMedia {
  readonly #options: FederationRemoteMediaOptions;
  readonly #now: () => number;
  /** Fetches under way, by keyOf: a second download of the same media joins the first. */
  readonly #inflight = new Map<string, Promise<RemoteMediaRow | undefined>>();
  /** Media being purged, by keyOf: a fetch of one waits for its purge, whose file removal would otherwise take the new file. */
  readonly #purging = new Map<string, Promise<void>>();
  readonly #accesses: MediaAccesses<RemoteMediaKey>;

  constructor(options: FederationRemoteMediaOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#accesses = new MediaAccesses((keys, ts) => options.store.markAccessed(keys, ts), {
      resolutionMs: accessResolutionMs(options.remoteMediaLifetimeMs),
      log: options.log,
      now: this.#now,
    });
  }

  async download(serverName: string, mediaId: string, options: DownloadOptions): Promise<MediaContent | undefined> {
    const cached = await this.#withCachedFile(serverName, mediaId, options, (path) => openMediaFile(path));
    if (cached === undefined) return undefined;
    return { ...cached.file, contentType: cached.row.contentType, uploadName: cached.row.uploadName };
  }

  /** A thumbnail made here from the cached original (client-server-api#thumbnails rules as for local media). */
  async thumbnail(serverName: string, mediaId: string, request: ThumbnailRequest, options: DownloadOptions): Promise<Thumbnail | undefined> {
    const cached = await this.#withCachedFile(serverName, mediaId, options, (path, row) => {
      // authed-content-repo.yaml thumbnail 400: content the server cannot thumbnail.
      if (!canThumbnail(row.contentType)) throw new MatrixError("M_UNKNOWN", "Cannot generate thumbnails for the requested content", 400);
      return readFile(path).catch(() => undefined);
    });
    if (cached === undefined) return undefined;
    const { row, file: bytes } = cached;
    const { thumbnailer } = this.#options;
    const info = await thumbnailer.info(bytes).catch((error: unknown) => {
      // authed-content-repo.yaml thumbnail 502: remote content too large to thumbnail is M_TOO_LARGE.
      if (error instanceof MatrixError && error.errcode === "M_TOO_LARGE") throw new MatrixError("M_TOO_LARGE", "Content is too large to thumbnail", 502);
      throw error;
    });
    const choice = chooseThumbnailSize(request, info);
    if (choice.kind === "original") {
      // client-server-api#thumbnails: content smaller than asked is returned as it is (when its type may be).
      if (servableAsThumbnail(row.contentType, info, request.animated)) return { bytes, contentType: mediaTypeEssence(row.contentType) };
      return thumbnailer.convert(bytes, row.contentType, info, request.animated);
    }
    return thumbnailer.make(bytes, row.contentType, info, choice.size, request.animated);
  }

  /**
   * The cached row of a remote media ID, fetched when not cached, and what `read` makes of its file
   * (undefined: no file). A file gone since its row was read (purged by media_retention, whose
   * purge deletes the row first; or lost) is fetched again, once. Each success is an access.
   */
  async #withCachedFile<T>(
    serverName: string,
    mediaId: string,
    options: DownloadOptions,
    read: (path: string, row: RemoteMediaRow) => Promise<T | undefined>,
  ): Promise<{ row: RemoteMediaRow; file: T } | undefined> {
    const { store, storePath, log } = this.#options;
    const path = remoteMediaPath(storePath, serverName, mediaId);
    let row = await store.get(serverName, mediaId);
    for (let attempt = 0; ; attempt++) {
      // The first time, the row read above may be gone stale by now: a fetch that ended meanwhile stored it.
      row ??= await this.#fetchOnce(serverName, mediaId, options, attempt === 0);
      if (row === undefined) return undefined;
      const file = await read(path, row);
      if (file !== undefined) {
        this.#accesses.mark(keyOf(serverName, mediaId), { serverName, mediaId }, row.lastAccessTs);
        return { row, file };
      }
      if (attempt > 0) throw notFound();
      // A row still there without its file is a lost file (a purge takes the row first).
      if ((await store.get(serverName, mediaId)) !== undefined) log.warn({ serverName, mediaId }, "the file of cached remote media is missing: fetching it again");
      row = undefined;
    }
  }

  /**
   * Fetches a remote media ID and keeps it, once for all who ask at once, after any purge of it under
   * way. With `cachedFirst`, a row stored since the caller looked (by a fetch that ended meanwhile) is
   * taken instead of fetching again.
   */
  #fetchOnce(serverName: string, mediaId: string, options: DownloadOptions, cachedFirst: boolean): Promise<RemoteMediaRow | undefined> {
    const key = keyOf(serverName, mediaId);
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      const purge = this.#purging.get(key);
      pending = (async () => {
        await purge;
        const cached = cachedFirst ? await this.#options.store.get(serverName, mediaId) : undefined;
        return cached ?? (await this.#fetchAndKeep(serverName, mediaId, options));
      })().finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  /** media_retention: writes the downloads and thumbnails remembered so far as the media's last accesses. */
  flushAccesses(): Promise<void> {
    return this.#accesses.flush();
  }

  /**
   * media_retention remote_media_lifetime: purges up to `limit` cached media not accessed since
   * `beforeTs`, leaving those being fetched right now. The row goes first, so a download from
   * then on fetches the media again from its server (after the purge of its file: see #purging),
   * while one that opened the file keeps reading it (POSIX unlink).
   */
  async purgeNotAccessedSince(beforeTs: number, limit: number): Promise<{ examined: number; purged: string[] }> {
    const { store, storePath, log } = this.#options;
    const candidates = await store.notAccessedSince(beforeTs, limit);
    const keys = candidates.filter((k) => !this.#inflight.has(keyOf(k.serverName, k.mediaId)));
    const release = new Map<string, () => void>();
    for (const k of keys) {
      const key = keyOf(k.serverName, k.mediaId);
      this.#purging.set(key, new Promise<void>((resolve) => release.set(key, resolve)));
    }
    const done = (key: string): void => {
      this.#purging.delete(key);
      release.get(key)?.();
      release.delete(key);
    };
    try {
      const deleted = await store.deleteNotAccessedSince(keys, beforeTs);
      const gone = new Set(deleted.map((k) => keyOf(k.serverName, k.mediaId)));
      for (const key of [...release.keys()]) if (!gone.has(key)) done(key);
      for (const k of deleted) {
        await removeMediaFiles(remoteMediaPath(storePath, k.serverName, k.mediaId), log);
        done(keyOf(k.serverName, k.mediaId));
      }
      return { examined: candidates.length, purged: deleted.map((k) => `${k.serverName}/${k.mediaId}`) };
    } finally {
      for (const key of [...release.keys()]) done(key);
    }
  }

  async #fetchAndKeep(serverName: string, mediaId: string, options: DownloadOptions): Promise<RemoteMediaRow | undefined> {
    const fetched = await this.#fetch(serverName, mediaId, options);
    if (fetched === undefined) return undefined;
    const { storePath, store } = this.#options;
    // The file is written and synced before the row says the media is cached.
    await writeFileDurably(storePath, remoteMediaPath(storePath, serverName, mediaId), fetched.bytes);
    const now = this.#now();
    const row: RemoteMediaRow = {
      serverName,
      mediaId,
      contentType: fetched.contentType,
      uploadName: fetched.uploadName,
      size: fetched.bytes.length,
      fetchedTs: now,
      lastAccessTs: now, // fetched for a download: accessed now
    };
    await store.put(row);
    return row;
  }

  /** Asks the media's server: undefined when it does not have it. */
  async #fetch(serverName: string, mediaId: string, options: DownloadOptions): Promise<Fetched | undefined> {
    const { client, maxUploadSize, log } = this.#options;
    // authed-content-repo.yaml timeout_ms: the client's wait for media not yet uploaded, passed on
    // (bounded by this server's maximum), plus time for the transfer itself.
    const waitMs = Math.min(Math.max(options.timeoutMs, 0), MAX_TIMEOUT_MS);
    const timeoutMs = waitMs + (this.#options.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS);
    const maxResponseBytes = maxUploadSize + FRAMING_BYTES;
    const request = async (path: string, query: Record<string, string | number>, accept: string): Promise<TransportResponse> => {
      try {
        return await client.requestRaw("GET", serverName, path, undefined, { query, timeoutMs, maxResponseBytes, accept });
      } catch (error) {
        log.info({ err: error, serverName, mediaId }, "fetching remote media failed");
        if (error instanceof FederationRequestError && error.reason === "too-large") throw tooLarge();
        throw badGateway();
      }
    };
    // server-server-api#content-repository: the media are asked of the server of their mxc:// URI (MUST),
    // with the authenticated endpoint first (MUST).
    const response = await request(`/_matrix/federation/v1/media/download/${encodeURIComponent(mediaId)}`, { timeout_ms: waitMs }, "multipart/mixed, application/json");
    if (response.status === 200) {
      let part: MediaPart;
      try {
        part = parseMultipartMedia(header(response, "content-type"), response.body);
      } catch (error) {
        log.info({ err: error, serverName, mediaId }, "remote media answer is not well-formed multipart");
        throw badGateway();
      }
      if (part.kind === "bytes") return this.#accept(part.body, part.contentType, part.disposition);
      return await this.#follow(part.location, serverName, mediaId, timeoutMs);
    }
    const errcode = errcodeOf(response);
    // server-server-api#content-repository: on 404 M_UNRECOGNIZED, fall back to the deprecated
    // /_matrix/media/v3/download, with allow_remote=false (MUST).
    if (response.status === 404 && errcode === "M_UNRECOGNIZED") {
      const legacy = await request(
        `/_matrix/media/v3/download/${encodeURIComponent(serverName)}/${encodeURIComponent(mediaId)}`,
        { allow_remote: "false", timeout_ms: waitMs },
        "*/*",
      );
      if (legacy.status === 200) return this.#accept(legacy.body, header(legacy, "content-type"), header(legacy, "content-disposition"));
      return this.#failure(legacy.status, errcodeOf(legacy));
    }
    return this.#failure(response.status, errcode);
  }

  /** A remote's error answer: not found, not yet uploaded, or anything else (502). */
  #failure(status: number, errcode: string | undefined): undefined {
    // authed-content-repo.yaml download 404: the media is not found (there either).
    if (status === 404) return undefined;
    // authed-content-repo.yaml 504 M_NOT_YET_UPLOADED: passed on from the media's server.
    if (status === 504 && errcode === "M_NOT_YET_UPLOADED") throw new MatrixError("M_NOT_YET_UPLOADED", "Content has not yet been uploaded", 504);
    // content-repo-security-considerations: the remote refused as too large: not proxied, 502 M_TOO_LARGE.
    if (errcode === "M_TOO_LARGE") throw tooLarge();
    throw badGateway();
  }

  /** content_repository.yaml Location: the media is where it points; the URL is not kept (SHOULD NOT cache). */
  async #follow(location: string, serverName: string, mediaId: string, timeoutMs: number): Promise<Fetched> {
    const { client, maxUploadSize, log } = this.#options;
    let url = location;
    for (let hops = 0; hops < 4; hops++) {
      let response: TransportResponse;
      try {
        response = await client.fetchUrl(url, { timeoutMs, maxResponseBytes: maxUploadSize });
      } catch (error) {
        log.info({ err: error, serverName, mediaId, url }, "fetching remote media's Location failed");
        if (error instanceof FederationRequestError && error.reason === "too-large") throw tooLarge();
        throw badGateway();
      }
      if (response.status === 200) return this.#accept(response.body, header(response, "content-type"), header(response, "content-disposition"));
      const next = header(response, "location");
      if (![301, 302, 303, 307, 308].includes(response.status) || next === undefined) throw badGateway();
      try {
        url = new URL(next, url).toString();
      } catch {
        throw badGateway();
      }
    }
    throw badGateway();
  }

  #accept(bytes: Buffer, contentType: string | undefined, disposition: string | undefined): Fetched {
    // content-repo-security-considerations: remote files larger than this server accepts are not proxied.
    if (bytes.length > this.#options.maxUploadSize) throw tooLarge();
    // authed-content-repo.yaml Content-Type: as uploaded, application/octet-stream when obviously wrong.
    return { bytes: Buffer.from(bytes), contentType: uploadContentType(contentType), uploadName: dispositionFileName(disposition) };
  }
}
