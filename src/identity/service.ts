// The identity service (identity-service-api), as its own process beside the homeserver: its
// keys, database and senders, its endpoints on the project's HTTP layer, and the queue of
// /3pid/onbind notifications.
import { readFile } from "node:fs/promises";
import type { FastifyBaseLogger } from "fastify";
import { MatrixError } from "../core/errors.ts";
import type { DnsResolver } from "../homeserver/federation/dns.ts";
import type { Endpoint } from "../http/endpoint.ts";
import { healthEndpoint } from "../http/health.ts";
import { startListeners, type BoundAddress } from "../http/listeners.ts";
import { SmtpMailer, type MailSender } from "../mail/mailer.ts";
import { openDatabase, type Database } from "../storage/database.ts";
import { accountEndpoints } from "./accounts.ts";
import { associationEndpoints } from "./associations.ts";
import type { IdentityServiceConfig } from "./config.ts";
import { createIdentityFederation, type IdentityFederation } from "./federation.ts";
import { generatePepper } from "./hashing.ts";
import { type AnyIdentityEndpoint, type IdentityAuthenticator, type IdentityEndpoint, toEndpoint, tokenHash } from "./http.ts";
import { OnbindDelivery, signEd25519Endpoint, storeInviteEndpoint } from "./invites.ts";
import { loadOrCreateIdentityKeys } from "./keys.ts";
import { identityServiceMigrations } from "./migrations/index.ts";
import { pubkeyEndpoints } from "./pubkey.ts";
import { TwilioSms, type SmsSender } from "./sms.ts";
import { IdentityStore } from "./store.ts";
import { Terms, termsEndpoints } from "./terms.ts";
import { emailValidationEndpoints, getValidated3pidEndpoint, msisdnValidationEndpoints, Validation } from "./validation.ts";

/**
 * versions.yaml: the spec versions whose identity service API this serves: the v2 API as r0.3.0
 * introduced it, through today's.
 */
/**
 * Expired sessions are kept a week past their expiry, so that a late client is told the session
 * expired rather than that there is none, then forgotten (looked for hourly).
 */
const EXPIRED_SESSIONS_KEPT_MS = 7 * 24 * 60 * 60 * 1000;
const SESSION_PRUNE_INTERVAL_MS = 60 * 60 * 1000;

const SPEC_VERSIONS = ["r0.3.0", ...Array.from({ length: 19 }, (_, i) => `v1.${i + 1}`)];

export interface IdentityServiceOptions {
  /** The clock (tests move it to expire sessions). */
  readonly now?: () => number;
  /** How homeserver names are looked up (tests answer for their own names). */
  readonly resolver?: DnsResolver;
  /** How often the onbind queue is looked at for retries that came due; a minute by default. */
  readonly onbindPollIntervalMs?: number;
  /** The wait before the first retry of a failed /3pid/onbind; 10 s by default. */
  readonly onbindFirstRetryMs?: number;
}

export interface RunningIdentityService {
  readonly addresses: readonly BoundAddress[];
  close(): Promise<void>;
}

function versionEndpoints(): AnyIdentityEndpoint[] {
  const versions: IdentityEndpoint<undefined> = {
    name: "versions",
    method: "GET",
    path: "/_matrix/identity/versions",
    auth: "none",
    handler: async () => ({ versions: SPEC_VERSIONS }),
  };
  // v2_ping.yaml: "this endpoint can be queried and will return an empty object".
  const status: IdentityEndpoint<undefined> = {
    name: "status",
    method: "GET",
    path: "/_matrix/identity/v2",
    auth: "none",
    handler: async () => ({}),
  };
  return [versions, status];
}

