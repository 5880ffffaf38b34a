// Asking a room's policy server to sign an event: POST /_matrix/policy/v1/sign (room_policy.yaml),
// a signed federation request whose body is the PDU.
import { MatrixError } from "../../core/errors.ts";
import type { Pdu } from "../../core/events/room-event.ts";
import type { JsonObject } from "../../core/json.ts";
import type { PolicyServerClient } from "../roomserver/index.ts";
import { FederationRequestError } from "./client.ts";
import type { FederationClient } from "./client.ts";

/** Synapse gives a policy server 3 seconds: it holds up the event, and a client waits for the answer. */
export const POLICY_SERVER_TIMEOUT_MS = 3_000;

export class FederationPolicyServers implements PolicyServerClient {
  readonly #client: Pick<FederationClient, "post">;
  readonly #timeoutMs: number;

  constructor(client: Pick<FederationClient, "post">, timeoutMs = POLICY_SERVER_TIMEOUT_MS) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
  }

  async sign(via: string, pdu: Pdu): Promise<JsonObject> {
    try {
      return await this.#client.post(via, "/_matrix/policy/v1/sign", pdu, { timeoutMs: this.#timeoutMs });
    } catch (err) {
      throw policyServerError(via, err);
    }
  }
}

/**
 * The policy server's refusal as it gave it (server-server-api#validating-policy-server-signatures:
 * "that error SHOULD be provided to the client verbatim"), a refusal to sign being 403 as any other
 * refusal of an event. What says nothing about the event (no answer, a server error, an endpoint it
 * lacks, our request's authentication) is 502: the client may try again.
 */
export function policyServerError(via: string, err: unknown): MatrixError {
  if (err instanceof FederationRequestError && err.reason === "http" && err.status !== undefined && err.errcode !== undefined) {
    const aboutUs = err.status === 401 || err.errcode === "M_UNRECOGNIZED" || err.errcode === "M_UNKNOWN_TOKEN" || err.errcode === "M_MISSING_TOKEN";
    if (err.status < 500 && !aboutUs) {
      const status = err.errcode === "M_FORBIDDEN" ? 403 : err.status;
      return new MatrixError(err.errcode as MatrixError["errcode"], err.remoteError ?? `the room's policy server ${via} refused the event`, status);
    }
  }
  const timeout = err instanceof FederationRequestError && err.reason === "timeout";
  const why = err instanceof Error ? err.message : String(err);
  return new MatrixError(timeout ? "M_CONNECTION_TIMEOUT" : "M_UNKNOWN", `the room's policy server ${via} could not sign the event: ${why}`, 502);
}
