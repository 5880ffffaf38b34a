// GET /media/preview_url (authed-content-repo.yaml): the OpenGraph data of a URL, with its image
// stored in our media repository and named by an mxc:// URI. Pages are fetched only through a
// transport that refuses `url_preview_ip_range_blacklist`, and previews are kept in memory.
import type { Logger } from "pino";
import type { UrlPreviewConfig } from "../../../config/types.ts";
import { MatrixError } from "../../../core/errors.ts";
import { systemResolver, type DnsResolver } from "../../federation/dns.ts";
import { IpRangePolicy } from "../../federation/ip-ranges.ts";
import { HttpsTransport } from "../../federation/transport.ts";
import { mediaTypeEssence } from "../media-rules.ts";
import type { MediaService } from "../media-service.ts";
import { canThumbnail, type Thumbnailer } from "../thumbnailer.ts";
import { decodeHtml } from "./charset.ts";
import { PreviewFetcher, urlBlocked } from "./fetcher.ts";
import { parseHtmlToOpenGraph, pruneOverlong, type OpenGraph } from "./open-graph.ts";
import { PreviewCache } from "./preview-cache.ts";
import { UrlBlocklist } from "./url-blocklist.ts";

/** Synapse keeps a preview an hour. */
export const PREVIEW_TTL_MS = 60 * 60 * 1000;
/** A failure is kept less long: the page may be back soon. */
export const FAILURE_TTL_MS = 5 * 60 * 1000;
export const MAX_CACHED_PREVIEWS = 1000;

export interface UrlPreviewerOptions {
  readonly config: UrlPreviewConfig;
  readonly media: MediaService;
  readonly thumbnailer: Thumbnailer;
  readonly log: Logger;
  readonly resolver?: DnsResolver;
  /** Per-hop deadline, for tests. */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

function isImage(contentType: string): boolean {
  return contentType.toLowerCase().startsWith("image/");
}

function isHtml(contentType: string): boolean {
  const type = contentType.toLowerCase();
  return type.startsWith("text/html") || type.startsWith("application/xhtml");
}

interface StoredImage {
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly fileName: string | undefined;
}

export class UrlPreviewer {
  readonly #options: UrlPreviewerOptions;
  readonly #transport: HttpsTransport;
  readonly #urlBlocklist: UrlBlocklist;
  readonly #fetcher: PreviewFetcher;
  readonly #cache: PreviewCache<OpenGraph>;

  constructor(options: UrlPreviewerOptions) {
    this.#options = options;
    const { config } = options;
    this.#transport = new HttpsTransport({
      resolver: options.resolver ?? systemResolver,
      ipRanges: new IpRangePolicy(config.ipRangeBlocklist, config.ipRangeAllowlist),
      verifyCertificates: true,
    });
    this.#urlBlocklist = new UrlBlocklist(config.urlBlocklist);
    this.#fetcher = new PreviewFetcher({
      transport: this.#transport,
      urlBlocklist: this.#urlBlocklist,
      maxBytes: config.maxSpiderSize,
      acceptLanguage: config.acceptLanguage,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    this.#cache = new PreviewCache({ ttlMs: PREVIEW_TTL_MS, failureTtlMs: FAILURE_TTL_MS, maxEntries: MAX_CACHED_PREVIEWS, ...(options.now === undefined ? {} : { now: options.now }) });
  }

  /**
   * The preview of `rawUrl` for `userId` (whose upload the image becomes, as in Synapse). The `ts`
   * of the request is not used: authed-content-repo.yaml lets the server answer a newer version.
   */
  async preview(rawUrl: string, userId: string): Promise<OpenGraph> {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      throw new MatrixError("M_INVALID_PARAM", "url is not a valid URL", 400);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new MatrixError("M_INVALID_PARAM", "url must be an http or https URL", 400);
    // As Synapse: the URL blocklist is checked before the cache, so a new entry applies at once.
    if (this.#urlBlocklist.isBlocked(url)) throw urlBlocked();
    // Copied, so that a caller changing its answer does not change what is cached.
    return { ...(await this.#cache.get(rawUrl, () => this.#compute(url, userId))) };
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  async #compute(url: URL, userId: string): Promise<OpenGraph> {
    const resource = await this.#fetcher.fetch(url);
    const contentType = resource.contentType ?? "application/octet-stream";
    let og: OpenGraph = {};
    if (isImage(contentType)) {
      // As Synapse: an image's preview is the image, described by its file name when it has one.
      if (resource.fileName !== undefined) og["og:description"] = resource.fileName;
      Object.assign(og, await this.#storeImage({ bytes: resource.body, contentType, fileName: resource.fileName }, userId));
    } else if (isHtml(contentType)) {
      const html = decodeHtml(resource.body, resource.contentType);
      if (html !== undefined) og = parseHtmlToOpenGraph(html);
      await this.#replaceImage(og, resource.url, userId);
    }
    return pruneOverlong(og);
  }

  /** The page's og:image downloaded and stored, and named by its mxc:// URI; dropped when it cannot be. */
  async #replaceImage(og: OpenGraph, page: URL, userId: string): Promise<void> {
    const raw = og["og:image"];
    delete og["og:image"];
    if (typeof raw !== "string" || raw.trim() === "") return;
    let image: StoredImage;
    try {
      // The image URL may be relative to the page (after its redirects), or inline data.
      const url = new URL(raw.trim(), page);
      if (url.protocol === "data:") {
        image = await dataUrlImage(url, this.#options.config.maxSpiderSize);
      } else {
        const fetched = await this.#fetcher.fetch(url);
        image = { bytes: fetched.body, contentType: fetched.contentType ?? "application/octet-stream", fileName: fetched.fileName };
      }
    } catch (err) {
      // The rest of the preview is still worth answering.
      this.#options.log.debug({ err, image: raw }, "url preview: the page's image could not be fetched");
      return;
    }
    if (!isImage(image.contentType)) return;
    Object.assign(og, await this.#storeImage(image, userId));
  }

  async #storeImage(image: StoredImage, userId: string): Promise<OpenGraph> {
    let mxc: string;
    try {
      mxc = await this.#options.media.upload(userId, image.bytes, image.contentType, image.fileName);
    } catch (err) {
      this.#options.log.warn({ err }, "url preview: storing the image failed");
      return {};
    }
    const og: OpenGraph = { "og:image": mxc, "og:image:type": mediaTypeEssence(image.contentType), "matrix:image:size": image.bytes.length };
    // The dimensions of the image itself, over what a page said of it (as Synapse).
    if (canThumbnail(image.contentType)) {
      try {
        const info = await this.#options.thumbnailer.info(image.bytes);
        og["og:image:width"] = info.width;
        og["og:image:height"] = info.height;
      } catch {
        // not readable as an image: no dimensions
      }
    }
    return og;
  }
}

/** An inline `data:` image (Synapse allows them for a page's image, never as the URL previewed). */
async function dataUrlImage(url: URL, maxBytes: number): Promise<StoredImage> {
  // fetch decodes data: URLs itself, without any connection.
  const response = await fetch(url);
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes.length > maxBytes) throw new Error("inline image too large");
  return { bytes, contentType: response.headers.get("content-type") ?? "application/octet-stream", fileName: undefined };
}