/** Starts the service: keys, database (migrated), senders, then the listener. */
export async function startIdentityService(config: IdentityServiceConfig, logger: FastifyBaseLogger, options: IdentityServiceOptions = {}): Promise<RunningIdentityService> {
  const now = options.now ?? Date.now;
  const keys = await loadOrCreateIdentityKeys(config.signingKeyPath);
  const signingKey = keys[0];
  if (signingKey === undefined) throw new Error("signing_key_path holds no key");
  const db: Database = await openDatabase(config.database, { migrations: identityServiceMigrations, logger: logger.child({ component: "storage" }) });
  const closers: Array<() => Promise<void> | void> = [() => db.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };
  try {
    const store = new IdentityStore(db);
    // Made once and kept: clients cache it, and every stored lookup hash is computed with it.
    const pepper = await store.settingOrCreate("lookup_pepper", generatePepper());
    const federation: IdentityFederation = await createIdentityFederation(config, keys, logger, options.resolver);
    closers.push(() => federation.close());
    const mailer: MailSender | undefined = config.email === undefined ? undefined : new SmtpMailer(config.email);
    if (mailer !== undefined) closers.push(() => mailer.close());
    else logger.warn("identity service: no email section: email validation and invitations are not served");
    const sms: SmsSender | undefined = config.sms === undefined ? undefined : new TwilioSms(config.sms);
    if (sms === undefined) logger.info("identity service: no sms section: phone number validation is not served");

    const terms = new Terms(config.policies, store);
    const validation = new Validation({ store, config, now });
    const onbind = new OnbindDelivery({
      store,
      client: federation.client,
      serverName: config.serverName,
      signingKey,
      logger,
      now,
      pollIntervalMs: options.onbindPollIntervalMs ?? 60_000,
      ...(options.onbindFirstRetryMs === undefined ? {} : { firstRetryMs: options.onbindFirstRetryMs }),
    });
    closers.push(() => onbind.close());
    const inviteDeps = { store, config, signingKey, now };
    const identityEndpoints: AnyIdentityEndpoint[] = [
      ...versionEndpoints(),
      ...accountEndpoints({ store, client: federation.client, now }),
      ...termsEndpoints(terms),
      ...associationEndpoints({ store, validation, serverName: config.serverName, signingKey, pepper, authenticator: federation.authenticator, onbind, now }),
      getValidated3pidEndpoint(validation),
      signEd25519Endpoint(inviteDeps),
      ...pubkeyEndpoints(keys, store),
      // Not served without a way to send the token: a 404 M_UNRECOGNIZED, the spec's answer for an
      // endpoint a server does not implement (identity-service-api#standard-error-response).
      ...(mailer === undefined ? [] : [...emailValidationEndpoints(validation, mailer, config), storeInviteEndpoint(inviteDeps, mailer)]),
      ...(sms === undefined ? [] : msisdnValidationEndpoints(validation, sms, config)),
    ];
    const authenticator: IdentityAuthenticator = {
      userOfToken: (token) => store.userOfToken(tokenHash(token)),
      hasAcceptedTerms: (userId) => terms.accepted(userId),
    };
    const endpoints: Endpoint[] = [...identityEndpoints.map((e) => toEndpoint(e, authenticator)), healthEndpoint];
    onbind.start();
    const pruner = setInterval(() => {
      store.deleteSessionsModifiedBefore(now() - config.validationSessionLifetimeMs - EXPIRED_SESSIONS_KEPT_MS).catch((err: unknown) => {
        logger.warn({ err }, "identity service: expired validation sessions could not be removed");
      });
    }, SESSION_PRUNE_INTERVAL_MS);
    pruner.unref();
    closers.push(() => clearInterval(pruner));
    const listeners = await startListeners(
      {
        endpoints,
        // Every endpoint reads the service's own tokens (http.ts); the layer's client tokens are never asked for.
        authenticateAccessToken: () => Promise.reject(new MatrixError("M_UNAUTHORIZED", "Unrecognised access token", 401)),
        rateLimiters: new Map(),
        logger,
        // Bodies are small; a lookup of many hashes is the largest (tens of thousands of 43-character hashes).
        maxRequestSize: 4 * 1024 * 1024,
        maxUploadSize: 0,
      },
      [
        {
          port: config.port,
          bindAddresses: config.bindAddresses,
          resources: new Set(["identity", "health"]),
          xForwarded: config.xForwarded,
          ...(config.tls === undefined ? {} : { tls: { cert: await readFile(config.tls.certificatePath), key: await readFile(config.tls.privateKeyPath) } }),
        },
      ],
    );
    return {
      addresses: listeners.addresses,
      close: async () => {
        await listeners.close();
        await closeAll();
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
