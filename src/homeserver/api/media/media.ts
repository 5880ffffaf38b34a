// The content repository's endpoints (client-server-api#content-repository): thin handlers over
// the MediaService. Paths under /_matrix/media (the deprecated and the upload ones) and
// /_matrix/client/v1/media (the authenticated ones) are all served by the `media` listener resource.
import { MatrixError } from "../../../core/errors.ts";
import { HttpReply, type AnyEndpoint, type Endpoint, type MatrixRequest, type MatrixResponse } from "../../../http/endpoint.ts";
import { contentDisposition, dispositionFileName, type ThumbnailMethod } from "../../media/media-rules.ts";
import { DEFAULT_TIMEOUT_MS, type DownloadOptions, type MediaContent, type MediaService, type ThumbnailRequest } from "../../media/media-service.ts";
import type { Thumbnail } from "../../media/thumbnailer.ts";
import { nonGuestRequesterOf, queryParam, requesterOf } from "../client/requester.ts";

/**
 * client-server-api#content-repository: the policy servers SHOULD send with content, and
 * (added in v1.4) Cross-Origin-Resource-Policy so web clients may use it.
 */
export const MEDIA_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; object-src 'self';",
  "cross-origin-resource-policy": "cross-origin",
};

function booleanParam(req: MatrixRequest, name: string, fallback: boolean): boolean {
  const raw = queryParam(req, name);
  if (raw === undefined) return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new MatrixError("M_INVALID_PARAM", `${name} must be true or false`, 400);
}

/** authed-content-repo.yaml timeout_ms: an integer, 20000 by default. */
function timeoutParam(req: MatrixRequest): number {
  const raw = queryParam(req, "timeout_ms");
  if (raw === undefined) return DEFAULT_TIMEOUT_MS;
  if (!/^\d{1,15}$/.test(raw)) throw new MatrixError("M_INVALID_PARAM", "timeout_ms must be a non-negative integer", 400);
  return Number(raw);
}

/** authed-content-repo.yaml thumbnail width and height: required integers; 400 when they make no sense. */
function dimensionParam(req: MatrixRequest, name: string): number {
  const raw = queryParam(req, name);
  if (raw === undefined) throw new MatrixError("M_MISSING_PARAM", `Missing parameter: ${name}`, 400);
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw new MatrixError("M_INVALID_PARAM", `${name} must be a positive integer`, 400);
  return Number(raw);
}

export function thumbnailRequestOf(req: MatrixRequest): ThumbnailRequest {
  const width = dimensionParam(req, "width");
  const height = dimensionParam(req, "height");
  const method = queryParam(req, "method") ?? "scale";
  // authed-content-repo.yaml thumbnail method: crop or scale.
  if (method !== "crop" && method !== "scale") throw new MatrixError("M_INVALID_PARAM", "method must be crop or scale", 400);
  // authed-content-repo.yaml animated: when not provided, no animated thumbnail.
  return { width, height, method: method as ThumbnailMethod, animated: booleanParam(req, "animated", false) };
}

function downloadOptions(req: MatrixRequest, authenticated: boolean): DownloadOptions {
  return {
    timeoutMs: timeoutParam(req),
    // content-repo.yaml allow_remote: true by default (the authenticated endpoints have no such parameter).
    allowRemote: authenticated ? true : booleanParam(req, "allow_remote", true),
    authenticated,
    signal: req.signal,
  };
}

/** authed-content-repo.yaml download 200: the bytes with Content-Type, Content-Disposition and the media headers. */
export function downloadReply(content: MediaContent, fileName: string | undefined): HttpReply {
  return HttpReply.raw(200, content.stream, content.contentType, {
    ...MEDIA_HEADERS,
    "content-disposition": contentDisposition(content.contentType, fileName ?? content.uploadName),
    "content-length": String(content.size),
  });
}

/** authed-content-repo.yaml thumbnail 200: Content-Disposition MUST be inline, with a file name. */
export function thumbnailReply(thumbnail: Thumbnail): HttpReply {
  const extension = thumbnail.contentType.split("/")[1] ?? "png";
  return HttpReply.raw(200, thumbnail.bytes, thumbnail.contentType, {
    ...MEDIA_HEADERS,
    "content-disposition": `inline; ${dispositionFileName(`thumbnail.${extension}`)}`,
  });
}

function fileNameParam(req: MatrixRequest): string | undefined {
  const name = queryParam(req, "filename");
  return name === undefined || name === "" ? undefined : name;
}

export interface MediaEndpointOptions {
  readonly media: MediaService;
}

