// The server's signing key file (Synapse's signing.key format), created on first start.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { formatSigningKeyFile, generateSigningKey, parseSigningKeyFile } from "../core/crypto/ed25519.ts";
import type { SigningKey } from "../core/crypto/ed25519.ts";
import { ConfigError } from "./config-error.ts";

/**
 * The keys in the file at `path`, first one current. When the file does not exist it is created
 * (folder included) with one fresh key, readable by its owner only: whoever holds it can sign as
 * this server.
 */
export async function loadOrCreateSigningKey(path: string): Promise<SigningKey[]> {
  let text = await readIfExists(path);
  if (text === undefined) {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const created = formatSigningKeyFile([generateSigningKey()]);
    try {
      await writeFile(path, created, { flag: "wx", mode: 0o600 });
      text = created;
    } catch (err) {
      // Another process created it between our read and write: use theirs.
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw fileError(path, "cannot create", err);
      text = await readFile(path, "utf8");
    }
  }
  let keys: SigningKey[];
  try {
    keys = parseSigningKeyFile(text);
  } catch (err) {
    throw fileError(path, "cannot parse", err);
  }
  if (keys.length === 0) throw new ConfigError("signing_key_path", `${path} holds no signing key`);
  return keys;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fileError(path, "cannot read", err);
  }
}

function fileError(path: string, what: string, err: unknown): ConfigError {
  return new ConfigError("signing_key_path", `${what} ${path}: ${(err as Error).message}`, { cause: err });
}
