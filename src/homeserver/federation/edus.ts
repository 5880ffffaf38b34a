// EDUs received in transactions (server-server-api#edus), handed to the services that registered
// for their type (typing, receipts, presence, device lists, to-device...). First, what the origin
// may not speak for is dropped: the room ACL on the EDUs local to a room
// (server-server-api#server-access-control-lists-acls: an m.typing for a room the origin is
// denied is ignored, and so are an m.receipt's receipts for such rooms), and anything about users
// of other servers than the origin (server-server-api#typing-notifications: "a user belonging to
// the sending server"; receipts, presence and device lists are of "users of the sending homeserver").
import { serverNameOf } from "../../core/identifiers/index.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";

/** Handles the content of one EDU from `origin`; its failure is logged, never the transaction's. */
export type EduHandler = (origin: string, content: JsonObject) => void | Promise<void>;

export interface EduAcl {
  isAllowed(roomId: string, serverName: string): Promise<boolean>;
  /** A user's membership in the room's current state. */
  membership(roomId: string, userId: string): Promise<string | undefined>;
}

interface Log {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export class EduDispatcher {
  readonly #handlers = new Map<string, EduHandler[]>();
  readonly #acl: EduAcl;
  readonly #logger: Log | undefined;

  constructor(acl: EduAcl, logger?: Log) {
    this.#acl = acl;
    this.#logger = logger;
  }

  /** Registers a handler for an EDU type. Returns the unregister. */
  onEdu(eduType: string, handler: EduHandler): () => void {
    const list = this.#handlers.get(eduType) ?? [];
    list.push(handler);
    this.#handlers.set(eduType, list);
    return () => {
      const current = this.#handlers.get(eduType) ?? [];
      this.#handlers.set(
        eduType,
        current.filter((h) => h !== handler),
      );
    };
  }

  /** Dispatches a transaction's EDUs, in order. Never throws. */
  async dispatch(origin: string, edus: readonly unknown[]): Promise<void> {
    for (const edu of edus) {
      if (!isJsonObject(edu) || typeof edu["edu_type"] !== "string" || !isJsonObject(edu["content"])) {
        this.#logger?.debug({ origin }, "federation: ignored a malformed EDU");
        continue;
      }
      const eduType = edu["edu_type"];
      const handlers = this.#handlers.get(eduType);
      if (handlers === undefined || handlers.length === 0) continue;
      let content: JsonObject | undefined;
      try {
        content = await this.#filter(origin, eduType, edu["content"]);
      } catch (err) {
        this.#logger?.warn({ err, origin, eduType }, "federation: could not check an EDU against the room ACL");
        continue;
      }
      if (content === undefined) continue;
      for (const handler of handlers) {
        try {
          await handler(origin, content);
        } catch (err) {
          this.#logger?.warn({ err, origin, eduType }, "federation: an EDU handler failed");
        }
      }
    }
  }

  /** The EDU's content the ACLs and the origin's authority let through, or undefined when nothing is left. */
  async #filter(origin: string, eduType: string, content: JsonObject): Promise<JsonObject | undefined> {
    const ofOrigin = (userId: unknown): boolean => typeof userId === "string" && serverNameOf(userId) === origin;
    switch (eduType) {
      case "m.typing": {
        const roomId = content["room_id"];
        if (typeof roomId !== "string" || !ofOrigin(content["user_id"])) return undefined;
        if (!(await this.#acl.isAllowed(roomId, origin))) return undefined;
        // "Receiving servers should verify that the user is in the room".
        return (await this.#acl.membership(roomId, content["user_id"] as string)) === "join" ? content : undefined;
      }
      case "m.receipt": {
        const kept: JsonObject = {};
        for (const [roomId, receipts] of Object.entries(content)) {
          if (!isJsonObject(receipts) || !(await this.#acl.isAllowed(roomId, origin))) continue;
          const byType: JsonObject = {};
          for (const [receiptType, byUser] of Object.entries(receipts)) {
            if (!isJsonObject(byUser)) continue;
            const users = Object.fromEntries(Object.entries(byUser).filter(([userId]) => ofOrigin(userId)));
            if (Object.keys(users).length > 0) byType[receiptType] = users;
          }
          if (Object.keys(byType).length > 0) kept[roomId] = byType;
        }
        return Object.keys(kept).length === 0 ? undefined : kept;
      }
      case "m.presence": {
        const push = Array.isArray(content["push"]) ? content["push"].filter((p) => isJsonObject(p) && ofOrigin(p["user_id"])) : [];
        return push.length === 0 ? undefined : { ...content, push };
      }
      case "m.device_list_update":
      case "m.signing_key_update":
        return ofOrigin(content["user_id"]) ? content : undefined;
      case "m.direct_to_device":
        return ofOrigin(content["sender"]) ? content : undefined;
      default:
        return content;
    }
  }
}
