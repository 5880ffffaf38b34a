// POST /_matrix/push/v1/notify to a push gateway (push-gateway-api, push_notifier.yaml), over the
// same undici transport as federation (HTTPS, or HTTP when the pusher's URL says so), never to an
// address ip_range_blacklist blocks (checked on the address connected to), as Synapse guards its
// pushers' requests.
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import { TransportError, type HttpsTransport } from "../federation/transport.ts";

/** How long one request may take, connection to last byte. */
const REQUEST_TIMEOUT_MS = 20_000;
/** A gateway's answer is a list of pushkeys: anything much larger is not one. */
const MAX_RESPONSE_BYTES = 256 * 1024;

/** The gateway gave no usable answer: the notification is tried again later. */
export class GatewayError extends Error {
  override name = "GatewayError";
}

export interface GatewayAnswer {
  /** push_notifier.yaml: "A list of all pushkeys given in the notification request that are not valid." */
  readonly rejected: readonly string[];
}

export interface PushGateway {
  notify(url: string, body: JsonObject): Promise<GatewayAnswer>;
}

export class PushGatewayClient implements PushGateway {
  readonly #transport: HttpsTransport;

  constructor(transport: HttpsTransport) {
    this.#transport = transport;
  }

  async notify(url: string, body: JsonObject): Promise<GatewayAnswer> {
    const parsed = new URL(url);
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new GatewayError(`not an http(s) URL: ${url}`);
    const scheme = parsed.protocol === "http:" ? "http" : "https";
    // URL keeps the brackets of an IPv6 literal; the transport takes the bare address.
    const host = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
    let response;
    try {
      response = await this.#transport.request({
        target: { host, port: parsed.port !== "" ? Number(parsed.port) : scheme === "http" ? 80 : 443 },
        scheme,
        hostHeader: parsed.host,
        method: "POST",
        path: `${parsed.pathname}${parsed.search}`,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        timeoutMs: REQUEST_TIMEOUT_MS,
        maxResponseBytes: MAX_RESPONSE_BYTES,
      });
    } catch (err) {
      if (err instanceof TransportError) throw new GatewayError(err.message, { cause: err });
      throw err;
    }
    // push-gateway-api#homeserver-behaviour: "If the endpoint returns an HTTP error code, the homeserver SHOULD retry".
    if (response.status < 200 || response.status >= 300) throw new GatewayError(`${parsed.host} answered ${response.status}`);
    return { rejected: rejectedOf(response.body) };
  }
}

/** The `rejected` pushkeys of a gateway's answer; an answer without a list rejects none. */
function rejectedOf(body: Buffer): string[] {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    return [];
  }
  const rejected = isJsonObject(json) ? json["rejected"] : undefined;
  return Array.isArray(rejected) ? rejected.filter((k): k is string => typeof k === "string") : [];
}
