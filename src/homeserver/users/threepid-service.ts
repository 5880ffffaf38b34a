// A user's third-party identifiers (client-server-api#adding-account-administrative-contact-information;
// administrative_contact.yaml): the 3PIDs of the account (added after the homeserver validated them,
// threepid-validation.ts) and their bindings at identity servers, made through the homeserver
// (/3pid/bind) and undone by it, with requests it signs (/3pid/unbind, /3pid/delete, deactivation).
import { MatrixError } from "../../core/errors.ts";
import { canonicalEmail, isThreepidMedium, type ThreepidMedium } from "../../core/identifiers/threepid.ts";
import type { JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { StoredThreepid, ThreepidBinding, ThreepidStore } from "../../storage/stores/threepids.ts";
import { askIdentityServer, IdentityServerError, type IdentityServerClient } from "../identity-servers/identity-server-client.ts";
import type { ThreepidRules } from "./threepid-rules.ts";
import type { ThreepidValidation } from "./threepid-validation.ts";
import type { UserInteractiveAuth } from "./uia.ts";

/** account_deactivation.yaml and administrative_contact.yaml `id_server_unbind_result`. */
export type UnbindResult = "success" | "no-support";

/** What the identity servers are asked (identity-servers/identity-server-client.ts); tests pass stand-ins. */
export type IdentityServers = Pick<IdentityServerClient, "bind" | "unbind">;

export interface ThreepidServiceOptions {
  readonly store: ThreepidStore;
  readonly validation: ThreepidValidation;
  readonly rules: ThreepidRules;
  readonly identityServers: IdentityServers | undefined;
  readonly uia: UserInteractiveAuth;
  /** `enable_3pid_changes`. */
  readonly changesEnabled: boolean;
  readonly now?: () => number;
}

export interface BindRequest {
  readonly client_secret: string;
  readonly id_server: string;
  readonly id_access_token: string;
  readonly sid: string;
}

/** The canonical form of an address (appendices#3pid-types): email addresses case-folded. */
export function canonicalAddress(medium: ThreepidMedium, address: string): string {
  return medium === "email" ? canonicalEmail(address) : address.trim();
}

export class ThreepidService {
  readonly #options: ThreepidServiceOptions;
  readonly #store: ThreepidStore;
  readonly #now: () => number;

  constructor(options: ThreepidServiceOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
  }

  get changesEnabled(): boolean {
    return this.#options.changesEnabled;
  }

  /** GET /account/3pid. */
  async list(userId: string): Promise<JsonObject[]> {
    return (await this.#store.threepidsOf(userId)).map((t) => ({ medium: t.medium, address: t.address, validated_at: t.validatedAt, added_at: t.addedAt }));
  }

  /** The local user a 3PID belongs to (login by 3PID, password reset), if any. */
  async userIdFor(medium: ThreepidMedium, address: string): Promise<string | undefined> {
    return this.#store.userOf(medium, canonicalAddress(medium, address));
  }

  /**
   * POST /account/3pid/add, behind UIA: the address of a session this homeserver validated joins the
   * account ("Homeservers should prevent the caller from adding a 3PID to their account if it has
   * already been added to another user's account").
   */
  async add(requester: Requester, body: JsonObject & { sid: string; client_secret: string }): Promise<void> {
    this.#checkChangesEnabled();
    await this.#options.uia.authenticate({ endpoint: "POST /account/3pid/add", userId: requester.userId, body, flows: await this.#options.uia.reauthenticationFlows(requester.userId) });
    const validated = await this.#options.validation.validated(body.sid, body.client_secret);
    if (validated === undefined) throw new MatrixError("M_THREEPID_AUTH_FAILED", "No validated session with this sid and client_secret", 400);
    await this.addValidated(requester.userId, validated.medium, validated.address, validated.validatedAt);
    await this.#options.validation.consume(validated.sid);
  }

  /** Adds a validated 3PID to an account (add, registration): M_THREEPID_DENIED or M_THREEPID_IN_USE when it may not. */
  async addValidated(userId: string, medium: ThreepidMedium, address: string, validatedAt: number): Promise<void> {
    if (!this.#options.rules.isAllowed(medium, address)) throw new MatrixError("M_THREEPID_DENIED", "Third-party identifier is not allowed on this server", 403);
    const outcome = await this.#store.add({ userId, medium, address, validatedAt, addedAt: this.#now() });
    if (outcome === "taken") throw new MatrixError("M_THREEPID_IN_USE", "This third-party identifier is already in use", 400);
  }

  /** Throws what registration would answer for an address: denied, or in use. */
  async checkAvailable(medium: ThreepidMedium, address: string): Promise<void> {
    if (!this.#options.rules.isAllowed(medium, address)) throw new MatrixError("M_THREEPID_DENIED", "Third-party identifier is not allowed on this server", 403);
    if ((await this.#store.userOf(medium, address)) !== undefined) throw new MatrixError("M_THREEPID_IN_USE", "This third-party identifier is already in use", 400);
  }

  /**
   * POST /account/3pid/delete: the 3PID leaves the account, after being unbound from the identity
   * server named, else from those it was bound to through us.
   */
  async delete(requester: Requester, medium: ThreepidMedium, address: string, idServer: string | undefined): Promise<UnbindResult> {
    this.#checkChangesEnabled();
    const canonical = canonicalAddress(medium, address);
    const result = await this.unbind(requester.userId, medium, canonical, idServer);
    await this.#store.remove(requester.userId, medium, canonical);
    return result;
  }

  /**
   * POST /account/3pid/unbind (and the unbinding of delete): asks each identity server, with a
   * request this homeserver signs. administrative_contact.yaml: "If the homeserver does not know the
   * original id_server, it MUST return a id_server_unbind_result of no-support".
   */
  async unbind(userId: string, medium: ThreepidMedium, address: string, idServer: string | undefined): Promise<UnbindResult> {
    const canonical = canonicalAddress(medium, address);
    const servers =
      idServer !== undefined ? [idServer] : (await this.#store.bindingsOf(userId)).filter((b) => b.medium === medium && b.address === canonical).map((b) => b.idServer);
    if (servers.length === 0) return "no-support";
    let result: UnbindResult = "success";
    for (const server of servers) {
      if ((await this.#unbindAt(userId, { medium, address: canonical, idServer: server })) === "no-support") result = "no-support";
    }
    return result;
  }

  /**
   * Deactivation: every 3PID bound through us is unbound (from `idServer` when the client names one,
   * account_deactivation.yaml, else from where it was bound), then the account's 3PIDs go.
   * "This must be success if the homeserver has no identifiers to unbind".
   */
  async deactivate(userId: string, idServer: string | undefined): Promise<UnbindResult> {
    const bindings = await this.#store.bindingsOf(userId);
    const targets: ThreepidBinding[] =
      idServer === undefined ? bindings : uniqueThreepids([...bindings, ...(await this.#store.threepidsOf(userId))]).map((t) => ({ ...t, idServer }));
    let result: UnbindResult = "success";
    for (const target of targets) {
      if (!isThreepidMedium(target.medium)) continue;
      if ((await this.#unbindAt(userId, target)) === "no-support") result = "no-support";
    }
    await this.#store.removeAll(userId);
    return result;
  }

  /**
   * POST /account/3pid/bind (and the deprecated POST /account/3pid): the identity server binds the
   * 3PID it validated to the user. "Homeservers should simply proxy any errors received by the
   * identity server to the caller", and "should track successful binds so they can be unbound later".
   */
  async bind(requester: Requester, body: BindRequest): Promise<void> {
    const identityServers = this.#identityServers();
    const association = await askIdentityServer(() => identityServers.bind(body.id_server, body.id_access_token, body.sid, body.client_secret, requester.userId));
    const medium = association["medium"];
    const address = association["address"];
    if (!isThreepidMedium(medium) || typeof address !== "string") {
      throw new MatrixError("M_UNKNOWN", `The identity server ${body.id_server} answered the bind without a medium and address`, 502);
    }
    await this.#store.addBinding(requester.userId, { medium, address: canonicalAddress(medium, address), idServer: body.id_server });
  }

  /** Synapse's admin API (PUT /_synapse/admin/v2/users/{userId} `threepids`): the account's 3PIDs become these. */
  async setForAdmin(userId: string, threepids: ReadonlyArray<{ medium: ThreepidMedium; address: string }>): Promise<void> {
    const now = this.#now();
    const wanted: StoredThreepid[] = threepids.map((t) => ({ userId, medium: t.medium, address: canonicalAddress(t.medium, t.address), validatedAt: now, addedAt: now }));
    const taken = await this.#store.replaceAll(userId, wanted);
    if (taken !== undefined) throw new MatrixError("M_THREEPID_IN_USE", `${taken.medium} ${taken.address} is already another account's`, 400);
  }

  /**
   * One unbinding. Synapse's reading, kept here: an identity server answering 400, 404 or 501 does not
   * support unbinding ("no-support", and the record goes); one that cannot be reached or fails
   * otherwise is an error (502), and the record stays so that a retry can unbind it.
   */
  async #unbindAt(userId: string, binding: ThreepidBinding): Promise<UnbindResult> {
    const identityServers = this.#identityServers();
    let result: UnbindResult = "success";
    try {
      await identityServers.unbind(binding.idServer, userId, binding.medium as ThreepidMedium, binding.address);
    } catch (err) {
      if (!(err instanceof IdentityServerError) || err.status === undefined || ![400, 404, 501].includes(err.status)) {
        throw new MatrixError("M_UNKNOWN", `The identity server ${binding.idServer} could not unbind ${binding.address}: ${(err as Error).message}`, 502);
      }
      result = "no-support";
    }
    await this.#store.removeBinding(userId, binding);
    return result;
  }

  #identityServers(): IdentityServers {
    if (this.#options.identityServers === undefined) throw new MatrixError("M_SERVER_NOT_TRUSTED", "This server talks to no identity server", 400);
    return this.#options.identityServers;
  }

  #checkChangesEnabled(): void {
    // Synapse's answer with enable_3pid_changes off: 400 M_FORBIDDEN.
    if (!this.#options.changesEnabled) throw new MatrixError("M_FORBIDDEN", "3PID changes are disabled on this server", 400);
  }
}

function uniqueThreepids(items: ReadonlyArray<{ medium: string; address: string }>): Array<{ medium: string; address: string }> {
  const seen = new Map<string, { medium: string; address: string }>();
  for (const item of items) seen.set(`${item.medium}\u0000${item.address}`, { medium: item.medium, address: item.address });
  return [...seen.values()];
}
