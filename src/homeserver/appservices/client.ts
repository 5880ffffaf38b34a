// Requests to an application service (application-service-api#homeserver---application-service-api):
// `Authorization: Bearer <hs_token>` on each (#authorisation, v1.4), JSON bodies, a time limit.
import type { JsonObject } from "../../core/json.ts";
import type { Appservice } from "./appservice.ts";

/** What came back: the status and the body's text, or how the connection failed. */
export type AppserviceResponse =
  | { readonly ok: true; readonly status: number; readonly body: string }
  | { readonly ok: false; readonly status: number; readonly body: string }
  | { readonly ok: false; readonly status: undefined; readonly failure: "timeout" | "connection" };

export interface AppserviceClientOptions {
  /** How long one request may take. Default 60 s, as Synapse waits for a transaction. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

export class AppserviceClient {
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: AppserviceClientOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#fetch = options.fetch ?? fetch;
  }

  /**
   * One request to the service's `/_matrix/app/v1` API. `path` is already percent-encoded. A service
   * without a URL gets no traffic; callers check `url` first.
   */
  async request(
    appservice: Appservice,
    method: "GET" | "PUT" | "POST",
    path: string,
    options: { body?: JsonObject; query?: Readonly<Record<string, string>>; timeoutMs?: number } = {},
  ): Promise<AppserviceResponse> {
    const base = appservice.registration.url;
    if (base === null) return { ok: false, status: undefined, failure: "connection" };
    const url = new URL(`${base}/_matrix/app/v1${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value);
    const headers: Record<string, string> = { authorization: `Bearer ${appservice.registration.hsToken}` };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    try {
      const response = await this.#fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(options.timeoutMs ?? this.#timeoutMs),
        redirect: "error",
      });
      const body = await response.text();
      return { ok: response.ok, status: response.status, body };
    } catch (error) {
      const name = (error as { name?: string }).name;
      return { ok: false, status: undefined, failure: name === "TimeoutError" || name === "AbortError" ? "timeout" : "connection" };
    }
  }
}

/** The body of a successful response as a JSON value, or undefined when it is not JSON. */
export function jsonBody(response: AppserviceResponse): unknown {
  if (!response.ok) return undefined;
  try {
    return JSON.parse(response.body) as unknown;
  } catch {
    return undefined;
  }
}
