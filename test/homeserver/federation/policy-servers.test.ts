// Asking a policy server over federation (room_policy.yaml): the request, and what its answers and
// failures become for the client whose event it is.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MatrixError } from "../../../src/core/errors.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { FederationRequestError } from "../../../src/homeserver/federation/client.ts";
import type { FederationRequestOptions } from "../../../src/homeserver/federation/client.ts";
import { FederationPolicyServers, POLICY_SERVER_TIMEOUT_MS } from "../../../src/homeserver/federation/policy-servers.ts";

const VIA = "policy.example.org";
const pdu: JsonObject = { type: "m.room.message", room_id: "!r:origin.example", content: { body: "x" } };

/** A federation client whose POST answers or throws what the test says. */
function clientAnswering(answer: () => JsonObject) {
  const sent: Array<{ destination: string; path: string; body: JsonObject; options: FederationRequestOptions | undefined }> = [];
  return {
    sent,
    post: async (destination: string, path: string, body: JsonObject, options?: FederationRequestOptions) => {
      sent.push({ destination, path, body, options });
      return answer();
    },
  };
}

const httpError = (status: number, errcode: string | undefined, remoteError?: string) =>
  new FederationRequestError(VIA, "http", `POST /_matrix/policy/v1/sign to ${VIA} answered ${status}`, status, errcode, { remoteError });

async function failureOf(err: unknown): Promise<MatrixError> {
  const policyServers = new FederationPolicyServers(
    clientAnswering(() => {
      throw err;
    }),
  );
  try {
    await policyServers.sign(VIA, pdu);
  } catch (thrown) {
    assert.ok(thrown instanceof MatrixError);
    return thrown;
  }
  throw new Error("the request did not fail");
}

describe("FederationPolicyServers", () => {
  it("posts the PDU to the policy server's /_matrix/policy/v1/sign within Synapse's 3 seconds, and answers its signatures", async () => {
    const client = clientAnswering(() => ({ [VIA]: { "ed25519:policy_server": "sig" } }));
    const answer = await new FederationPolicyServers(client).sign(VIA, pdu);
    assert.deepEqual(answer, { [VIA]: { "ed25519:policy_server": "sig" } });
    assert.equal(client.sent.length, 1);
    assert.equal(client.sent[0]?.destination, VIA);
    assert.equal(client.sent[0]?.path, "/_matrix/policy/v1/sign");
    assert.equal(client.sent[0]?.body, pdu);
    assert.equal(client.sent[0]?.options?.timeoutMs, POLICY_SERVER_TIMEOUT_MS);
  });

  it("passes a refusal on as the policy server gave it: its errcode and error, M_FORBIDDEN as 403", async () => {
    const spam = await failureOf(httpError(400, "M_FORBIDDEN", "The message appears to contain possible spam"));
    assert.deepEqual([spam.errcode, spam.message, spam.status], ["M_FORBIDDEN", "The message appears to contain possible spam", 403]);
    const limited = await failureOf(httpError(429, "M_LIMIT_EXCEEDED", "Too many requests"));
    assert.deepEqual([limited.errcode, limited.message, limited.status], ["M_LIMIT_EXCEEDED", "Too many requests", 429]);
    const silent = await failureOf(httpError(403, "M_FORBIDDEN"));
    assert.deepEqual([silent.errcode, silent.status], ["M_FORBIDDEN", 403]);
    assert.match(silent.message, /refused/);
  });

  it("answers 502 for what says nothing about the event: no policy server there, our authentication, its failures, no answer", async () => {
    for (const err of [
      httpError(404, "M_UNRECOGNIZED", "Unrecognized request"),
      httpError(401, "M_UNAUTHORIZED", "Bad signature"),
      httpError(500, "M_UNKNOWN", "Internal error"),
      httpError(502, undefined),
      new FederationRequestError(VIA, "connection", "connection refused"),
      new Error("something else"),
    ]) {
      const mapped = await failureOf(err);
      assert.equal(mapped.status, 502, String(err));
      assert.equal(mapped.errcode, "M_UNKNOWN");
    }
    const timeout = await failureOf(new FederationRequestError(VIA, "timeout", "no answer in time"));
    assert.deepEqual([timeout.errcode, timeout.status], ["M_CONNECTION_TIMEOUT", 502]);
  });
});
