/**
 * A stand-in identity server for the 3PID tests: HTTPS on loopback with a certificate of the test
 * CA (the homeserver trusts it through federation_custom_ca_list), answering /3pid/bind as
 * v2_associations.yaml says after checking the body and the bearer token, and /3pid/unbind only when
 * the request carries a valid X-Matrix signature of the homeserver (fetched from its key endpoint).
 */
import type { ServerResponse } from "node:http";
import { canonicalJson } from "../../../src/core/canonical-json/canonical-json.ts";
import { decodeBase64 } from "../../../src/core/crypto/base64.ts";
import { verifyBytes } from "../../../src/core/crypto/ed25519.ts";
import type { JsonValue } from "../../../src/core/json.ts";
import { parseXMatrixAuthorization } from "../../../src/homeserver/federation/x-matrix.ts";
import type { TestPki } from "../federation/pki.ts";
import { json, startStubServer, type RecordedRequest, type StubServer } from "../federation/stub-server.ts";

export const ID_ACCESS_TOKEN = "is-access-token";

export interface UnbindSeen {
  readonly mxid: unknown;
  readonly threepid: unknown;
  readonly origin: string;
  readonly destination: string | undefined;
}

export interface IdentityServerStandIn {
  /** Its server name, `127.0.0.1:<port>`, as clients give it in id_server. */
  readonly name: string;
  readonly binds: Array<Record<string, unknown>>;
  readonly unbinds: UnbindSeen[];
  /** How /3pid/unbind answers: done, not supported (404, as a server without the endpoint), or failing. */
  unbindMode: "ok" | "unsupported" | "broken";
  stop(): Promise<void>;
}

export async function startIdentityServerStandIn(pki: TestPki, homeserver: { baseUrl: string; serverName: string }): Promise<IdentityServerStandIn> {
  const cert = pki.issue(["localhost"], ["127.0.0.1"]);
  const keys = (await (await fetch(`${homeserver.baseUrl}/_matrix/key/v2/server`)).json()) as { verify_keys: Record<string, { key: string }> };
  const state = { binds: [] as Array<Record<string, unknown>>, unbinds: [] as UnbindSeen[], unbindMode: "ok" as IdentityServerStandIn["unbindMode"] };
  let name = "";

  const handle = (req: RecordedRequest, res: ServerResponse): void => {
    const body = req.body === "" ? {} : (JSON.parse(req.body) as Record<string, unknown>);
    if (req.method === "POST" && req.url === "/_matrix/identity/v2/3pid/bind") {
      if (req.authorization !== `Bearer ${ID_ACCESS_TOKEN}`) return json(res, 401, { errcode: "M_UNAUTHORIZED", error: "Unrecognised access token" });
      state.binds.push(body);
      // v2_associations.yaml: a session not validated is M_SESSION_NOT_VALIDATED.
      if (body["sid"] === "unvalidated") return json(res, 400, { errcode: "M_SESSION_NOT_VALIDATED", error: "This validation session has not yet been completed" });
      return json(res, 200, { address: "Una@Example.org", medium: "email", mxid: body["mxid"], not_before: 0, not_after: 4102444800000, ts: Date.now(), signatures: {} });
    }
    if (req.method === "POST" && req.url === "/_matrix/identity/v2/3pid/unbind") {
      const verified = verifyXMatrix(req, body, keys.verify_keys, homeserver.serverName, name);
      if (verified === undefined) return json(res, 403, { errcode: "M_FORBIDDEN", error: "Bad signature" });
      state.unbinds.push({ mxid: body["mxid"], threepid: body["threepid"], ...verified });
      if (state.unbindMode === "unsupported") return json(res, 404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
      if (state.unbindMode === "broken") return json(res, 500, { errcode: "M_UNKNOWN", error: "Internal error" });
      return json(res, 200, {});
    }
    json(res, 404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
  };
  const stub: StubServer = await startStubServer(cert, handle);
  name = `127.0.0.1:${stub.port}`;
  return {
    name,
    binds: state.binds,
    unbinds: state.unbinds,
    get unbindMode() {
      return state.unbindMode;
    },
    set unbindMode(mode) {
      state.unbindMode = mode;
    },
    stop: () => stub.close(),
  };
}

/** server-server-api#request-authentication, checked as an identity server does for /3pid/unbind. */
function verifyXMatrix(
  req: RecordedRequest,
  content: Record<string, unknown>,
  verifyKeys: Record<string, { key: string }>,
  origin: string,
  destination: string,
): { origin: string; destination: string | undefined } | undefined {
  if (req.authorization === undefined) return undefined;
  const credentials = parseXMatrixAuthorization(req.authorization);
  const publicKey = decodeBase64(verifyKeys[credentials.key]?.key ?? "");
  const signature = decodeBase64(credentials.sig);
  if (credentials.origin !== origin || credentials.destination !== destination || publicKey === undefined || signature === undefined) return undefined;
  const signed = { method: req.method, uri: req.url, origin: credentials.origin, destination, content: content as JsonValue };
  return verifyBytes(publicKey, Buffer.from(canonicalJson(signed)), signature) ? { origin: credentials.origin, destination: credentials.destination } : undefined;
}
