// The content repository's pure rules (client-server-api#content-repository): where a media file
// lives on disk, which Content-Type and Content-Disposition it is served with, and which size a
// thumbnail is made at. No I/O here.
import { join, resolve, sep } from "node:path";

import { isValidMediaId } from "../../core/identifiers/mxc.ts";

export { isValidMediaId };

/**
 * The file of a local media ID under the store's root: `local_content/ab/cd/efgh...`, two levels of
 * two characters so that no folder grows too large. Throws for an ID outside the spec's alphabet
 * (content-repo-security-considerations: sanitise media IDs, never blacklist `.` and `/`), and
 * checks that the path resolved stays inside the root whatever the ID.
 */
export function localMediaPath(root: string, mediaId: string): string {
  if (!isValidMediaId(mediaId) || mediaId.length < 5) throw new Error(`invalid media ID: ${JSON.stringify(mediaId)}`);
  const base = resolve(root);
  const path = resolve(join(base, "local_content", mediaId.slice(0, 2), mediaId.slice(2, 4), mediaId.slice(4)));
  if (!path.startsWith(base + sep)) throw new Error(`media path escapes the store: ${JSON.stringify(mediaId)}`);
  return path;
}

/** The folder of a local media ID's cached thumbnails, laid out as the media's own files. */
export function localThumbnailDir(root: string, mediaId: string): string {
  const file = localMediaPath(root, mediaId);
  const base = resolve(root);
  const rel = file.slice(base.length + sep.length).split(sep).slice(1); // without "local_content"
  return join(base, "local_thumbnails", ...rel);
}

/** The file of a cached thumbnail of a local media ID, by size, method and type. */
export function localThumbnailPath(root: string, mediaId: string, size: ThumbnailSize, contentType: string): string {
  const type = contentType.replace(/[^a-z0-9]/g, "_");
  return join(localThumbnailDir(root, mediaId), `${size.width}x${size.height}-${size.method}-${type}`);
}

/** An RFC 9110 media type: `type/subtype` and parameters, printable ASCII only. */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;[\x20-\x7e]*)?$/;

/**
 * The Content-Type an upload is stored and served with. content-repo.yaml contentType: defaults to
 * `application/octet-stream` when not set; authed-content-repo.yaml downloadContentType: the same
 * as uploaded, or `application/octet-stream` when it is obviously wrong (here: not a media type).
 */
export function uploadContentType(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return "application/octet-stream";
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > 255 || !MEDIA_TYPE.test(trimmed)) return "application/octet-stream";
  return trimmed;
}

/** The type and subtype of a Content-Type, lower-cased, without parameters. */
export function mediaTypeEssence(contentType: string): string {
  return (contentType.split(";", 1)[0] ?? "").trim().toLowerCase();
}

/** client-server-api#serving-inline-content: the only types served with `Content-Disposition: inline`. */
export const INLINE_CONTENT_TYPES: ReadonlySet<string> = new Set([
  "text/css",
  "text/plain",
  "text/csv",
  "application/json",
  "application/ld+json",
  "image/jpeg",
  "image/gif",
  "image/png",
  "image/apng",
  "image/webp",
  "image/avif",
  "video/mp4",
  "video/webm",
  "video/ogg",
  "video/quicktime",
  "audio/mp4",
  "audio/webm",
  "audio/aac",
  "audio/mpeg",
  "audio/ogg",
  "audio/wave",
  "audio/wav",
  "audio/x-wav",
  "audio/x-pn-wav",
  "audio/flac",
  "audio/x-flac",
]);

/**
 * The Content-Disposition of a download: `inline` for the safe types of
 * client-server-api#serving-inline-content, `attachment` otherwise (authed-content-repo.yaml
 * Content-Disposition: MUST be one of them, SHOULD contain a file name).
 */
export function contentDisposition(contentType: string, fileName: string | undefined): string {
  const kind = INLINE_CONTENT_TYPES.has(mediaTypeEssence(contentType)) ? "inline" : "attachment";
  return fileName === undefined || fileName === "" ? kind : `${kind}; ${dispositionFileName(fileName)}`;
}

/**
 * The file name parameter (RFC 6266): a quoted `filename` when it is plain printable ASCII,
 * otherwise `filename*` in UTF-8 percent-encoding (RFC 8187), which can carry any name and never
 * a quote or a line break.
 */
export function dispositionFileName(fileName: string): string {
  if (/^[\x20-\x7e]*$/.test(fileName) && !/["\\%]/.test(fileName)) return `filename="${fileName}"`;
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `filename*=utf-8''${encoded}`;
}

export type ThumbnailMethod = "crop" | "scale";

export interface ThumbnailSize {
  readonly width: number;
  readonly height: number;
  readonly method: ThumbnailMethod;
}

/** client-server-api#thumbnails: the sizes and methods servers SHOULD produce. */
export const STANDARD_THUMBNAIL_SIZES: readonly ThumbnailSize[] = [
  { width: 32, height: 32, method: "crop" },
  { width: 96, height: 96, method: "crop" },
  { width: 320, height: 240, method: "scale" },
  { width: 640, height: 480, method: "scale" },
  { width: 800, height: 600, method: "scale" },
];

/** What a thumbnail request is answered with: the original image, or a thumbnail of a size. */
export type ThumbnailChoice =
  | { readonly kind: "original" }
  | { readonly kind: "thumbnail"; readonly size: ThumbnailSize; readonly standard: boolean };

/**
 * The size a thumbnail is made at (client-server-api#thumbnails). The dimensions asked are the
 * minimum the client wants: the smallest standard size of the method that is at least as large is
 * taken (it is made once and kept), or the size asked when none is. Content no larger than the
 * size asked is answered as it is, never upscaled (servers MUST NOT upscale, and should return the
 * original content when it is smaller than the dimensions asked).
 */
export function chooseThumbnailSize(
  requested: ThumbnailSize,
  original: { readonly width: number; readonly height: number },
): ThumbnailChoice {
  if (original.width <= requested.width && original.height <= requested.height) return { kind: "original" };
  const standard = STANDARD_THUMBNAIL_SIZES.find(
    (s) => s.method === requested.method && s.width >= requested.width && s.height >= requested.height,
  );
  const size = standard ?? requested;
  // A standard size no smaller than the original in both dimensions would be the original again.
  if (original.width <= size.width && original.height <= size.height) return { kind: "original" };
  return { kind: "thumbnail", size, standard: standard !== undefined };
}
