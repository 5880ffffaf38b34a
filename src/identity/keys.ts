// The service's long-term signing key (identity-service-api#key-management), in the homeserver's
// signing key file format (Synapse's signing.key), made on first start. A new key is `ed25519:0`,
// the key ID clients and the spec's examples expect of an identity service.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { loadOrCreateSigningKey } from "../config/signing-key.ts";
import { formatSigningKeyFile, generateSigningKey, type SigningKey } from "../core/crypto/ed25519.ts";
import { ConfigError } from "../config/config-error.ts";

export async function loadOrCreateIdentityKeys(path: string): Promise<SigningKey[]> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    // Only when there is none ("wx"): an existing file, whatever its key IDs, is used as it is.
    await writeFile(path, formatSigningKeyFile([generateSigningKey("0")]), { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new ConfigError("signing_key_path", `cannot create ${path}: ${(err as Error).message}`, { cause: err });
  }
  return await loadOrCreateSigningKey(path);
}
