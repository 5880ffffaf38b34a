import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { ConfigError } from "../config/config-error.ts";
import { loadConfig } from "../config/index.ts";
import { generateConfig } from "../config/index.ts";
import { startHomeserver } from "../homeserver/server.ts";
import { sharedSecretRegistrationMac } from "../homeserver/users/shared-secret.ts";
import { createLogger } from "../homeserver/logger.ts";
import { loadPushGatewayConfig } from "../push-gateway/config.ts";
import { startPushGateway } from "../push-gateway/gateway.ts";
import { loadIdentityServiceConfig } from "../identity/config.ts";
import { startIdentityService } from "../identity/service.ts";
import { CREATE_REGISTRATION_TOKEN_USAGE, createRegistrationTokenCommand } from "./create-registration-token.ts";

const USAGE = `weft: a Matrix homeserver

Usage:
  weft start [--config FILE]           run the homeserver (embedded defaults without --config:
                                       server name localhost, http://127.0.0.1:8008, SQLite under ./data)
  weft generate-config --server-name NAME [--data-dir DIR] [--config-path FILE]
                                       write a working homeserver.yaml and a fresh signing key
  weft register-user [--config FILE] [-u USER] [-p PASSWORD] [-a | --no-admin]
                     [-k SHARED_SECRET] [SERVER_URL]
                                       create a user through the shared-secret registration API
                                       (as Synapse's register_new_matrix_user does)
${CREATE_REGISTRATION_TOKEN_USAGE}  weft push-gateway --config FILE     run the push gateway (Push Gateway API) for the apps
                                       push-gateway.yaml names (Sygnal's format: APNs, FCM, Web Push)
  weft identity-service --config FILE  run the identity service (Identity Service API) that
                                       identity-service.yaml describes
  weft --help | --version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** Runs the command line; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case "--help":
      case "-h":
      case "help":
        process.stdout.write(USAGE);
        return 0;
      case "--version":
      case "-V":
        process.stdout.write(`weft ${version()}\n`);
        return 0;
      case "start":
        return await start(rest);
      case "generate-config":
        return await generateConfigCommand(rest);
      case "register-user":
        return await registerUser(rest);
      case "create-registration-token":
        return await createRegistrationTokenCommand(rest);
      case "push-gateway":
        return await pushGateway(rest);
      case "identity-service":
        return await identityService(rest);
      default:
        process.stderr.write(`weft: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`weft: invalid configuration: ${error.message}\n`);
      return 1;
    }
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS") === true) {
      process.stderr.write(`weft: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`weft: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

async function start(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...args], options: { config: { type: "string", short: "c" } }, strict: true });
  const { config, warnings } = await loadConfig({ configPath: values.config });
  const logger = createLogger(config.logLevel);
  for (const warning of warnings) logger.warn(warning);
  const server = await startHomeserver(config, logger);
  await runUntilSignalled(logger, server);
  return 0;
}

async function pushGateway(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...args], options: { config: { type: "string", short: "c" } }, strict: true });
  if (values.config === undefined) {
    process.stderr.write("weft push-gateway: --config is required: the push-gateway.yaml naming the apps to deliver for\n");
    return 2;
  }
  const { config, warnings } = await loadPushGatewayConfig(values.config);
  const logger = createLogger(config.logLevel);
  for (const warning of warnings) logger.warn(warning);
  const gateway = await startPushGateway(config, logger);
  await runUntilSignalled(logger, gateway);
  return 0;
}

async function identityService(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...args], options: { config: { type: "string", short: "c" } }, strict: true });
  if (values.config === undefined) {
    process.stderr.write("weft identity-service: --config is required: the identity-service.yaml of the service\n");
    return 2;
  }
  const { config, warnings } = await loadIdentityServiceConfig(values.config);
  const logger = createLogger(config.logLevel);
  for (const warning of warnings) logger.warn(warning);
  const service = await startIdentityService(config, logger);
  await runUntilSignalled(logger, service);
  return 0;
}

/** Logs where a server listens, then runs it until SIGINT or SIGTERM and closes it. */
async function runUntilSignalled(
  logger: ReturnType<typeof createLogger>,
  server: { readonly addresses: readonly { host: string; port: number; tls: boolean }[]; close(): Promise<void> },
): Promise<void> {
  for (const a of server.addresses) {
    logger.info(`listening on ${a.tls ? "https" : "http"}://${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`);
  }
  // Graceful shutdown: stop accepting, finish the accepted requests, then close what the server holds
  // (the homeserver's database, the gateway's connections to its providers).
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info(`${signal}: shutting down`);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await server.close();
  logger.info("stopped");
}

async function generateConfigCommand(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      "server-name": { type: "string" },
      "data-dir": { type: "string", default: "data" },
      "config-path": { type: "string", default: "homeserver.yaml" },
    },
    strict: true,
  });
  const serverName = values["server-name"];
  if (serverName === undefined) {
    process.stderr.write("weft generate-config: --server-name is required\n");
    return 2;
  }
  await generateConfig({ serverName, dataDir: values["data-dir"], configPath: values["config-path"] });
  process.stdout.write(`wrote ${values["config-path"]} and a signing key under ${values["data-dir"]}\n`);
  return 0;
}

async function prompt(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

async function registerUser(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      config: { type: "string", short: "c" },
      user: { type: "string", short: "u" },
      password: { type: "string", short: "p" },
      admin: { type: "boolean", short: "a" },
      "no-admin": { type: "boolean" },
      "shared-secret": { type: "string", short: "k" },
    },
    allowPositionals: true,
    strict: true,
  });
  let sharedSecret = values["shared-secret"];
  let serverUrl = positionals[0];
  if (values.config !== undefined) {
    const { config } = await loadConfig({ configPath: values.config });
    sharedSecret ??= config.registrationSharedSecret;
    serverUrl ??= config.publicBaseurl;
  }
  serverUrl ??= "http://localhost:8008";
  if (sharedSecret === undefined) {
    process.stderr.write("weft register-user: no shared secret: pass -k or a --config with registration_shared_secret\n");
    return 1;
  }
  const username = values.user ?? (await prompt("New user localpart: "));
  const password = values.password ?? (await prompt("Password: "));
  const admin = values.admin === true ? true : values["no-admin"] === true ? false : /^y/i.test(await prompt("Make admin [no]: "));
  if (username === "" || password === "") {
    process.stderr.write("weft register-user: username and password must not be empty\n");
    return 1;
  }

  const url = new URL("/_synapse/admin/v1/register", serverUrl);
  const nonceResponse = await fetch(url);
  const { nonce } = (await nonceResponse.json()) as { nonce?: string };
  if (!nonceResponse.ok || typeof nonce !== "string") {
    process.stderr.write(`weft register-user: the server gave no nonce (HTTP ${nonceResponse.status})\n`);
    return 1;
  }
  const mac = sharedSecretRegistrationMac(sharedSecret, { nonce, username, password, admin });
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ nonce, username, password, admin, mac }),
  });
  const body = (await response.json()) as { user_id?: string; error?: string; errcode?: string };
  if (!response.ok) {
    process.stderr.write(`weft register-user: ${body.errcode ?? response.status}: ${body.error ?? "registration failed"}\n`);
    return 1;
  }
  process.stdout.write(`registered ${body.user_id}\n`);
  return 0;
}
