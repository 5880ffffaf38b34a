import { randomBytes } from "node:crypto";
import { MatrixError } from "../../../core/errors.ts";
import type { Endpoint } from "../../../http/endpoint.ts";
import { macMatches, sharedSecretRegistrationMac } from "../../users/shared-secret.ts";
import type { UserService } from "../../users/user-service.ts";

const NONCE_LIFETIME_MS = 60_000;
const MAX_OUTSTANDING_NONCES = 10_000;

interface RegisterBody {
  nonce: string;
  username: string;
  password: string;
  mac: string;
  admin?: boolean;
  displayname?: string;
  user_type?: string | null;
}

/**
 * Shared-secret registration at Synapse's admin path, the protocol `register_new_matrix_user` speaks:
 * GET gives a single-use nonce, POST registers when its HMAC proves knowledge of the shared secret.
 */
export function sharedSecretRegisterEndpoints(options: {
  sharedSecret: string | undefined;
  serverName: string;
  users: UserService;
  now?: () => number;
}): Endpoint[] {
  const now = options.now ?? Date.now;
  const nonces = new Map<string, number>(); // nonce -> expiry

  function sweep(): void {
    const t = now();
    for (const [nonce, expiry] of nonces) if (expiry <= t) nonces.delete(nonce);
  }

  function requireEnabled(): string {
    if (options.sharedSecret === undefined) {
      throw new MatrixError("M_FORBIDDEN", "Shared secret registration is not enabled", 400);
    }
    return options.sharedSecret;
  }

  const getNonce: Endpoint = {
    name: "admin.register_nonce",
    method: "GET",
    paths: ["/_synapse/admin/v1/register"],
    resource: "client",
    auth: "none",
    handler: async () => {
      requireEnabled();
      sweep();
      if (nonces.size >= MAX_OUTSTANDING_NONCES) throw new MatrixError("M_LIMIT_EXCEEDED", "Too many outstanding nonces", 429);
      const nonce = randomBytes(16).toString("hex");
      nonces.set(nonce, now() + NONCE_LIFETIME_MS);
      return { nonce };
    },
  };

  const register: Endpoint<RegisterBody> = {
    name: "admin.register",
    method: "POST",
    paths: ["/_synapse/admin/v1/register"],
    resource: "client",
    auth: "none",
    schema: {
      type: "object",
      required: ["nonce", "username", "password", "mac"],
      properties: {
        nonce: { type: "string" },
        username: { type: "string", maxLength: 512 },
        password: { type: "string", maxLength: 512 },
        mac: { type: "string" },
        admin: { type: "boolean" },
        displayname: { type: "string", maxLength: 256 },
        user_type: { type: ["string", "null"] },
      },
    },
    handler: async (req) => {
      const secret = requireEnabled();
      const body = req.body;
      const expiry = nonces.get(body.nonce);
      // Single use: a nonce is gone once presented, whatever the outcome.
      nonces.delete(body.nonce);
      if (expiry === undefined || expiry <= now()) throw new MatrixError("M_UNKNOWN", "Unrecognised nonce", 400);
      const expected = sharedSecretRegistrationMac(secret, {
        nonce: body.nonce,
        username: body.username,
        password: body.password,
        admin: body.admin === true,
        userType: body.user_type ?? undefined,
      });
      if (!macMatches(expected, body.mac)) throw new MatrixError("M_FORBIDDEN", "HMAC incorrect", 403);
      const registered = await options.users.register({
        localpart: body.username,
        password: body.password,
        admin: body.admin === true,
        ...(body.displayname === undefined ? {} : { displayname: body.displayname }),
      });
      return {
        user_id: registered.userId,
        home_server: options.serverName,
        access_token: registered.accessToken ?? null,
        device_id: registered.deviceId ?? null,
      };
    },
  };

  return [getNonce, register];
}
