// Issue 2: canonical JSON + sign + verify of a typical 1 KB event, against Node's raw ed25519 sign and
// verify of the same bytes (the ratio is our overhead over the crypto itself).
import { generateKeyPairSync, sign, verify } from "node:crypto";
import { canonicalJsonBytes } from "../src/core/canonical-json/canonical-json.ts";
import { generateSigningKey } from "../src/core/crypto/ed25519.ts";
import { signJson, verifyJsonSignature } from "../src/core/crypto/signing.ts";
import type { JsonObject } from "../src/core/json.ts";
import { opsPerSecond, printFigure } from "./lib.ts";

export function typicalEvent(): JsonObject {
  return {
    auth_events: ["$Jb7PfJZrz0hTLsbmkv8XVHo_ZZn2lIhEHkqS-uadd_U", "$ZlwDAt5kx2Vu9Nc7DbmuxNQz1LDp6clyDt2ZUBPpA9Q"],
    content: {
      body: "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur.",
      format: "org.matrix.custom.html",
      formatted_body: "<p>Lorem ipsum dolor sit amet, <b>consectetur</b> adipiscing elit, sed do eiusmod tempor incididunt.</p>",
      msgtype: "m.text",
      "m.mentions": { user_ids: ["@bob:example.org"] },
    },
    depth: 1234,
    hashes: { sha256: "ThisHashCoversAllFieldsInCaseThisIsRedacted0" },
    origin_server_ts: 1732000000000,
    prev_events: ["$Ui8cJcKXSqQ5hGUJD3Wp6UfLB-TK1e0BEb4Xf6KZeTQ"],
    room_id: "!JxB9o5SlYwTMGN3-J0Az9QWBp2pDCpBYa9gQI6dXBbY",
    sender: "@alice:example.org",
    type: "m.room.message",
    unsigned: { age_ts: 1732000000000 },
  };
}

export async function signingBench(): Promise<void> {
  const key = generateSigningKey();
  const event = typicalEvent();
  const size = canonicalJsonBytes(event).length;
  const ours = opsPerSecond(() => {
    const signed = signJson(event, "example.org", key);
    if (!verifyJsonSignature(signed, "example.org", key.keyId, key.publicKey)) throw new Error("did not verify");
  });

  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const bytes = canonicalJsonBytes(event);
  const raw = opsPerSecond(() => {
    const signature = sign(null, bytes, privateKey);
    if (!verify(null, bytes, publicKey, signature)) throw new Error("did not verify");
  });
  printFigure({
    name: `canonical JSON + sign + verify of a ${size}-byte event`,
    value: ours,
    unit: "ops/s",
    better: "higher",
    baseline: { name: "raw ed25519 sign + verify of the same bytes", value: raw },
  });
}
