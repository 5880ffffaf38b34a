// modules/room_upgrades.md "Server behaviour": "When a user joins the new room, the server should
// automatically transfer/replicate some of the user's personalized settings such as notifications,
// tags, etc." Transferred here: the user's room push rule for the old room (the rule whose rule_id
// is the room ID, modules/push.md) and the old room's m.tag account data, each only when the new
// room has none of its own, so that a second join changes nothing.
import type { JsonObject } from "../../core/json.ts";
import type { Ruleset } from "../../core/push/ruleset.ts";

/** What the transfer reads and writes of the user's account (PushRulesService, AccountDataService). */
export interface UserSettings {
  pushRules(userId: string): Promise<Ruleset>;
  changePushRules(userId: string, change: (ruleset: Ruleset) => Ruleset): Promise<void>;
  roomAccountData(userId: string, roomId: string, type: string): Promise<JsonObject | undefined>;
  putRoomAccountData(userId: string, roomId: string, type: string, content: JsonObject): Promise<void>;
}

/** Copies a user's settings for a room to the room that replaces it. */
export type SettingsTransfer = (userId: string, fromRoomId: string, toRoomId: string) => Promise<void>;

const TAG_TYPE = "m.tag";

export function settingsTransfer(settings: UserSettings): SettingsTransfer {
  return async (userId, from, to) => {
    const copied = (ruleset: Ruleset): Ruleset | undefined => {
      const old = ruleset.room.find((r) => r.rule_id === from);
      if (old === undefined || ruleset.room.some((r) => r.rule_id === to)) return undefined;
      return { ...ruleset, room: [...ruleset.room, { ...old, rule_id: to }] };
    };
    // Read first: a write of m.push_rules reaches the user's clients through /sync.
    if (copied(await settings.pushRules(userId)) !== undefined) await settings.changePushRules(userId, (ruleset) => copied(ruleset) ?? ruleset);
    const tags = await settings.roomAccountData(userId, from, TAG_TYPE);
    if (tags !== undefined && (await settings.roomAccountData(userId, to, TAG_TYPE)) === undefined) {
      await settings.putRoomAccountData(userId, to, TAG_TYPE, tags);
    }
  };
}
