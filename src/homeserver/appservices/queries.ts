// Asking the application services (application-service-api#querying, #pinging,
// #third-party-networks): whether an unknown user or alias of their namespaces exists, a ping, and
// the third-party lookups of the protocols they bridge.
import { MatrixError } from "../../core/errors.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../../core/json.ts";
import { thirdPartyInstanceId } from "../rooms/directory-networks.ts";
import type { Appservice } from "./appservice.ts";
import { jsonBody, type AppserviceClient } from "./client.ts";
import type { AppserviceRegistry } from "./registry.ts";

/** How long a query may hold up the client's request. */
const QUERY_TIMEOUT_MS = 10_000;

export class AppserviceQueries {
  readonly #registry: AppserviceRegistry;
  readonly #client: AppserviceClient;

  constructor(registry: AppserviceRegistry, client: AppserviceClient) {
    this.#registry = registry;
    this.#client = client;
  }

  /** query_user.yaml: true when a service of the user's namespaces answered 200 (it made the user). */
  async queryUser(userId: string): Promise<boolean> {
    return await this.#queryFirst(
      this.#registry.all.filter((a) => a.isInterestedInUser(userId) && a.sender !== userId),
      `/users/${encodeURIComponent(userId)}`,
    );
  }

  /** query_room.yaml: true when a service of the alias's namespaces answered 200 (it made the alias). */
  async queryAlias(roomAlias: string): Promise<boolean> {
    return await this.#queryFirst(this.#registry.all.filter((a) => a.isInterestedInAlias(roomAlias)), `/rooms/${encodeURIComponent(roomAlias)}`);
  }

  async #queryFirst(services: readonly Appservice[], path: string): Promise<boolean> {
    for (const appservice of services) {
      if (appservice.registration.url === null) continue;
      const response = await this.#client.request(appservice, "GET", path, { timeoutMs: QUERY_TIMEOUT_MS });
      if (response.ok) return true;
    }
    return false;
  }

  /**
   * appservice_ping.yaml: the service of the as_token pings itself through us. 403 for another
   * service's ID, 400 M_URL_NOT_SET, 502 M_BAD_STATUS / M_CONNECTION_FAILED, 504 M_CONNECTION_TIMEOUT.
   */
  async ping(callerId: string | undefined, appserviceId: string, transactionId: string | undefined): Promise<number> {
    const appservice = this.#registry.byId(appserviceId);
    if (callerId === undefined || appservice === undefined || callerId !== appserviceId) {
      throw new MatrixError("M_FORBIDDEN", "Provided access token is not the appservice's as_token", 403);
    }
    if (appservice.registration.url === null) throw new MatrixError("M_URL_NOT_SET", "Application service doesn't have a URL configured", 400);
    const started = performance.now();
    const response = await this.#client.request(appservice, "POST", "/ping", {
      body: transactionId === undefined ? {} : { transaction_id: transactionId },
      timeoutMs: QUERY_TIMEOUT_MS,
    });
    const durationMs = Math.round(performance.now() - started);
    if (response.ok) return durationMs;
    if (response.status === undefined) {
      if (response.failure === "timeout") throw new MatrixError("M_CONNECTION_TIMEOUT", "Connection to application service timed out", 504);
      throw new MatrixError("M_CONNECTION_FAILED", "Connection to application service failed", 502);
    }
    throw new MatrixError("M_BAD_STATUS", `Ping returned status ${response.status}`, 502, { status: response.status, body: response.body });
  }

  /** Every protocol some service bridges. */
  get protocols(): string[] {
    return [...new Set(this.#registry.all.flatMap((a) => a.registration.protocols))];
  }

  /**
   * protocols.yaml GET /thirdparty/protocol/{protocol} of each service bridging it; their
   * `instances` put together, each with an `instance_id` naming the service and network (as
   * Synapse makes them), for /publicRooms' third_party_instance_id. Undefined when none answers.
   */
  async protocol(protocol: string): Promise<JsonObject | undefined> {
    let merged: JsonObject | undefined;
    for (const appservice of this.#bridging(protocol)) {
      const answer = jsonBody(await this.#client.request(appservice, "GET", `/thirdparty/protocol/${encodeURIComponent(protocol)}`, { timeoutMs: QUERY_TIMEOUT_MS }));
      if (!isJsonObject(answer)) continue;
      const instances = (Array.isArray(answer["instances"]) ? answer["instances"] : []).filter(isJsonObject).map((instance) => {
        const networkId = instance["network_id"];
        return typeof networkId === "string" ? { ...instance, instance_id: thirdPartyInstanceId(appservice.id, networkId) } : instance;
      });
      if (merged === undefined) merged = { ...answer, instances };
      else merged["instances"] = [...(merged["instances"] as JsonValue[]), ...instances];
    }
    return merged;
  }

  /** protocols.yaml lookups: the results of every service asked, put together (a service that fails adds none). */
  async lookup(kind: "user" | "location", protocol: string | undefined, query: Readonly<Record<string, string>>): Promise<JsonValue[]> {
    const services = protocol === undefined ? this.#registry.all.filter((a) => a.registration.protocols.length > 0) : this.#bridging(protocol);
    const path = protocol === undefined ? `/thirdparty/${kind}` : `/thirdparty/${kind}/${encodeURIComponent(protocol)}`;
    const answers = await Promise.all(
      services.map(async (appservice) => jsonBody(await this.#client.request(appservice, "GET", path, { query, timeoutMs: QUERY_TIMEOUT_MS }))),
    );
    return answers.flatMap((a) => (Array.isArray(a) ? a.filter(isJsonObject) : []));
  }

  #bridging(protocol: string): Appservice[] {
    return this.#registry.all.filter((a) => a.registration.url !== null && a.registration.protocols.includes(protocol));
  }
}
