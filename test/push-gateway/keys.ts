/** Key files as the providers hand them out, written to a fresh folder: an APNs .p8, an FCM service account, a VAPID PEM. */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ProviderKeys {
  readonly dir: string;
  readonly apnsKeyFile: string;
  readonly apnsPublicKey: KeyObject;
  /** The service account JSON; its token_uri is `tokenUri`. */
  serviceAccountFile(tokenUri: string, projectId?: string): Promise<string>;
  readonly serviceAccountPublicKey: KeyObject;
  readonly vapidKeyFile: string;
  readonly vapidPublicKey: KeyObject;
  cleanup(): Promise<void>;
}

export async function providerKeys(): Promise<ProviderKeys> {
  const dir = await mkdtemp(join(tmpdir(), "weft-push-keys-"));
  const apns = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const apnsKeyFile = join(dir, "AuthKey_TESTKEY123.p8");
  await writeFile(apnsKeyFile, apns.privateKey.export({ format: "pem", type: "pkcs8" }));
  const google = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const vapid = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const vapidKeyFile = join(dir, "vapid.pem");
  await writeFile(vapidKeyFile, vapid.privateKey.export({ format: "pem", type: "sec1" }));
  return {
    dir,
    apnsKeyFile,
    apnsPublicKey: apns.publicKey,
    async serviceAccountFile(tokenUri, projectId = "weft-test") {
      const file = join(dir, `service-account-${projectId}.json`);
      const account = {
        type: "service_account",
        project_id: projectId,
        private_key_id: "k1",
        private_key: google.privateKey.export({ format: "pem", type: "pkcs8" }),
        client_email: `push@${projectId}.iam.gserviceaccount.com`,
        token_uri: tokenUri,
      };
      await writeFile(file, JSON.stringify(account));
      return file;
    },
    serviceAccountPublicKey: google.publicKey,
    vapidKeyFile,
    vapidPublicKey: vapid.publicKey,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A JWT's header and claims, once its signature checks out with `verifyWith`. */
export function jwtParts(token: string, verify: (signed: Buffer, signature: Buffer) => boolean): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [header, claims, signature] = token.split(".");
  if (header === undefined || claims === undefined || signature === undefined) throw new Error(`not a JWT: ${token}`);
  if (!verify(Buffer.from(`${header}.${claims}`), Buffer.from(signature, "base64url"))) throw new Error("the JWT's signature does not verify");
  return { header: JSON.parse(Buffer.from(header, "base64url").toString("utf8")), claims: JSON.parse(Buffer.from(claims, "base64url").toString("utf8")) };
}
