// identity-service-api#invitation-storage (v2_store_invite.yaml) and #ephemeral-invitation-signing
// (v2_invitation_signing.yaml): invitations to an email address held until the address is bound,
// then handed to the user's homeserver with /3pid/onbind (server-server-api#third-party-invites),
// tried again later while it cannot be reached.
import { randomBytes } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import { decodeBase64, encodeUnpaddedBase64 } from "../core/crypto/base64.ts";
import { generateSigningKey, signingKeyFromSeed, type SigningKey } from "../core/crypto/ed25519.ts";
import { signJson } from "../core/crypto/signing.ts";
import { MatrixError } from "../core/errors.ts";
import { parseUserId } from "../core/identifiers/index.ts";
import { serverNameOf } from "../core/identifiers/server-name-of.ts";
import type { JsonObject } from "../core/json.ts";
import { FederationRequestError, type FederationClient } from "../homeserver/federation/client.ts";
import type { MailSender } from "../mail/mailer.ts";
import type { IdentityServiceConfig } from "./config.ts";
import { type AnyIdentityEndpoint, type IdentityEndpoint, identityPath, invalidParam, missingParams, queryParam } from "./http.ts";
import { invitationMail } from "./messages.ts";
import type { IdentityStore, InviteRow } from "./store.ts";
import { parseEmailAddress } from "../core/identifiers/threepid.ts";
import { redactedEmail } from "./threepid.ts";

const ONBIND_PATH = "/_matrix/federation/v1/3pid/onbind";
/** The first retry after a failed delivery; each next one waits twice as long, up to an hour. */
const FIRST_RETRY_MS = 10_000;
const LONGEST_RETRY_MS = 60 * 60 * 1000;
/** About two days of hourly tries after the first hours: then the homeserver is given up on. */
const MAX_ATTEMPTS = 60;
const BATCH = 20;

export interface OnbindDeliveryOptions {
  readonly store: IdentityStore;
  readonly client: Pick<FederationClient, "request">;
  readonly serverName: string;
  readonly signingKey: SigningKey;
  readonly logger: FastifyBaseLogger;
  readonly now: () => number;
  /** How often the queue is looked at for retries that came due. */
  readonly pollIntervalMs: number;
  /** The wait before the first retry, doubled at each next one (up to an hour); 10 s by default. */
  readonly firstRetryMs?: number;
}

/** The queue of /3pid/onbind notifications: delivered at once when possible, else later. */
export class OnbindDelivery {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(private readonly options: OnbindDeliveryOptions) {}

  start(): void {
    this.#timer = setInterval(() => this.kick(), this.options.pollIntervalMs);
    this.#timer.unref();
    this.kick();
  }

  /**
   * The body of the notification for the invitations of a newly bound address
   * (third_party_invite.yaml /3pid/onbind), each `signed` by the service's long-term key.
   */
  notification(mxid: string, medium: string, address: string, invites: readonly InviteRow[]): { destination: string; body: string } | undefined {
    const destination = serverNameOf(mxid);
    if (destination === undefined) return undefined;
    const { serverName, signingKey } = this.options;
    const body = {
      medium,
      address,
      mxid,
      invites: invites.map((invite) => ({
        medium,
        address,
        mxid,
        room_id: invite.room_id,
        sender: invite.sender,
        signed: signJson({ mxid, token: invite.token }, serverName, signingKey),
      })),
    };
    return { destination, body: JSON.stringify(body) };
  }

