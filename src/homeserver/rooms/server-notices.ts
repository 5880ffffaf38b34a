// Server notices (modules/server_notices.md): messages from the server to a user, in a room of
// their own with the server's system user, tagged `m.server_notice`. The room is made with the first
// notice, the user invited to it ("Servers should invite the target user rather than automatically
// join them"; joined with `auto_join`, or when they block invites, whose client would never show
// one), and invited again when they left it. What Synapse's admin API `send_server_notice` sends
// goes through here.
import type { ServerNoticesConfig } from "../../config/types.ts";
import { MatrixError } from "../../core/errors.ts";
import { KeyedSerial } from "../../core/keyed-serial.ts";
import { userId as buildUserId } from "../../core/identifiers/index.ts";
import type { JsonObject } from "../../core/json.ts";
import { actingAs, type Requester } from "../../http/endpoint.ts";
import type { ServerNoticeRoomStore } from "../../storage/stores/server-notice-rooms.ts";
import type { RoomCreationService } from "./room-creation.ts";
import type { MembershipService } from "./membership-service.ts";

/** modules/server_notices.md: "Servers must identify this room to clients with the `m.server_notice` tag." */
export const SERVER_NOTICE_TAG = "m.server_notice";

export interface ServerNoticesDeps {
  readonly config: ServerNoticesConfig;
  readonly serverName: string;
  readonly store: ServerNoticeRoomStore;
  readonly creation: Pick<RoomCreationService, "createRoom">;
  readonly membership: Pick<MembershipService, "invite" | "join" | "checkInvitable">;
  /** The user's membership in the room as its current state says, undefined for none. */
  membershipOf(roomId: string, userId: string): Promise<string | undefined>;
  /** Whether the account exists (and may be written to). */
  accountOf(userId: string): Promise<{ deactivated: boolean } | undefined>;
  /** Makes the system user's account, with no password (nobody logs in as it). */
  registerSystemUser(localpart: string, displayname: string | undefined): Promise<void>;
  /** The user's profile fields (`displayname`, `avatar_url`) as set. */
  profileOf(userId: string): Promise<JsonObject>;
  setProfileField(requester: Requester, key: "displayname" | "avatar_url", value: string): Promise<void>;
  sendMessage(requester: Requester, roomId: string, type: string, txnId: string, content: JsonObject): Promise<string>;
  sendState(requester: Requester, roomId: string, type: string, stateKey: string, content: JsonObject): Promise<string>;
  /** Adds a tag to the user's tags of the room (room account data `m.tag`, written by the server). */
  addTag(userId: string, roomId: string, tag: string): Promise<void>;
}

export class ServerNotices {
  readonly #deps: ServerNoticesDeps;
  readonly #system: Requester;
  /** One notice at a time per user: two at once would make two rooms. */
  readonly #perUser = new KeyedSerial();
  #systemUserReady: Promise<void> | undefined;
  #sent = 0;

  constructor(deps: ServerNoticesDeps) {
    this.#deps = deps;
    this.#system = actingAs(buildUserId(deps.config.systemMxidLocalpart, deps.serverName));
  }

  /**
   * Sends a notice to a user of ours: an event of `type` (a state event with `stateKey`) from the
   * system user in the user's server notices room. Answers the event ID.
   */
  async send(userId: string, type: string, content: JsonObject, stateKey?: string): Promise<string> {
    const account = await this.#deps.accountOf(userId);
    if (account === undefined) throw new MatrixError("M_NOT_FOUND", "User not found", 404);
    if (account.deactivated) throw new MatrixError("M_INVALID_PARAM", "The user is deactivated", 400);
    if (userId === this.#system.userId) throw new MatrixError("M_INVALID_PARAM", "The system user does not get notices", 400);
    return await this.#perUser.run(userId, () => this.#send(userId, type, content, stateKey));
  }

  async #send(userId: string, type: string, content: JsonObject, stateKey: string | undefined): Promise<string> {
    await this.#systemUser();
    const roomId = await this.#roomFor(userId);
    if (stateKey !== undefined) return await this.#deps.sendState(this.#system, roomId, type, stateKey, content);
    return await this.#deps.sendMessage(this.#system, roomId, type, `server-notice-${Date.now()}-${++this.#sent}`, content);
  }

