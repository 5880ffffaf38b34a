// The registered application services, and how their requests are recognised
// (application-service-api#client-server-api-extensions, #identity-assertion).
import { MatrixError } from "../../core/errors.ts";
import type { Requester } from "../../http/endpoint.ts";
import { Appservice } from "./appservice.ts";
import type { AppserviceRegistration } from "./registration.ts";

/** The `user_id` and `device_id` query parameters of an application service's request. */
export interface IdentityAssertion {
  readonly userId?: string | undefined;
  readonly deviceId?: string | undefined;
}

/** First of a query parameter's values. */
function first(value: unknown): string | undefined {
  const v = Array.isArray(value) ? (value[0] as unknown) : value;
  return typeof v === "string" ? v : undefined;
}

/** The assertion a request's query makes (v1.17 `device_id`, and MSC3202's earlier name for it). */
export function assertionOf(query: Readonly<Record<string, unknown>> | undefined): IdentityAssertion {
  if (query === undefined) return {};
  return { userId: first(query["user_id"]), deviceId: first(query["device_id"]) ?? first(query["org.matrix.msc3202.device_id"]) };
}

export class AppserviceRegistry {
  readonly all: readonly Appservice[];
  readonly #byToken: ReadonlyMap<string, Appservice>;
  readonly #byId: ReadonlyMap<string, Appservice>;

  constructor(registrations: readonly AppserviceRegistration[], serverName: string) {
    this.all = registrations.map((r) => new Appservice(r, serverName));
    this.#byToken = new Map(this.all.map((a) => [a.registration.asToken, a]));
    this.#byId = new Map(this.all.map((a) => [a.id, a]));
  }

  get isEmpty(): boolean {
    return this.all.length === 0;
  }

  byToken(token: string): Appservice | undefined {
    return this.#byToken.get(token);
  }

  byId(id: string): Appservice | undefined {
    return this.#byId.get(id);
  }

  /** The service whose exclusive namespace claims the user (or whose sender it is), if any. */
  exclusiveOwnerOfUser(userId: string): Appservice | undefined {
    return this.all.find((a) => a.claimsUserExclusively(userId));
  }

  exclusiveOwnerOfAlias(roomAlias: string): Appservice | undefined {
    return this.all.find((a) => a.claimsAliasExclusively(roomAlias));
  }

  /**
   * The requester of an application service's request, or undefined when the token is not an
   * as_token. #identity-assertion: `user_id` must be in one of its user namespaces (M_FORBIDDEN);
   * without it the service acts as its sender. `device_id` must be the user's (400 M_UNKNOWN_DEVICE).
   */
  async authenticate(
    token: string,
    assertion: IdentityAssertion,
    deviceExists: (userId: string, deviceId: string) => Promise<boolean>,
  ): Promise<Requester | undefined> {
    const appservice = this.#byToken.get(token);
    if (appservice === undefined) return undefined;
    const userId = assertion.userId ?? appservice.sender;
    if (!appservice.isInterestedInUser(userId)) {
      throw new MatrixError("M_FORBIDDEN", `Application service cannot masquerade as this user (${userId})`, 403);
    }
    const deviceId = assertion.deviceId;
    if (deviceId !== undefined && !(await deviceExists(userId, deviceId))) {
      throw new MatrixError("M_UNKNOWN_DEVICE", "The device does not belong to the user", 400);
    }
    return {
      userId,
      deviceId,
      isGuest: false,
      accessTokenId: undefined,
      // The registration's rate_limited: "Whether requests from masqueraded users are rate-limited. The sender is excluded."
      appservice: { id: appservice.id, rateLimited: userId !== appservice.sender && appservice.registration.rateLimited },
    };
  }

  /**
   * The user an `m.login.application_service` registration or login names, checked against the
   * service of the token: 401 without a token or with one no service has, M_EXCLUSIVE outside its
   * namespaces (#server-admin-style-permissions).
   */
  userForToken(token: string | undefined, userId: string, status: 400 | 403): Appservice {
    if (token === undefined) throw new MatrixError("M_MISSING_TOKEN", "Missing application service token", 401);
    const appservice = this.#byToken.get(token);
    if (appservice === undefined) throw new MatrixError("M_UNKNOWN_TOKEN", "Unknown application service token", 401, { soft_logout: false });
    if (!appservice.isInterestedInUser(userId)) {
      throw new MatrixError("M_EXCLUSIVE", "The user is outside the application service's namespaces", status);
    }
    return appservice;
  }
}
