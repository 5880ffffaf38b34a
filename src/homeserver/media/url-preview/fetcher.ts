// Fetching a page or image for a preview. Every hop goes through the transport, which connects
// only to addresses `url_preview_ip_range_blacklist` allows, checked on the address connected to;
// redirects are followed here, by hand, so each new URL is checked again, and at most a few.
import { MatrixError } from "../../../core/errors.ts";
import type { HttpsTransport, TransportResponse } from "../../federation/transport.ts";
import { TransportError } from "../../federation/transport.ts";
import { dispositionFileName } from "../remote-media.ts";
import type { UrlBlocklist } from "./url-blocklist.ts";

/** Hops after the first before giving up. */
export const MAX_REDIRECTS = 5;
/** One hop, connection to last byte. */
export const FETCH_TIMEOUT_MS = 20_000;
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = "Weft (bot; URL preview)";

export interface FetchedResource {
  /** Where the answer came from, after redirects: relative links resolve against it. */
  readonly url: URL;
  readonly contentType: string | undefined;
  /** The Content-Disposition's file name, when there is one. */
  readonly fileName: string | undefined;
  readonly body: Buffer;
}

export interface PreviewFetcherOptions {
  readonly transport: HttpsTransport;
  readonly urlBlocklist: UrlBlocklist;
  readonly maxBytes: number;
  readonly acceptLanguage: readonly string[];
  readonly timeoutMs?: number;
}

/** What Synapse answers when a URL may not be previewed. */
export function urlBlocked(): MatrixError {
  return new MatrixError("M_UNKNOWN", "URL blocked by url pattern blocklist entry", 403);
}

function badGateway(message: string, errcode: "M_UNKNOWN" | "M_TOO_LARGE" = "M_UNKNOWN"): MatrixError {
  return new MatrixError(errcode, message, 502);
}

function header(response: TransportResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The types a preview reads (as Synapse): images, and HTML or XHTML pages. */
export function isPreviewable(contentType: string): boolean {
  const type = contentType.toLowerCase().trim();
  return type.startsWith("image/") || type.startsWith("text/html") || type.startsWith("application/xhtml");
}

export class PreviewFetcher {
  constructor(private readonly options: PreviewFetcherOptions) {}

  /** GET the URL, following redirects; a MatrixError for anything but a previewable 2xx answer. */
  async fetch(start: URL): Promise<FetchedResource> {
    let url = start;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new MatrixError("M_UNKNOWN", "URL scheme must be http or https", 502);
      if (this.options.urlBlocklist.isBlocked(url)) throw urlBlocked();
      const response = await this.#get(url);
      const location = header(response, "location");
      if (REDIRECT_STATUSES.has(response.status) && location !== undefined) {
        try {
          url = new URL(location, url);
        } catch {
          throw badGateway(`Invalid redirect location from ${url.origin}`);
        }
        continue;
      }
      // As Synapse: an error answer, or a type not previewed, is 502 (the page, not the request, is bad).
      if (response.status < 200 || response.status > 299) throw badGateway(`Got error ${response.status}`);
      const contentType = header(response, "content-type");
      if (contentType !== undefined && !isPreviewable(contentType)) {
        throw badGateway(`Requested file's content type not allowed for this operation: ${contentType}`);
      }
      return { url, contentType, fileName: dispositionFileName(header(response, "content-disposition")), body: response.body };
    }
    throw badGateway("Too many redirects");
  }

  async #get(url: URL): Promise<TransportResponse> {
    const https = url.protocol === "https:";
    // WHATWG URL keeps IPv6 hosts in brackets; the transport takes the bare address.
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    try {
      return await this.options.transport.request({
        target: { host, port: url.port === "" ? (https ? 443 : 80) : Number(url.port) },
        hostHeader: url.host,
        method: "GET",
        path: `${url.pathname}${url.search}`,
        headers: {
          "accept-language": this.options.acceptLanguage.join(", "),
          "user-agent": USER_AGENT,
          accept: "text/html,application/xhtml+xml,image/*;q=0.9,*/*;q=0.1",
        },
        timeoutMs: this.options.timeoutMs ?? FETCH_TIMEOUT_MS,
        maxResponseBytes: this.options.maxBytes,
        scheme: https ? "https" : "http",
      });
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      switch (err.reason) {
        // Synapse answers a blocked address as a failed lookup, and says no more.
        case "blocked":
          throw badGateway("DNS resolution failure during URL preview generation");
        case "too-large":
          throw badGateway(`Requested file is too large > ${this.options.maxBytes} bytes`, "M_TOO_LARGE");
        case "timeout":
          throw badGateway("Timed out downloading content");
        default:
          if ((err.cause as NodeJS.ErrnoException | undefined)?.code === "ENOTFOUND") throw badGateway("DNS resolution failure during URL preview generation");
          throw badGateway("Failed to download content");
      }
    }
  }
}
