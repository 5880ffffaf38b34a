// Invites of our users to rooms this server is not in (server-server-api#inviting-to-a-room):
// the invite event as we signed it and the room state the inviting server described the room
// with. The latest invite of a user to a room replaces an earlier one; joining, rejecting or a
// later membership removes it. A knock of our user on such a room (server-server-api#knocking-upon-a-room)
// is kept here the same way, with the knock_room_state of send_knock: one pending membership per
// user and room, which the resident's invite replaces.
import type { JsonObject } from "../../core/json.ts";
import type { Database } from "../database.ts";

export interface ReceivedInvite {
  readonly roomId: string;
  readonly userId: string;
  readonly eventId: string;
  readonly roomVersion: string;
  /** The server that sent the invite: a resident of the room, to join or reject through. */
  readonly origin: string;
  readonly event: JsonObject;
  readonly inviteRoomState: readonly JsonObject[];
  readonly receivedTs: number;
}

function toInvite(row: {
  room_id: string;
  user_id: string;
  event_id: string;
  room_version: string;
  origin: string;
  event_json: string;
  invite_room_state: string;
  received_ts: number;
}): ReceivedInvite {
  return {
    roomId: row.room_id,
    userId: row.user_id,
    eventId: row.event_id,
    roomVersion: row.room_version,
    origin: row.origin,
    event: JSON.parse(row.event_json) as JsonObject,
    inviteRoomState: JSON.parse(row.invite_room_state) as JsonObject[],
    receivedTs: row.received_ts,
  };
}

export class FederationInviteStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async put(invite: ReceivedInvite): Promise<void> {
    const row = {
      room_id: invite.roomId,
      user_id: invite.userId,
      event_id: invite.eventId,
      room_version: invite.roomVersion,
      origin: invite.origin,
      event_json: JSON.stringify(invite.event),
      invite_room_state: JSON.stringify(invite.inviteRoomState),
      received_ts: invite.receivedTs,
    };
    await this.#db.write("store_federation_invite", (trx) =>
      trx
        .insertInto("federation_invites")
        .values(row)
        .onConflict((oc) => oc.columns(["room_id", "user_id"]).doUpdateSet({ ...row }))
        .execute(),
    );
  }

  async get(roomId: string, userId: string): Promise<ReceivedInvite | undefined> {
    const row = await this.#db.read("get_federation_invite", (trx) =>
      trx.selectFrom("federation_invites").selectAll().where("room_id", "=", roomId).where("user_id", "=", userId).executeTakeFirst(),
    );
    return row === undefined ? undefined : toInvite(row);
  }

  /** A user's pending invites, oldest first. */
  async forUser(userId: string): Promise<ReceivedInvite[]> {
    const rows = await this.#db.read("get_federation_invites_for_user", (trx) =>
      trx.selectFrom("federation_invites").selectAll().where("user_id", "=", userId).orderBy("received_ts").execute(),
    );
    return rows.map(toInvite);
  }

  async remove(roomId: string, userId: string): Promise<void> {
    await this.#db.write("remove_federation_invite", (trx) =>
      trx.deleteFrom("federation_invites").where("room_id", "=", roomId).where("user_id", "=", userId).execute(),
    );
  }
}
