// What the admin API tests share: an admin account, made through shared-secret registration.
import assert from "node:assert/strict";
import { sharedSecretRegistrationMac } from "../../../../src/homeserver/users/shared-secret.ts";
import type { TestHomeserver } from "../../harness.ts";
import { ACCOUNTS_YAML, call } from "../client/helpers.ts";

/** The shared secret ADMIN_YAML configures. */
const SHARED_SECRET = "s3cret";

export const ADMIN_YAML = `${ACCOUNTS_YAML}\nregistration_shared_secret: ${SHARED_SECRET}`;

/** An admin's access token, through shared-secret registration. */
export async function registerAdmin(hs: TestHomeserver, username: string): Promise<string> {
  const { nonce } = (await call(hs, "GET", "/_synapse/admin/v1/register")).body as { nonce: string };
  const fields = { nonce, username, password: "Admin-pass-1", admin: true };
  const reply = await call(hs, "POST", "/_synapse/admin/v1/register", { body: { ...fields, mac: sharedSecretRegistrationMac(SHARED_SECRET, fields) } });
  assert.equal(reply.status, 200);
  return reply.body["access_token"] as string;
}
