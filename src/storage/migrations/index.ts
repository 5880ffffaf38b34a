// Every migration, in order. A new one goes at the end, with the next version number.
import type { Migration } from "./migration.ts";
import { accounts } from "./001-accounts.ts";
import { accountsSessions } from "./002-accounts-sessions.ts";
import { rooms } from "./003-rooms.ts";
import { serverKeys } from "./004-server-keys.ts";

export const migrations: readonly Migration[] = [accounts, accountsSessions, rooms, serverKeys];