  /** The system user's account, made once, with the configured profile. */
  #systemUser(): Promise<void> {
    this.#systemUserReady ??= this.#makeSystemUser().catch((err: unknown) => {
      this.#systemUserReady = undefined;
      throw err;
    });
    return this.#systemUserReady;
  }

  async #makeSystemUser(): Promise<void> {
    const { config } = this.#deps;
    if ((await this.#deps.accountOf(this.#system.userId)) === undefined) {
      await this.#deps.registerSystemUser(config.systemMxidLocalpart, config.systemMxidDisplayName);
    }
    // Set only when the configuration changed it: a change goes out to every notices room.
    const profile = await this.#deps.profileOf(this.#system.userId);
    for (const [key, value] of [["displayname", config.systemMxidDisplayName], ["avatar_url", config.systemMxidAvatarUrl]] as const) {
      if (value !== undefined && profile[key] !== value) await this.#deps.setProfileField(this.#system, key, value);
    }
  }

  /** The user's room, made or the user invited (or joined) again when they are no longer in it. */
  async #roomFor(userId: string): Promise<string> {
    const deps = this.#deps;
    let roomId = await deps.store.roomOf(userId);
    // A room the system user is no longer in (left by hand, or its membership lost) is replaced.
    if (roomId !== undefined && (await deps.membershipOf(roomId, this.#system.userId)) !== "join") roomId = undefined;
    if (roomId === undefined) {
      roomId = await this.#createRoom(userId);
      return roomId;
    }
    const membership = await deps.membershipOf(roomId, userId);
    const joins = await this.#joinsDirectly(userId);
    if (membership === "join" || (membership === "invite" && !joins)) return roomId;
    if (membership === "ban") throw new MatrixError("M_FORBIDDEN", "The user is banned from their server notices room", 403);
    if (membership !== "invite") await deps.membership.invite(this.#system, roomId, userId, { fromServer: true });
    if (joins) await deps.membership.join(actingAs(userId), roomId);
    return roomId;
  }

  async #createRoom(userId: string): Promise<string> {
    const { config } = this.#deps;
    const initialState = config.roomAvatarUrl === undefined ? [] : [{ type: "m.room.avatar", state_key: "", content: { url: config.roomAvatarUrl } }];
    const { roomId } = await this.#deps.creation.createRoom(this.#system, {
      preset: "private_chat",
      name: config.roomName,
      ...(config.roomTopic === undefined ? {} : { topic: config.roomTopic }),
      initial_state: initialState,
      // The notices go one way: the user's messages would reach nobody (Synapse's setting too).
      power_level_content_override: { users_default: -10 },
    });
    await this.#deps.store.set(userId, roomId);
    await this.#deps.addTag(userId, roomId, SERVER_NOTICE_TAG);
    await this.#deps.membership.invite(this.#system, roomId, userId, { fromServer: true });
    if (await this.#joinsDirectly(userId)) await this.#deps.membership.join(actingAs(userId), roomId);
    return roomId;
  }

  /**
   * Whether the user is joined to their room rather than invited: with `auto_join`, or when they
   * block invites (modules/invite_permission.md), since their client would never show the invite.
   */
  async #joinsDirectly(userId: string): Promise<boolean> {
    if (this.#deps.config.autoJoin) return true;
    try {
      await this.#deps.membership.checkInvitable(userId);
      return false;
    } catch (err) {
      if (err instanceof MatrixError && err.errcode === "M_INVITE_BLOCKED") return true;
      throw err;
    }
  }
}
