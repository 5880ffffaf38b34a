// Accounts, sessions, devices, profiles, account data and filters (issue 4), built from the config:
// a part of the composition root that services.ts calls, so that every service of this area and the
// way they depend on each other is written down in one place. Nothing here looks services up.
//
//   PasswordAuthenticator, RegistrationTokenService  <-  UserInteractiveAuth  <-  DeviceService
//   DeviceService  <-  UserService  <-  RegistrationService, LoginService
//   UserService, DeviceService, ProfileService, AccountDataService  <-  AccountService
import type { Logger } from "pino";
import type { HomeserverConfig } from "../config/index.ts";
import { actingAs, type AnyEndpoint } from "../http/endpoint.ts";
import type { RateLimiter } from "../http/rate-limit.ts";
import type { Database } from "../storage/database.ts";
import { AccountDataStore } from "../storage/stores/account-data.ts";
import { DeviceStore } from "../storage/stores/devices.ts";
import { FilterStore } from "../storage/stores/filters.ts";
import { LoginTokenStore } from "../storage/stores/login-tokens.ts";
import { ProfileStore } from "../storage/stores/profiles.ts";
import { RegistrationTokenStore } from "../storage/stores/registration-tokens.ts";
import { SessionStore } from "../storage/stores/sessions.ts";
import { UserStore } from "../storage/stores/users.ts";
import { AccountDataService } from "./account-data/account-data-service.ts";
import { registrationTokenAdminEndpoints } from "./api/admin/registration-tokens.ts";
import { accountDataEndpoints } from "./api/client/account-data.ts";
import { pushRulesEndpoints } from "./api/client/push-rules.ts";
import { PushRulesService } from "./push/push-rules-service.ts";
import { accountEndpoints } from "./api/client/account.ts";
import { capabilitiesEndpoint } from "./api/client/capabilities.ts";
import { deviceEndpoints } from "./api/client/devices.ts";
import { filterEndpoints } from "./api/client/filters.ts";
import { loginEndpoints } from "./api/client/login.ts";
import { profileEndpoints } from "./api/client/profile.ts";
import { registrationEndpoints } from "./api/client/register.ts";
import { DeviceService } from "./devices/device-service.ts";
import { FilterService } from "./filters/filter-service.ts";
import { ProfileService } from "./profile/profile-service.ts";
import { AccountService } from "./users/account-service.ts";
import { LoginService } from "./users/login-service.ts";
import { PasswordAuthenticator } from "./users/password-auth.ts";
import { RegistrationTokenService } from "./users/registration-tokens.ts";
import { RegistrationService } from "./users/registration.ts";
import { UserInteractiveAuth, type UiaFlow } from "./users/uia.ts";
import { dummyStage, emailIdentityStage, PASSWORD_STAGE, passwordStage, registrationTokenStage, SSO_STAGE, ssoStage } from "./users/uia-stages.ts";
import { UserService } from "./users/user-service.ts";
import { AccountRestrictions } from "./users/account-restrictions.ts";
import { AccountRestrictionStore } from "../storage/stores/account-restrictions.ts";
import { CrossSigningStore } from "../storage/stores/cross-signing.ts";
import { accountRestrictionEndpoints } from "./api/admin/account-restrictions.ts";
import { whoisEndpoint } from "./api/admin/whois.ts";
import { threepidEndpoints } from "./api/client/account-threepids.ts";
import { SmtpMailer } from "../mail/mailer.ts";
import { ThreepidStore } from "../storage/stores/threepids.ts";
import { ThreepidRules } from "./users/threepid-rules.ts";
import { ThreepidService, type IdentityServers } from "./users/threepid-service.ts";
import { ThreepidValidation } from "./users/threepid-validation.ts";
import { ExternalIdStore } from "../storage/stores/external-ids.ts";
import { ssoEndpoints } from "./api/client/sso.ts";
import { SsoService } from "./users/sso/sso-service.ts";
import { MatrixError } from "../core/errors.ts";

