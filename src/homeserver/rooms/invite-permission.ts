// Invite permission (modules/invite_permission.md, v1.18): a user whose m.invite_permission_config
// account data has `default_action: block` refuses every invite. Inviting them answers 403
// M_INVITE_BLOCKED (POST /invite, /createRoom's invite list, PUT /state/m.room.member and the
// federation invite endpoints), and invites to them are not served over /sync while it holds.
import { MatrixError } from "../../core/errors.ts";
import type { AccountDataService } from "../account-data/account-data-service.ts";

export const INVITE_PERMISSION_CONFIG_TYPE = "m.invite_permission_config";

/** Whether a user of this server blocks invites; false for anyone else (they have no account data here). */
export type InvitesBlocked = (userId: string) => Promise<boolean>;

export function invitesBlockedReader(accountData: AccountDataService): InvitesBlocked {
  return async (userId) => {
    const content = await accountData.globalContent(userId, INVITE_PERMISSION_CONFIG_TYPE);
    return content?.["default_action"] === "block";
  };
}

export function inviteBlockedError(userId: string): MatrixError {
  return new MatrixError("M_INVITE_BLOCKED", `${userId} does not accept invites`, 403);
}
