/**
 * A stand-in identity server for the third-party invite tests (identity-service-api): HTTPS on
 * loopback with a certificate of the test CA, answering what a homeserver asks of one for invites
 * (hash_details, lookup, store-invite, pubkey/isvalid and pubkey/ephemeral/isvalid), with an
 * ed25519 long-term key and an ephemeral key per invite; and, as an identity server does once a
 * 3PID is bound, it calls the homeserver's /3pid/onbind with the pending invites, signed.
 *
 *   const is = await startStandInIdentityServer(pki);
 *   is.bind("bob@example.org", "@bob:hs");                  // lookups now find it
 *   await is.notifyBound("bob@example.org", "@bob:hs", hs.port);
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { Agent, fetch } from "undici";
import { generateSigningKey, type SigningKey } from "../../../src/core/crypto/ed25519.ts";
import { signJson } from "../../../src/core/crypto/signing.ts";
import { lookupHash } from "../../../src/core/identifiers/threepid.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import type { TestPki } from "../federation/pki.ts";

export interface StoredInviteRecord {
  readonly token: string;
  readonly address: string;
  readonly roomId: string;
  readonly sender: string;
  readonly ephemeralKey: SigningKey;
}

export interface StandInIdentityServer {
  /** "localhost:<port>", what clients give as id_server. */
  readonly serverName: string;
  /** The id_access_token it accepts. */
  readonly accessToken: string;
  readonly longTermKey: SigningKey;
  /** The bodies of the store-invite requests it took, in order. */
  readonly storeInviteRequests: JsonObject[];
  /** How many lookups it answered. */
  lookups: number;
  readonly invites: StoredInviteRecord[];
  bind(address: string, mxid: string): void;
  /** The next request to this path is answered with this status and body instead. */
  refuseNext(path: string, status: number, body: JsonObject): void;
  /** A key is no longer valid (pubkey/isvalid answers false for it). */
  revoke(publicKey: string): void;
  /** The signed block of an invite for `mxid`, as onbind gives it; with another key of the same ID when forged. */
  signedFor(invite: StoredInviteRecord, mxid: string, options?: { forged?: boolean; extra?: JsonObject; key?: SigningKey }): JsonObject;
  /** Binds the address and POSTs /3pid/onbind to the homeserver on `port` with its pending invites. */
  notifyBound(address: string, mxid: string, port: number, options?: { forged?: boolean }): Promise<{ status: number; json: JsonObject }>;
  /** POSTs any body to a homeserver's /3pid/onbind. */
  postOnBind(port: number, body: unknown, raw?: string): Promise<{ status: number; json: JsonObject }>;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function answer(res: ServerResponse, status: number, body: JsonObject): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** v2_store_invite.yaml: a display_name that "does not leak the full contents of the address". */
function redacted(address: string): string {
  const [local = "", domain = ""] = address.split("@");
  return `${local.slice(0, 1)}...@${domain.slice(0, 1)}...`;
}