  /** Looks at the queue now (after a bind), or once the run under way ends. */
  kick(): void {
    if (this.#closed) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.kick();
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#running;
  }

  async #run(): Promise<void> {
    try {
      for (;;) {
        const due = await this.options.store.dueOnbinds(this.options.now(), BATCH);
        for (const item of due) {
          if (this.#closed) return;
          await this.#deliver(item);
        }
        if (due.length < BATCH || this.#closed) return;
      }
    } catch (err) {
      this.options.logger.error({ err }, "identity service: the onbind queue could not be read");
    }
  }

  async #deliver(item: { id: number; destination: string; body: string; attempts: number }): Promise<void> {
    const { store, logger } = this.options;
    const body = JSON.parse(item.body) as JsonObject;
    try {
      await this.#send(item.destination, body);
      await store.deleteOnbind(item.id);
      logger.info({ destination: item.destination }, "identity service: invitations delivered with /3pid/onbind");
      return;
    } catch (err) {
      const attempts = item.attempts + 1;
      if (!isPassing(err) || attempts >= MAX_ATTEMPTS) {
        logger.warn({ err, destination: item.destination, attempts }, "identity service: /3pid/onbind refused or given up on");
        await store.deleteOnbind(item.id);
        return;
      }
      const delay = Math.min(LONGEST_RETRY_MS, (this.options.firstRetryMs ?? FIRST_RETRY_MS) * 2 ** Math.min(item.attempts, 20));
      logger.info({ err, destination: item.destination, attempts }, "identity service: /3pid/onbind failed for now; tried again later");
      await store.rescheduleOnbind(item.id, attempts, this.options.now() + delay);
    }
  }

  /**
   * The spec's method is PUT (server-server-api third_party_invite.yaml); homeservers that predate
   * it served POST only, so a PUT the path does not take is sent again as POST.
   */
  async #send(destination: string, body: JsonObject): Promise<void> {
    try {
      await this.options.client.request("PUT", destination, ONBIND_PATH, body, { timeoutMs: 30_000 });
    } catch (err) {
      if (!(err instanceof FederationRequestError && err.reason === "http" && (err.status === 404 || err.status === 405))) throw err;
      await this.options.client.request("POST", destination, ONBIND_PATH, body, { timeoutMs: 30_000 });
    }
  }
}

/** Whether a failed delivery may succeed later: the homeserver unreachable, failing or busy, not refusing. */
function isPassing(err: unknown): boolean {
  if (!(err instanceof FederationRequestError)) return false;
  if (err.reason !== "http") return err.reason !== "bad-destination" && err.reason !== "blocked";
  return err.status === undefined || err.status >= 500 || err.status === 429 || err.status === 408;
}

interface StoreInviteBody {
  medium: string;
  address: string;
  room_id: string;
  sender: string;
  room_alias?: string;
  room_avatar_url?: string;
  room_join_rules?: string;
  room_name?: string;
  sender_display_name?: string;
  sender_avatar_url?: string;
  room_type?: string;
}

interface SignBody {
  mxid?: string;
  token?: string;
  private_key?: string;
}

export interface InviteDeps {
  readonly store: IdentityStore;
  readonly config: IdentityServiceConfig;
  readonly signingKey: SigningKey;
  readonly now: () => number;
}

/** POST /store-invite; only served with an `email` section, since an invitation is mailed. */
export function storeInviteEndpoint(deps: InviteDeps, mailer: MailSender): AnyIdentityEndpoint {
  const { config } = deps;
  const optional = { type: "string" };
  const endpoint: IdentityEndpoint<StoreInviteBody> = {
    name: "store_invite",
    method: "POST",
    path: "/store-invite",
    auth: "required",
    schema: {
      type: "object",
      properties: {
        medium: { type: "string" },
        address: { type: "string" },
        room_id: { type: "string", pattern: "^!" },
        sender: { type: "string", pattern: "^@" },
        room_alias: { type: "string", pattern: "^#" },
        room_avatar_url: { type: "string", pattern: "^mxc://" },
        room_join_rules: optional,
        room_name: optional,
        sender_display_name: optional,
        sender_avatar_url: { type: "string", pattern: "^mxc://" },
        room_type: optional,
      },
      required: ["medium", "address", "room_id", "sender"],
    },
    handler: async (request) => {
      const { body } = request;
      // v2_store_invite.yaml: "If the medium is unsupported, the error code will be M_UNRECOGNIZED."
      if (body.medium !== "email") throw new MatrixError("M_UNRECOGNIZED", "Invitations may only be stored for the email medium", 400);
      const address = parseEmailAddress(body.address);
      if (address === undefined) throw new MatrixError("M_INVALID_EMAIL", "The email address is not valid", 400);
      if (parseUserId(body.sender) === undefined) throw invalidParam("sender is not a Matrix user ID");
      const bound = await deps.store.association("email", address);
      if (bound !== undefined) throw new MatrixError("M_THREEPID_IN_USE", "Binding already known", 400, { mxid: bound.mxid });

      // "Must be a string consisting of the characters [0-9a-zA-Z.=_-]": URL-safe base64 is.
      const token = randomBytes(24).toString("base64url");
      const ephemeral = generateSigningKey("0");
      await deps.store.addInvite({
        token,
        medium: "email",
        address,
        room_id: body.room_id,
        sender: body.sender,
        ephemeral_public_key: ephemeral.publicKeyBase64,
        created_ts: deps.now(),
        queued_ts: null,
      });
      const link = invitationLink(config, { ...body, address }, token, encodeUnpaddedBase64(ephemeral.seed));
      try {
        await mailer.send(
          invitationMail({
            to: address,
            appName: config.email?.appName ?? config.serverName,
            roomId: body.room_id,
            sender: body.sender,
            roomName: body.room_name,
            roomAlias: body.room_alias,
            roomType: body.room_type,
            senderDisplayName: body.sender_display_name,
            link,
          }),
        );
      } catch (err) {
        request.log.warn({ err }, "identity service: an invitation mail could not be sent");
        await deps.store.deleteInvite(token);
        throw new MatrixError("M_EMAIL_SEND_ERROR", "The invitation email could not be sent", 400);
      }
      return {
        token,
        public_keys: [
          { public_key: deps.signingKey.publicKeyBase64, key_validity_url: `${config.publicBaseurl}${identityPath("/pubkey/isvalid")}` },
          { public_key: ephemeral.publicKeyBase64, key_validity_url: `${config.publicBaseurl}${identityPath("/pubkey/ephemeral/isvalid")}` },
        ],
        display_name: redactedEmail(address),
      };
    },
  };
  return endpoint;
}

