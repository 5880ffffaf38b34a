// Other servers asking for this server's media (server-server-api#content-repository):
// GET /_matrix/federation/v1/media/download/{mediaId} and /thumbnail/{mediaId}, X-Matrix signed,
// answered as multipart/mixed: a JSON part (an empty object: no metadata yet), then the bytes.
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { HttpReply, type AnyEndpoint, type Endpoint, type MatrixRequest } from "../../../http/endpoint.ts";
import { contentDisposition, dispositionFileName } from "../../media/media-rules.ts";
import { DEFAULT_TIMEOUT_MS, type DownloadOptions, type MediaService } from "../../media/media-service.ts";
import { queryParam } from "../client/requester.ts";
import { MatrixError } from "../../../core/errors.ts";
import { MEDIA_HEADERS, thumbnailRequestOf } from "./media.ts";

/**
 * The two parts of a federation media answer around the media's bytes (RFC 2046 multipart/mixed):
 * what goes before them (the boundary, the JSON part, the second part's headers) and after.
 */
export function multipartFrame(boundary: string, metadata: unknown, headers: Readonly<Record<string, string>>): { head: Buffer; tail: Buffer } {
  const partHeaders = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  const head = `--${boundary}\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(metadata)}\r\n--${boundary}\r\n${partHeaders}\r\n`;
  return { head: Buffer.from(head, "utf8"), tail: Buffer.from(`\r\n--${boundary}--\r\n`, "utf8") };
}

function multipartReply(body: Buffer | Readable, size: number, headers: Readonly<Record<string, string>>): HttpReply {
  const boundary = randomBytes(16).toString("hex");
  // server-server content_repository.yaml: the JSON part is currently always an empty object.
  const { head, tail } = multipartFrame(boundary, {}, headers);
  const stream = Buffer.isBuffer(body) ? Readable.from([head, body, tail]) : Readable.from(concat(head, body, tail));
  return HttpReply.raw(200, stream, `multipart/mixed; boundary=${boundary}`, {
    ...MEDIA_HEADERS,
    "content-length": String(head.length + size + tail.length),
  });
}

async function* concat(head: Buffer, body: Readable, tail: Buffer): AsyncGenerator<Buffer> {
  yield head;
  for await (const chunk of body) yield chunk as Buffer;
  yield tail;
}

function federationOptions(req: MatrixRequest): DownloadOptions {
  const raw = queryParam(req, "timeout_ms");
  if (raw !== undefined && !/^\d{1,15}$/.test(raw)) throw new MatrixError("M_INVALID_PARAM", "timeout_ms must be a non-negative integer", 400);
  // Only this server's own media are served to others: never asked on of a third server.
  return { timeoutMs: raw === undefined ? DEFAULT_TIMEOUT_MS : Number(raw), allowRemote: false, authenticated: true, signal: req.signal };
}

export function federationMediaEndpoints({ media, serverName }: { media: MediaService; serverName: string }): AnyEndpoint[] {
  const download: Endpoint = {
    name: "federation.media_download",
    method: "GET",
    paths: ["/_matrix/federation/v1/media/download/:mediaId"],
    resource: "federation",
    auth: "federation",
    handler: async (req) => {
      const { mediaId } = req.params as { mediaId: string };
      const content = await media.download(serverName, mediaId, federationOptions(req));
      return multipartReply(content.stream, content.size, {
        "Content-Type": content.contentType,
        "Content-Disposition": contentDisposition(content.contentType, content.uploadName),
      });
    },
  };
  const thumbnail: Endpoint = {
    name: "federation.media_thumbnail",
    method: "GET",
    paths: ["/_matrix/federation/v1/media/thumbnail/:mediaId"],
    resource: "federation",
    auth: "federation",
    handler: async (req) => {
      const { mediaId } = req.params as { mediaId: string };
      const request = thumbnailRequestOf(req);
      const thumb = await media.thumbnail(serverName, mediaId, request, federationOptions(req));
      const extension = thumb.contentType.split("/")[1] ?? "png";
      return multipartReply(thumb.bytes, thumb.bytes.length, {
        "Content-Type": thumb.contentType,
        "Content-Disposition": `inline; ${dispositionFileName(`thumbnail.${extension}`)}`,
      });
    },
  };
  return [download, thumbnail];
}