export interface AccountServices {
  readonly users: UserService;
  /** Which accounts SSO providers' users are. */
  readonly externalIds: ExternalIdStore;
  readonly devices: DeviceService;
  readonly uia: UserInteractiveAuth;
  readonly registration: RegistrationService;
  readonly registrationTokens: RegistrationTokenService;
  readonly login: LoginService;
  /** Accounts a server admin locked (client-server-api#account-locking). */
  readonly locks: AccountRestrictions;
  readonly suspensions: AccountRestrictions;
  readonly accounts: AccountService;
  /** Its onChange hook is where profile changes become membership events. */
  readonly profiles: ProfileService;
  readonly accountData: AccountDataService;
  readonly pushRules: PushRulesService;
  readonly filters: FilterService;
  /** The accounts' 3PIDs and their bindings at identity servers. */
  readonly threepids: ThreepidService;
  readonly endpoints: readonly AnyEndpoint[];
  /** Writes what is buffered (devices' last-seen); call before closing the database. */
  close(): Promise<void>;
}

export async function createAccountServices(options: {
  config: HomeserverConfig;
  db: Database;
  logger: Logger;
  rateLimiters: ReadonlyMap<string, RateLimiter>;
  /** How 3PIDs are bound at and unbound from identity servers. */
  identityServers?: IdentityServers;
}): Promise<AccountServices> {
  const { config, db, logger, rateLimiters } = options;
  const log = logger.child({ component: "accounts" });
  const onError = (what: string) => (err: unknown) => log.error({ err }, what);

  const userStore = new UserStore(db);
  const threepidStore = new ThreepidStore(db);
  const threepidRules = new ThreepidRules(config.allowedLocal3pids);
  const mailer = config.email === undefined ? undefined : new SmtpMailer(config.email);
  const validation = new ThreepidValidation({
    store: threepidStore,
    rules: threepidRules,
    email: config.email,
    mailer,
    publicBaseurl: config.publicBaseurl,
    ownerOf: (medium, address) => threepidStore.userOf(medium, address),
  });
  const registrationTokens = new RegistrationTokenService(new RegistrationTokenStore(db));
  // UIA sessions live in memory: none survives a restart, so neither does a pending token use.
  await registrationTokens.clearPending();
  const passwords = new PasswordAuthenticator(userStore, config.serverName, {
    account: rateLimiters.get("rc_login_account"),
    failedAttempts: rateLimiters.get("rc_login_failed_attempts"),
    userIdForEmail: (address) => threepidStore.userOf("email", address),
  });
  const uia = new UserInteractiveAuth([dummyStage, passwordStage(passwords), registrationTokenStage(registrationTokens), emailIdentityStage(validation), ssoStage], {
    onAbandoned: (session) => {
      if (session.registrationToken !== undefined) {
        registrationTokens.release(session.registrationToken).catch(onError("releasing a registration token"));
      }
    },
  });
  const devices = new DeviceService(new DeviceStore(db), new SessionStore(db), uia, {
    onError: (err, what) => log.error({ err }, what),
  });
  const users = new UserService(config.serverName, userStore, devices);
  const threepids = new ThreepidService({
    store: threepidStore,
    validation,
    rules: threepidRules,
    identityServers: options.identityServers,
    uia,
    changesEnabled: config.enable3pidChanges,
  });
  const registration = new RegistrationService(config.serverName, config, users, uia, registrationTokens, {
    canValidateEmail: validation.canValidateEmail,
    emailRequired: config.registrationsRequire3pid.includes("email"),
    checkAvailable: (medium, address) => threepids.checkAvailable(medium, address),
    addValidated: (userId, medium, address, validatedAt) => threepids.addValidated(userId, medium, address, validatedAt),
    consume: (sid) => validation.consume(sid),
  });
  const restrictions = (kind: "lock" | "suspension"): AccountRestrictions =>
    new AccountRestrictions({ store: new AccountRestrictionStore(db, kind), kind, serverName: config.serverName, getUser: (userId) => users.getUser(userId), now: Date.now });
  const [locks, suspensions] = [restrictions("lock"), restrictions("suspension")];
  await Promise.all([locks.load(), suspensions.load()]);
  const crossSigningKeys = new CrossSigningStore(db);
  const login = new LoginService(
    passwords,
    users,
    devices,
    new LoginTokenStore(db),
    uia,
    (userId) => locks.isRestricted(userId),
    async (userId, deviceId) => (await crossSigningKeys.keysOf([userId])).some((k) => k.publicKey === deviceId),
  );
  const externalIds = new ExternalIdStore(db);
  const sso = new SsoService({
    config: config.sso,
    publicBaseurl: config.publicBaseurl,
    externalIds,
    uia,
    onError: (err, what) => log.warn({ err }, what),
    accounts: {
      serverName: config.serverName,
      checkAvailable: (localpart) => registration.checkAvailableForAdmin(localpart),
      register: async (localpart, displayname) => (await users.register({ localpart, password: undefined, displayname, inhibitLogin: true })).userId,
      exists: (userId) => users.isUserIdTaken(userId),
      isDeactivated: async (userId) => (await users.getUser(userId))?.deactivated === true,
      addEmail: async (userId, address) => {
        try {
          await threepids.addValidated(userId, "email", address, Date.now());
        } catch (err) {
          // Another account has it, or the server does not allow it: the account is made without it.
          if (!(err instanceof MatrixError)) throw err;
        }
      },
      issueLoginToken: (userId) => login.issueLoginToken(userId),
      setDisplayname: async (userId, displayname) => {
        if ((await profiles.getProfile(userId))["displayname"] !== displayname) await profiles.setField(actingAs(userId), userId, "displayname", { displayname });
      },
    },
  });
  if (sso.enabled) {
    login.useSso(sso.identityProviders());
    // modules/sso_login.md: an account made by SSO has no password, and proves itself through its provider.
    uia.useReauthenticationFlows(async (userId) => {
      const flows: UiaFlow[] = [];
      if ((await users.getUser(userId))?.passwordHash != null) flows.push({ stages: [PASSWORD_STAGE] });
      if ((await externalIds.forUser(userId)).length > 0) flows.push({ stages: [SSO_STAGE] });
      return flows.length > 0 ? flows : [{ stages: [PASSWORD_STAGE] }];
    });
  }
  const profiles = new ProfileService(config.serverName, new ProfileStore(db), { onError: onError("a profile-change listener") });
  const accountData = new AccountDataService(new AccountDataStore(db), { onError: onError("an account-data listener") });
  const pushRules = new PushRulesService(accountData);
  const filters = new FilterService(new FilterStore(db));
  const accounts = new AccountService(users, devices, profiles, accountData, uia, { onError: onError("a deactivation listener"), threepids, validation });

  const endpoints: AnyEndpoint[] = [
    ...registrationEndpoints(registration, config.serverName),
    ...loginEndpoints(login, devices, config.serverName),
    ...(sso.enabled ? ssoEndpoints(sso) : []),
    ...accountEndpoints(accounts),
    ...threepidEndpoints(threepids, validation, { registrationEnabled: config.enableRegistration }),
    ...deviceEndpoints(devices),
    ...profileEndpoints(profiles),
    ...accountDataEndpoints(accountData),
    ...pushRulesEndpoints(pushRules),
    ...filterEndpoints(filters),
    capabilitiesEndpoint({ defaultRoomVersion: config.defaultRoomVersion, threepidChanges: config.enable3pidChanges, isAdmin: (userId) => users.isAdmin(userId) }),
    ...registrationTokenAdminEndpoints(registrationTokens, (userId) => users.isAdmin(userId)),
    ...accountRestrictionEndpoints("lock", locks, (userId) => users.isAdmin(userId)),
    ...accountRestrictionEndpoints("suspension", suspensions, (userId) => users.isAdmin(userId)),
    whoisEndpoint(users, devices, config.serverName),
  ];

  return {
    users,
    externalIds,
    devices,
    uia,
    registration,
    registrationTokens,
    login,
    locks,
    suspensions,
    accounts,
    profiles,
    accountData,
    pushRules,
    filters,
    threepids,
    endpoints,
    close: async () => {
      mailer?.close();
      await devices.close();
    },
  };
}
