// `weft generate-config`: a commented homeserver.yaml that works as written, and its signing key.
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { parseServerName } from "../core/identifiers/index.ts";
import { ConfigError } from "./config-error.ts";
import { parseConfigText } from "./load.ts";
import { loadOrCreateSigningKey } from "./signing-key.ts";

export interface GenerateConfigOptions {
  readonly serverName: string;
  /** Folder for the database, media and signing key; relative to cwd. */
  readonly dataDir: string;
  /** Where to write homeserver.yaml; relative to cwd. Must not exist yet. */
  readonly configPath: string;
}

/**
 * Writes homeserver.yaml (mode 0600: it holds the registration secret) and creates the signing
 * key. Refuses to overwrite an existing config file; an existing signing key is kept, since
 * replacing it would change the server's identity to every other server.
 */
export async function generateConfig(options: GenerateConfigOptions): Promise<void> {
  const serverName = parseServerName(options.serverName);
  if (serverName === undefined) throw new ConfigError("server_name", `is not a valid server name: ${JSON.stringify(options.serverName)}`);
  const configPath = resolve(options.configPath);
  const dataDir = resolve(options.dataDir);
  const text = renderConfig(serverName, dataDir, dirname(configPath));
  // The template must load cleanly; a failure here is our bug, caught before anything is written.
  const { config } = parseConfigText(text, configPath);

  await mkdir(dirname(configPath), { recursive: true });
  try {
    await writeFile(configPath, text, { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new ConfigError(undefined, `refusing to overwrite existing config file ${configPath}`);
    }
    throw new ConfigError(undefined, `cannot write config file ${configPath}: ${(err as Error).message}`, { cause: err });
  }
  await loadOrCreateSigningKey(config.signingKeyPath);
}

/** A path as written in the file: relative to the config's folder when inside it. */
function pathFrom(configDir: string, target: string): string {
  const rel = relative(configDir, target);
  if (rel === "") return ".";
  if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return target;
  return `./${rel.split(sep).join("/")}`;
}

function renderConfig(serverName: string, dataDir: string, configDir: string): string {
  const q = (s: string): string => JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar
  const data = (name: string): string => q(pathFrom(configDir, join(dataDir, name)));
  const keyFile = `${serverName.replace(/[^A-Za-z0-9.-]/g, "_")}.signing.key`;
  const secret = randomBytes(32).toString("base64url");
  return `# homeserver.yaml for Weft, written by \`weft generate-config\`.
#
# Keys follow Synapse's homeserver.yaml wherever Synapse has the same option, so Synapse's
# configuration manual applies to them. A key Weft does not know is logged and ignored.
# Relative paths are relative to the folder of this file.

# The domain in your users' IDs (@alice:${serverName}). It cannot change once the server has users.
server_name: ${q(serverName)}

# The URL clients reach this server on, e.g. that of your reverse proxy. Once set, it is also
# served at /.well-known/matrix/client. Unset, it is taken to be https://<server_name>/.
#public_baseurl: "https://matrix.example.org/"

listeners:
  # Plain HTTP on loopback, for a reverse proxy that terminates TLS in front of it.
  - port: 8008
    type: http
    tls: false
    x_forwarded: true
    bind_addresses: ["127.0.0.1"]
    resources:
      - names: [client, federation, media, keys]
        compress: false

database:
  name: sqlite3
  args:
    database: ${data("homeserver.db")}
# PostgreSQL instead (args.url: "postgresql://..." works too):
#database:
#  name: psycopg2
#  args:
#    user: weft
#    password: "change me"
#    dbname: weft
#    host: localhost
#    port: 5432
#    cp_max: 10

media_store_path: ${data("media_store")}
max_upload_size: 50M
# Media not downloaded for this long are deleted: other servers' media (fetched again when asked
# later), and this server's uploads. Unset: kept forever.
#media_retention:
#  remote_media_lifetime: 14d
#  local_media_lifetime: 1y

# The key this server signs events and requests with. Keep it, and keep it private: other
# servers know this server by it.
signing_key_path: ${data(keyFile)}

# Registration. Open registration needs registration_requires_token (users then need a
# registration token from an admin) or, knowingly, enable_registration_without_verification.
enable_registration: false
#registration_requires_token: true
# Or require a validated email address (needs the email section below).
#registrations_require_3pid: [email]

# Mail, for email addresses on accounts: the server mails the validation tokens itself.
#email:
#  smtp_host: mail.example.org
#  smtp_port: 587
#  smtp_user: matrix
#  smtp_pass: "change me"
#  require_transport_security: true
#  notif_from: "%(app)s <noreply@example.org>"
#  app_name: Matrix

# Single sign-on through OpenID Connect providers (Synapse's keys). Register
# <public_baseurl>_synapse/client/oidc/callback as the redirect URI at the provider.
#oidc_providers:
#  - idp_id: example
#    idp_name: "Example SSO"
#    issuer: "https://sso.example.org/"
#    client_id: matrix
#    client_secret: "change me"
#    scopes: [openid, profile, email]
#    user_mapping_provider:
#      config:
#        localpart_template: "{{ user.preferred_username }}"
#        display_name_template: "{{ user.name }}"
#        email_template: "{{ user.email }}"

# Lets \`weft register-user\` create accounts (admin ones too): keep it secret.
registration_shared_secret: ${q(secret)}

# Notaries to ask for other servers' signing keys. Empty: ask each server for its own keys.
trusted_key_servers: []

report_stats: false

# fatal, error, warn, info, debug, trace or silent.
log_level: info
`;
}