/**
 * The web client's page of the room, with what it shows before joining and `signurl`: where the
 * invitee's client has the invitation signed with the ephemeral key, which only this mail carries.
 */
function invitationLink(config: IdentityServiceConfig, body: StoreInviteBody & { address: string }, token: string, privateKey: string): string {
  const signurl = `${config.publicBaseurl}${identityPath("/sign-ed25519")}?${new URLSearchParams({ token, private_key: privateKey }).toString()}`;
  const params = new URLSearchParams({ email: body.address, signurl });
  if (body.room_name !== undefined) params.set("room_name", body.room_name);
  if (body.room_avatar_url !== undefined) params.set("room_avatar_url", body.room_avatar_url);
  params.set("inviter_name", body.sender_display_name ?? body.sender);
  if (body.room_type !== undefined) params.set("room_type", body.room_type);
  return `${config.webClientLocation}/#/room/${encodeURIComponent(body.room_alias ?? body.room_id)}?${params.toString()}`;
}

/** POST /sign-ed25519: the invitation's {mxid, sender, token} signed with its ephemeral key. */
export function signEd25519Endpoint(deps: InviteDeps): AnyIdentityEndpoint {
  const endpoint: IdentityEndpoint<SignBody> = {
    name: "sign_ed25519",
    method: "POST",
    path: "/sign-ed25519",
    auth: "required",
    schema: { type: "object", properties: { mxid: { type: "string" }, token: { type: "string" }, private_key: { type: "string" } } },
    handler: async (request) => {
      // The mail's `signurl` carries the token and key in its query; the body's win.
      const token = request.body.token ?? queryParam(request, "token");
      const privateKey = request.body.private_key ?? queryParam(request, "private_key");
      const { mxid } = request.body;
      if (mxid === undefined || token === undefined || privateKey === undefined) throw missingParams("mxid, token and private_key are required");
      if (parseUserId(mxid) === undefined) throw invalidParam("mxid is not a Matrix user ID");
      const invite = await deps.store.inviteByToken(token);
      if (invite === undefined) throw new MatrixError("M_UNRECOGNIZED", "Didn't recognize token", 404);
      const seed = decodeBase64(privateKey);
      if (seed?.length !== 32) throw invalidParam("private_key is not an unpadded base64 ed25519 key");
      const key = signingKeyFromSeed(seed, "0");
      // Only the invitation's own key signs for it: anything else would be this service vouching for a stranger's key.
      if (key.publicKeyBase64 !== invite.ephemeral_public_key) throw invalidParam("private_key is not this invitation's key");
      return signJson({ mxid, sender: invite.sender, token }, deps.config.serverName, key);
    },
  };
  return endpoint;
}
