// Typing, receipts and presence crossing federation (server-server-api#typing-notifications,
// #receipts, #presence): the sync area's services joined to the federation sender and to the EDU
// dispatcher, each spec area in its own file. services.ts calls this once both areas exist.
import type { Logger } from "pino";
import { stateMapKey } from "../../core/events/room-event.ts";
import type { RoomserverOutput } from "../roomserver/index.ts";
import type { EduHandler } from "./edus.ts";
import { PresenceEdus } from "./presence-edus.ts";
import { ReceiptEdus } from "./receipt-edus.ts";
import type { Edu } from "./sender.ts";
import { TypingEdus } from "./typing-edus.ts";
import type { PresenceService } from "../sync/presence.ts";
import type { ReceiptService } from "../sync/receipts.ts";
import type { TypingService } from "../sync/typing.ts";

export interface EphemeralEduDeps {
  readonly serverName: string;
  readonly logger: Logger;
  readonly typing: TypingService;
  readonly receipts: ReceiptService;
  /** Not connected when disabled (`presence.enabled: false`): nothing is sent or taken. */
  readonly presence: PresenceService;
  readonly federation: {
    enqueueEdu(destination: string, edu: Edu): void;
    onEdu(eduType: string, handler: EduHandler): () => void;
    serversInRoom(roomId: string): Promise<readonly string[]>;
    /** Who is in each room: a user's membership in its current state. */
    readonly rooms: { membership(roomId: string, userId: string): Promise<string | undefined> };
  };
  /** The rooms a user (of any server) is joined to. */
  readonly roomsOfUser: (userId: string) => Promise<readonly string[]>;
  /** The users joined to a room. */
  readonly joinedMembers: (roomId: string) => Promise<readonly string[]>;
  /** The room engine's outputs: joins that became current state (presence for the room's new servers). */
  readonly roomOutputs: { subscribe(listener: (output: RoomserverOutput) => void): () => void };
}

export interface EphemeralEdus {
  readonly typing: TypingEdus;
  readonly receipts: ReceiptEdus;
  readonly presence: PresenceEdus | undefined;
  /** Settles once every change seen so far is queued for sending (tests). */
  settled(): Promise<void>;
  close(): void;
}

export function connectEphemeralEdus(deps: EphemeralEduDeps): EphemeralEdus {
  const { serverName, federation } = deps;
  const log = deps.logger.child({ component: "ephemeral-edus" });
  const onError = (err: unknown): void => log.warn({ err }, "federation: could not send an EDU");
  const enqueueEdu = (destination: string, edu: Edu): void => federation.enqueueEdu(destination, edu);
  const serversInRoom = (roomId: string): Promise<readonly string[]> => federation.serversInRoom(roomId);

  const typing = new TypingEdus({ serverName, typing: deps.typing, serversInRoom, enqueueEdu, onError });
  const receipts = new ReceiptEdus({
    serverName,
    receipts: deps.receipts,
    serversInRoom,
    membership: (roomId, userId) => federation.rooms.membership(roomId, userId),
    enqueueEdu,
    onError,
  });
  const presence = deps.presence.enabled
    ? new PresenceEdus({
        serverName,
        presence: deps.presence,
        roomsOfUser: deps.roomsOfUser,
        serversInRoom,
        joinedMembers: deps.joinedMembers,
        enqueueEdu,
        onError,
      })
    : undefined;
  const unregister = [federation.onEdu("m.typing", typing.handler), federation.onEdu("m.receipt", receipts.handler)];
  if (presence !== undefined) {
    unregister.push(federation.onEdu("m.presence", presence.handler));
    unregister.push(
      deps.roomOutputs.subscribe((output) => {
        if (output.kind !== "new_room_event" || output.event.type !== "m.room.member" || output.event.stateKey === undefined) return;
        // A join that is the room's current state now (not one a state resolution left aside).
        if (output.event.content["membership"] !== "join" || output.stateDelta.get(stateMapKey("m.room.member", output.event.stateKey)) !== output.event.eventId) return;
        presence.memberJoined(output.roomId, output.event.stateKey);
      }),
    );
  }

  return {
    typing,
    receipts,
    presence,
    settled: async () => {
      await Promise.all([typing.settled(), receipts.settled(), presence?.settled()]);
    },
    close: () => {
      for (const stop of unregister) stop();
      typing.close();
      receipts.close();
      presence?.close();
    },
  };
}
