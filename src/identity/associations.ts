// identity-service-api#establishing-associations "General" (v2_associations.yaml): publishing an
// association of a validated session's 3PID with a Matrix user (signed by the service), and taking
// it back; and #association-lookup (v2_lookup.yaml): /hash_details and /lookup.
import type { SigningKey } from "../core/crypto/ed25519.ts";
import { signJson } from "../core/crypto/signing.ts";
import { MatrixError } from "../core/errors.ts";
import { parseUserId } from "../core/identifiers/index.ts";
import { serverNameOf } from "../core/identifiers/server-name-of.ts";
import type { JsonObject } from "../core/json.ts";
import type { FederationAuthenticator } from "../homeserver/federation/request-auth.ts";
import { type AnyIdentityEndpoint, checkClientSecret, type IdentityEndpoint, type IdentityRequest, invalidParam, missingParams } from "./http.ts";
import { lookupHash } from "../core/identifiers/threepid.ts";
import { LOOKUP_ALGORITHMS, isLookupAlgorithm, splitPlainLookup } from "./hashing.ts";
import type { OnbindDelivery } from "./invites.ts";
import type { IdentityStore } from "./store.ts";
import { parseEmailAddress, type ThreepidMedium } from "../core/identifiers/threepid.ts";
import type { Validation } from "./validation.ts";

/**
 * How long a published association is said to hold (`not_after`): the service does not expire
 * associations, they last until unbound; a hundred years says so in a timestamp.
 */
const ASSOCIATION_VALIDITY_MS = 100 * 365 * 24 * 60 * 60 * 1000;

export interface AssociationDeps {
  readonly store: IdentityStore;
  readonly validation: Validation;
  readonly serverName: string;
  readonly signingKey: SigningKey;
  readonly pepper: string;
  readonly authenticator: Pick<FederationAuthenticator, "authenticate">;
  readonly onbind: OnbindDelivery;
  readonly now: () => number;
}

function checkUserId(mxid: string): void {
  if (parseUserId(mxid) === undefined || serverNameOf(mxid) === undefined) throw invalidParam("mxid is not a Matrix user ID");
}

/** The address in its canonical form (appendices#3pid-types), as sessions and associations hold it. */
function canonicalAddress(medium: string, address: string): { medium: ThreepidMedium; address: string } {
  if (medium === "email") return { medium, address: parseEmailAddress(address) ?? address };
  // An MSISDN is E.164 digits without the '+' (appendices#3pid-types); "+44..." as people write it is taken too.
  if (medium === "msisdn") return { medium, address: address.replace(/^\+/, "") };
  throw invalidParam(`Unknown medium ${JSON.stringify(medium)}: email or msisdn`);
}

interface BindBody {
  sid: string;
  client_secret: string;
  mxid: string;
}

interface UnbindBody {
  sid?: string;
  client_secret?: string;
  mxid: string;
  threepid: { medium: string; address: string };
}

interface LookupBody {
  algorithm: string;
  pepper: string;
  addresses: string[];
}

/** The path and query of the request as the X-Matrix signature covers them. */
function requestUri(request: IdentityRequest<unknown>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(request.query)) {
    if (Array.isArray(value)) for (const item of value) params.append(name, item);
    else if (value !== undefined) params.append(name, value);
  }
  const query = params.toString();
  return query === "" ? request.path : `${request.path}?${query}`;
}

