// `weft create-registration-token`: makes a token for m.login.registration_token registration
// (client-server-api#token-authenticated-registration) straight in the homeserver's database, so an
// admin needs no admin account to hand out the first invitations. SQLite lets this run beside a
// running homeserver: the write waits for the server's lock.
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../config/index.ts";
import { RegistrationTokenService } from "../homeserver/users/registration-tokens.ts";
import { openDatabase } from "../storage/index.ts";
import { RegistrationTokenStore } from "../storage/stores/registration-tokens.ts";

export const CREATE_REGISTRATION_TOKEN_USAGE = `  weft create-registration-token [--config FILE] [--token TOKEN | --length N]
                     [--uses-allowed N] [--expires-in-hours H]
                                       create a registration token and print it (unlimited and
                                       never expiring unless limited)
`;

function integerOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`--${name} must be an integer`);
  return n;
}

export async function createRegistrationTokenCommand(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      config: { type: "string", short: "c" },
      token: { type: "string" },
      length: { type: "string" },
      "uses-allowed": { type: "string" },
      "expires-in-hours": { type: "string" },
    },
    strict: true,
  });
  const hours = values["expires-in-hours"] === undefined ? undefined : Number(values["expires-in-hours"]);
  if (hours !== undefined && !(hours > 0)) throw new Error("--expires-in-hours must be a positive number");
  const { config } = await loadConfig({ configPath: values.config });
  // Before the first start, the SQLite database's folder may not exist yet (the server makes it too).
  if (config.database.engine === "sqlite" && config.database.path !== ":memory:") {
    await mkdir(dirname(config.database.path), { recursive: true });
  }
  const db = await openDatabase(config.database);
  try {
    const created = await new RegistrationTokenService(new RegistrationTokenStore(db)).create({
      token: values.token,
      length: integerOption("length", values.length),
      usesAllowed: integerOption("uses-allowed", values["uses-allowed"]),
      expiryTime: hours === undefined ? undefined : Date.now() + Math.round(hours * 3_600_000),
    });
    process.stdout.write(`${created.token}\n`);
    return 0;
  } finally {
    await db.close();
  }
}
