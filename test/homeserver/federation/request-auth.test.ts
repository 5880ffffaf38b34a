import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeBase64 } from "../../../src/core/crypto/base64.ts";
import { generateSigningKey, signingKeyFromSeed } from "../../../src/core/crypto/ed25519.ts";
import { MatrixError } from "../../../src/core/errors.ts";
import type { FederationRequestInfo } from "../../../src/http/app.ts";
import { FederationAuthenticator, requestJson, signRequest } from "../../../src/homeserver/federation/request-auth.ts";
import { parseXMatrixAuthorization } from "../../../src/homeserver/federation/x-matrix.ts";

const origin = "origin.example.org";
const us = "destination.example.org";
const key = generateSigningKey("k1");

/** A key source knowing one server's one key, counting the minimum validity asked. */
function keys(known: Record<string, Uint8Array> = { [`${origin} ${key.keyId}`]: key.publicKey }) {
  const asked: number[] = [];
  return {
    asked,
    async getVerifyKey(serverName: string, keyId: string, minimumValidUntilTs: number) {
      asked.push(minimumValidUntilTs);
      return known[`${serverName} ${keyId}`];
    },
  };
}

function signed(overrides: Partial<{ destination: string; method: string; uri: string; body: Record<string, unknown> }> = {}): FederationRequestInfo {
  const method = overrides.method ?? "PUT";
  const uri = overrides.uri ?? "/_matrix/federation/v1/send/txn1?a=b%20c";
  const body = overrides.body ?? { pdus: [], edus: [] };
  const authorization = signRequest({ method, uri, origin, destination: overrides.destination ?? us, content: body as never }, key);
  return { method, uri, authorization, body };
}

async function refusal(promise: Promise<unknown>): Promise<MatrixError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof MatrixError);
    return err;
  }
  assert.fail("the request was accepted");
}

describe("request signing", () => {
  it("signs the object of the spec's step 1, and the header names the destination", () => {
    // The spec's appendix test key, so the signature is reproducible.
    const specKey = signingKeyFromSeed(decodeBase64("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1") as Uint8Array, "1");
    const header = signRequest({ method: "GET", uri: "/_matrix/federation/v1/version", origin: "a.test", destination: "b.test" }, specKey);
    const credentials = parseXMatrixAuthorization(header);
    assert.equal(credentials.origin, "a.test");
    assert.equal(credentials.destination, "b.test");
    assert.equal(credentials.key, "ed25519:1");
    assert.match(credentials.sig, /^[A-Za-z0-9+/]{86}$/);
    assert.deepEqual(requestJson({ method: "GET", uri: "/x", origin: "a", destination: "b" }), { method: "GET", uri: "/x", origin: "a", destination: "b" });
    assert.deepEqual(requestJson({ method: "PUT", uri: "/x", origin: "a", destination: "b", content: {} }).content, {});
  });
});

describe("FederationAuthenticator", () => {
  it("accepts a signed request and answers its origin, asking for a key valid now", async () => {
    const source = keys();
    const auth = new FederationAuthenticator(us, source, () => 1234);
    assert.equal(await auth.authenticate(signed()), origin);
    assert.deepEqual(source.asked, [1234]);
  });

  it("accepts a GET without a body", async () => {
    const authorization = signRequest({ method: "GET", uri: "/_matrix/federation/v1/version", origin, destination: us }, key);
    const auth = new FederationAuthenticator(us, keys());
    assert.equal(await auth.authenticate({ method: "GET", uri: "/_matrix/federation/v1/version", authorization, body: undefined }), origin);
  });

  it("accepts a header without destination (servers older than v1.3), verifying with ours", async () => {
    const request = signed();
    const authorization = (request.authorization as string).replace(/,destination="[^"]*"/, "");
    assert.equal(await new FederationAuthenticator(us, keys()).authenticate({ ...request, authorization }), origin);
  });

  it("refuses a request signed for another destination with 401", async () => {
    const err = await refusal(new FederationAuthenticator(us, keys()).authenticate(signed({ destination: "other.example.org" })));
    assert.equal(err.status, 401);
    assert.equal(err.errcode, "M_UNAUTHORIZED");
  });

  it("refuses a request signed for another destination even when the header omits it", async () => {
    const request = signed({ destination: "other.example.org" });
    const authorization = (request.authorization as string).replace(/,destination="[^"]*"/, "");
    const err = await refusal(new FederationAuthenticator(us, keys()).authenticate({ ...request, authorization }));
    assert.equal(err.errcode, "M_UNAUTHORIZED");
  });

  it("refuses a forged signature", async () => {
    const request = signed();
    const forger = generateSigningKey("k1"); // same key ID, another key
    const authorization = signRequest({ method: request.method, uri: request.uri, origin, destination: us, content: request.body as never }, forger);
    const err = await refusal(new FederationAuthenticator(us, keys()).authenticate({ ...request, authorization }));
    assert.equal(err.status, 401);
    assert.equal(err.errcode, "M_UNAUTHORIZED");
  });

  it("refuses a request whose method, uri or body differ from what was signed", async () => {
    const auth = new FederationAuthenticator(us, keys());
    const request = signed();
    for (const changed of [
      { ...request, method: "POST" },
      { ...request, uri: "/_matrix/federation/v1/send/txn1?a=b+c" }, // the query exactly as received
      { ...request, uri: "/_matrix/federation/v1/send/txn2?a=b%20c" },
      { ...request, body: { pdus: [], edus: [{}] } },
      { ...request, body: undefined },
    ]) {
      assert.equal((await refusal(auth.authenticate(changed))).errcode, "M_UNAUTHORIZED");
    }
  });

  it("refuses a key it cannot find, a missing header, a malformed one and a bad origin, never crashing", async () => {
    const auth = new FederationAuthenticator(us, keys({}));
    const request = signed();
    assert.equal((await refusal(auth.authenticate(request))).errcode, "M_UNAUTHORIZED");
    const withKey = new FederationAuthenticator(us, keys());
    for (const authorization of [
      undefined,
      "",
      "Bearer abc",
      'X-Matrix origin="a',
      'X-Matrix origin="not a server name",key="ed25519:k1",sig="x"',
      'X-Matrix origin="origin.example.org",key="ed25519:k1",sig="!!!"',
    ]) {
      const err = await refusal(withKey.authenticate({ ...request, authorization }));
      assert.equal(err.status, 401);
      assert.equal(err.errcode, "M_UNAUTHORIZED");
    }
  });
});