export function associationEndpoints(deps: AssociationDeps): AnyIdentityEndpoint[] {
  const bind: IdentityEndpoint<BindBody> = {
    name: "3pid.bind",
    method: "POST",
    path: "/3pid/bind",
    auth: "required",
    schema: {
      type: "object",
      properties: { sid: { type: "string" }, client_secret: { type: "string" }, mxid: { type: "string" } },
      required: ["sid", "client_secret", "mxid"],
    },
    handler: async (request) => {
      const { sid, client_secret: clientSecret, mxid } = request.body;
      checkClientSecret(clientSecret);
      checkUserId(mxid);
      // The token's user binds to their own ID only: a validated address is not a licence to
      // publish it as someone else's.
      if (request.userId !== mxid) throw new MatrixError("M_FORBIDDEN", "This access token may only bind 3PIDs to its own user ID", 403);
      const session = await deps.validation.validatedSession(sid, clientSecret);
      const now = deps.now();
      const association = { address: session.address, medium: session.medium, mxid, not_before: now, not_after: now + ASSOCIATION_VALIDITY_MS, ts: now };
      await deps.store.bind(association, lookupHash(session.address, session.medium, deps.pepper), (invites) => deps.onbind.notification(mxid, session.medium, session.address, invites));
      deps.onbind.kick();
      return signJson(association as JsonObject, deps.serverName, deps.signingKey);
    },
  };

  const unbind: IdentityEndpoint<UnbindBody> = {
    name: "3pid.unbind",
    method: "POST",
    path: "/3pid/unbind",
    // Homeservers unbind with their X-Matrix signature and hold no token of this service; a token given is checked.
    auth: "optional",
    schema: {
      type: "object",
      properties: {
        sid: { type: "string" },
        client_secret: { type: "string" },
        mxid: { type: "string" },
        threepid: { type: "object", properties: { medium: { type: "string" }, address: { type: "string" } }, required: ["medium", "address"] },
      },
      required: ["threepid", "mxid"],
    },
    handler: async (request) => {
      const { sid, client_secret: clientSecret, mxid } = request.body;
      checkUserId(mxid);
      const threepid = canonicalAddress(request.body.threepid.medium, request.body.threepid.address);
      const authorization = request.headers.authorization;
      if (typeof authorization === "string" && /^X-Matrix\s/i.test(authorization)) {
        // v2_associations.yaml unbind: "1. The request is signed by the homeserver which controls the user_id."
        let origin: string;
        try {
          origin = await deps.authenticator.authenticate({ method: request.method, uri: requestUri(request), authorization, body: request.body });
        } catch (err) {
          if (!(err instanceof MatrixError)) throw err;
          throw new MatrixError("M_FORBIDDEN", `Invalid homeserver signature: ${err.message}`, 403);
        }
        if (serverNameOf(mxid) !== origin) throw new MatrixError("M_FORBIDDEN", `${origin} does not control ${mxid}`, 403);
      } else if (sid !== undefined || clientSecret !== undefined) {
        // "2. The request includes the sid and client_secret parameters, as per /3pid/bind, which proves ownership of the 3PID."
        if (sid === undefined || clientSecret === undefined) throw missingParams("sid and client_secret go together");
        const session = await deps.validation.validatedSession(sid, clientSecret);
        if (session.medium !== threepid.medium || session.address !== threepid.address) {
          throw new MatrixError("M_FORBIDDEN", "The session did not validate this 3PID", 403);
        }
      } else {
        throw new MatrixError("M_FORBIDDEN", "An unbind is signed by the user's homeserver, or proves the 3PID with sid and client_secret", 403);
      }
      // Nothing bound to that user is already what was asked: answered the same.
      await deps.store.unbind(threepid.medium, threepid.address, mxid);
      return {};
    },
  };

  const hashDetails: IdentityEndpoint<undefined> = {
    name: "hash_details",
    method: "GET",
    path: "/hash_details",
    auth: "required",
    handler: async () => ({ lookup_pepper: deps.pepper, algorithms: [...LOOKUP_ALGORITHMS] }),
  };

  const lookup: IdentityEndpoint<LookupBody> = {
    name: "lookup",
    method: "POST",
    path: "/lookup",
    auth: "required",
    schema: {
      type: "object",
      properties: { algorithm: { type: "string" }, pepper: { type: "string" }, addresses: { type: "array", items: { type: "string" } } },
      required: ["algorithm", "pepper", "addresses"],
    },
    handler: async (request) => {
      const { algorithm, pepper, addresses } = request.body;
      // v2_lookup.yaml: "M_INVALID_PARAM can also be returned to indicate the client supplied an algorithm that is unknown".
      if (!isLookupAlgorithm(algorithm)) throw invalidParam(`Unknown algorithm ${JSON.stringify(algorithm)}: one of ${LOOKUP_ALGORITHMS.join(", ")}`);
      // The pepper "is required even when the algorithm does not make use of it"; the right one is
      // given back so that a client need not ask /hash_details again.
      if (pepper !== deps.pepper) {
        throw new MatrixError("M_INVALID_PEPPER", "Unknown or invalid pepper - has it been rotated?", 400, { algorithm, lookup_pepper: deps.pepper });
      }
      let mappings: Map<string, string>;
      if (algorithm === "sha256") {
        mappings = await deps.store.lookupHashes(addresses);
      } else {
        const pairs = addresses.flatMap((query) => {
          const parts = splitPlainLookup(query);
          return parts === undefined ? [] : [{ query, ...parts }];
        });
        mappings = await deps.store.lookupPlain(pairs);
      }
      return { mappings: Object.fromEntries(mappings) };
    },
  };

  return [bind, unbind, hashDetails, lookup];
}