export async function startStandInIdentityServer(pki: TestPki): Promise<StandInIdentityServer> {
  const certificate = pki.issue(["localhost"], ["127.0.0.1"]);
  const longTermKey = generateSigningKey("0");
  const accessToken = `is_token_${randomBytes(8).toString("hex")}`;
  const pepper = randomBytes(6).toString("base64url");
  const bindings = new Map<string, string>();
  const revoked = new Set<string>();
  const refusals = new Map<string, { status: number; body: JsonObject }>();
  const storeInviteRequests: JsonObject[] = [];
  const invites: StoredInviteRecord[] = [];
  let serverName = "";
  const agent = new Agent({ connect: { ca: pki.caCert } });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "https://localhost");
    const refusal = refusals.get(url.pathname);
    if (refusal !== undefined) {
      refusals.delete(url.pathname);
      return answer(res, refusal.status, refusal.body);
    }
    const text = await readBody(req);
    const body = text === "" ? {} : (JSON.parse(text) as JsonObject);
    const authorised = req.headers.authorization === `Bearer ${accessToken}`;
    const path = url.pathname;
    if (path === "/_matrix/identity/v2/pubkey/isvalid" || path === "/_matrix/identity/v2/pubkey/ephemeral/isvalid") {
      const key = url.searchParams.get("public_key") ?? "";
      const known = path.includes("ephemeral") ? invites.some((i) => i.ephemeralKey.publicKeyBase64 === key) : key === longTermKey.publicKeyBase64;
      return answer(res, 200, { valid: known && !revoked.has(key) });
    }
    if (!authorised) return answer(res, 401, { errcode: "M_UNAUTHORIZED", error: "Unrecognised access token" });
    if (path === "/_matrix/identity/v2/hash_details" && req.method === "GET") {
      return answer(res, 200, { algorithms: ["none", "sha256"], lookup_pepper: pepper });
    }
    if (path === "/_matrix/identity/v2/lookup" && req.method === "POST") {
      self.lookups++;
      if (body["algorithm"] !== "sha256" || body["pepper"] !== pepper) return answer(res, 400, { errcode: "M_INVALID_PEPPER", error: "Wrong pepper" });
      const mappings: JsonObject = {};
      for (const [address, mxid] of bindings) {
        const hash = lookupHash(address, "email", pepper);
        if ((body["addresses"] as string[]).includes(hash)) mappings[hash] = mxid;
      }
      return answer(res, 200, { mappings });
    }
    if (path === "/_matrix/identity/v2/store-invite" && req.method === "POST") {
      storeInviteRequests.push(body);
      if (body["medium"] !== "email") return answer(res, 400, { errcode: "M_UNRECOGNIZED", error: "Only email invites" });
      const address = body["address"] as string;
      const bound = bindings.get(address);
      if (bound !== undefined) return answer(res, 400, { errcode: "M_THREEPID_IN_USE", error: "Binding already known", mxid: bound });
      const invite: StoredInviteRecord = {
        token: randomBytes(12).toString("base64url"),
        address,
        roomId: body["room_id"] as string,
        sender: body["sender"] as string,
        ephemeralKey: generateSigningKey("0"),
      };
      invites.push(invite);
      return answer(res, 200, {
        token: invite.token,
        public_keys: [
          { public_key: longTermKey.publicKeyBase64, key_validity_url: `https://${serverName}/_matrix/identity/v2/pubkey/isvalid` },
          { public_key: invite.ephemeralKey.publicKeyBase64, key_validity_url: `https://${serverName}/_matrix/identity/v2/pubkey/ephemeral/isvalid` },
        ],
        display_name: redacted(address),
      });
    }
    return answer(res, 404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
  };

  const server: Server = createServer({ cert: certificate.cert, key: certificate.key }, (req, res) => {
    handle(req, res).catch((err: unknown) => answer(res, 500, { errcode: "M_UNKNOWN", error: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  serverName = `localhost:${(server.address() as AddressInfo).port}`;

  const signedFor = (invite: StoredInviteRecord, mxid: string, options: { forged?: boolean; extra?: JsonObject; key?: SigningKey } = {}): JsonObject => {
    // A forgery: the same key ID, another key.
    const key = options.forged === true ? generateSigningKey("0") : (options.key ?? longTermKey);
    return signJson({ mxid, token: invite.token, ...(options.extra ?? {}) }, serverName, key);
  };
  const postOnBind = async (port: number, body: unknown, raw?: string): Promise<{ status: number; json: JsonObject }> => {
    const response = await fetch(`https://127.0.0.1:${port}/_matrix/federation/v1/3pid/onbind`, {
      method: "POST",
      dispatcher: agent,
      headers: { "content-type": "application/json" },
      body: raw ?? JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as JsonObject };
  };

  const self: StandInIdentityServer = {
    serverName,
    accessToken,
    longTermKey,
    storeInviteRequests,
    lookups: 0,
    invites,
    bind: (address, mxid) => void bindings.set(address, mxid),
    refuseNext: (path, status, body) => void refusals.set(path, { status, body }),
    revoke: (publicKey) => void revoked.add(publicKey),
    signedFor,
    async notifyBound(address, mxid, port, options = {}) {
      bindings.set(address, mxid);
      // identity-service-api#invitation-storage: the pending invites of the address, each with its signed block.
      const pending = invites.filter((i) => i.address === address);
      return await postOnBind(port, {
        medium: "email",
        address,
        mxid,
        invites: pending.map((invite) => ({
          medium: "email",
          address,
          mxid,
          room_id: invite.roomId,
          sender: invite.sender,
          token: invite.token,
          signed: signedFor(invite, mxid, options),
        })),
      });
    },
    postOnBind,
    async close() {
      await agent.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return self;
}
