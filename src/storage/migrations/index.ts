// Every migration, in order. A new one goes at the end, with the next version number.
import type { Migration } from "./migration.ts";
import { accounts } from "./001-accounts.ts";
import { accountsSessions } from "./002-accounts-sessions.ts";
import { rooms } from "./003-rooms.ts";
import { serverKeys } from "./004-server-keys.ts";
import { roomsMembership } from "./005-rooms-membership.ts";
import { eventsRelations } from "./006-events-relations.ts";
import { receiptsPresence } from "./007-receipts-presence.ts";
import { e2ee } from "./008-e2ee.ts";
import { federation } from "./009-federation.ts";
import { e2eeFederation } from "./010-e2ee-federation.ts";
import { openidTokens } from "./011-openid-tokens.ts";
import { fewerEventPages } from "./012-fewer-event-pages.ts";
import { accountLocks } from "./013-account-locks.ts";
import { accountSuspensions } from "./014-account-suspensions.ts";
import { deviceUserAgents } from "./015-device-user-agents.ts";
import { media } from "./016-media.ts";
import { reports } from "./017-reports.ts";
import { remoteMedia } from "./018-remote-media.ts";
import { search } from "./019-search.ts";
import { pushers } from "./020-pushers.ts";
import { appservices } from "./021-appservices.ts";
import { appserviceRoomDirectory } from "./022-appservice-room-directory.ts";
import { mediaLastAccess } from "./023-media-last-access.ts";
import { userDirectory } from "./024-user-directory.ts";
import { adminRedactions } from "./025-admin-redactions.ts";

export const migrations: readonly Migration[] = [accounts, accountsSessions, rooms, serverKeys, roomsMembership, eventsRelations, receiptsPresence, e2ee, federation, e2eeFederation, openidTokens, fewerEventPages, accountLocks, accountSuspensions, deviceUserAgents, media, reports, remoteMedia, search, pushers, appservices, appserviceRoomDirectory, mediaLastAccess, userDirectory, adminRedactions];
