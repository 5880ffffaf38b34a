// Every migration, in order. A new one goes at the end, with the next version number.
import type { Migration } from "./migration.ts";
import { accounts } from "./001-accounts.ts";

export const migrations: readonly Migration[] = [accounts];