export function mediaEndpoints({ media }: MediaEndpointOptions): AnyEndpoint[] {
  const upload: Endpoint = {
    name: "media.upload",
    method: "POST",
    paths: ["/_matrix/media/v3/upload", "/_matrix/media/r0/upload"],
    resource: "media",
    auth: "accessToken",
    body: "raw",
    handler: async (req) => {
      const requester = nonGuestRequesterOf(req);
      const contentUri = await media.upload(requester.userId, req.rawBody ?? Buffer.alloc(0), req.headers["content-type"], fileNameParam(req));
      return { content_uri: contentUri };
    },
  };

  const create: Endpoint = {
    name: "media.create",
    method: "POST",
    paths: ["/_matrix/media/v1/create"],
    resource: "media",
    auth: "accessToken",
    // Synapse's rc_media_create: content URIs reserved for later uploads, each one a row and a slot.
    rateLimit: "rc_media_create",
    // content-repo.yaml create: the request has no body (an empty JSON object at most); it is not read.
    body: "raw",
    handler: async (req) => await media.create(nonGuestRequesterOf(req).userId),
  };

  const uploadTo: Endpoint = {
    name: "media.upload_to",
    method: "PUT",
    paths: ["/_matrix/media/v3/upload/:serverName/:mediaId"],
    resource: "media",
    auth: "accessToken",
    body: "raw",
    handler: async (req) => {
      const requester = nonGuestRequesterOf(req);
      const { serverName, mediaId } = req.params as { serverName: string; mediaId: string };
      await media.uploadTo(requester.userId, serverName, mediaId, req.rawBody ?? Buffer.alloc(0), req.headers["content-type"], fileNameParam(req));
      return {};
    },
  };

  const config = (name: string, paths: string[]): Endpoint => ({
    name,
    method: "GET",
    paths,
    resource: "media",
    auth: "accessToken",
    handler: async (req) => {
      nonGuestRequesterOf(req);
      return media.config();
    },
  });

  // authed-content-repo.yaml: downloads and thumbnails need an access token; guests may use them
  // (modules/guest_access.md, added in v1.12). The deprecated paths of content-repo.yaml need none.
  // `options` is read by each endpoint after its own parameters, so their errors come first.
  const read =
    (serve: (req: MatrixRequest, options: () => DownloadOptions) => Promise<MatrixResponse>) =>
    (name: string, paths: string[], authenticated: boolean): Endpoint => ({
      name,
      method: "GET",
      paths,
      resource: "media",
      auth: authenticated ? "accessToken" : "none",
      handler: async (req) => {
        if (authenticated) requesterOf(req);
        return await serve(req, () => downloadOptions(req, authenticated));
      },
    });

  const download = read(async (req, options) => {
    const { serverName, mediaId, fileName } = req.params as { serverName: string; mediaId: string; fileName?: string };
    const content = await media.download(serverName, mediaId, options());
    // The {fileName} of the path overrides the uploaded one in Content-Disposition.
    return downloadReply(content, fileName === undefined || fileName === "" ? undefined : fileName);
  });

  const thumbnail = read(async (req, options) => {
    const { serverName, mediaId } = req.params as { serverName: string; mediaId: string };
    const request = thumbnailRequestOf(req);
    return thumbnailReply(await media.thumbnail(serverName, mediaId, request, options()));
  });

  return [
    upload,
    create,
    uploadTo,
    config("media.config", ["/_matrix/client/v1/media/config"]),
    // content-repo.yaml (deprecated): the same configuration under /_matrix/media/v3.
    config("media.config_v3", ["/_matrix/media/v3/config", "/_matrix/media/r0/config"]),
    download("media.download", ["/_matrix/client/v1/media/download/:serverName/:mediaId", "/_matrix/client/v1/media/download/:serverName/:mediaId/:fileName"], true),
    // content-repo.yaml (deprecated, unauthenticated): frozen media answer 404 (client-server-api#content-repo-client-behaviour).
    download(
      "media.download_v3",
      [
        "/_matrix/media/v3/download/:serverName/:mediaId",
        "/_matrix/media/v3/download/:serverName/:mediaId/:fileName",
        "/_matrix/media/r0/download/:serverName/:mediaId",
        "/_matrix/media/r0/download/:serverName/:mediaId/:fileName",
      ],
      false,
    ),
    thumbnail("media.thumbnail", ["/_matrix/client/v1/media/thumbnail/:serverName/:mediaId"], true),
    thumbnail("media.thumbnail_v3", ["/_matrix/media/v3/thumbnail/:serverName/:mediaId", "/_matrix/media/r0/thumbnail/:serverName/:mediaId"], false),
  ];
}
