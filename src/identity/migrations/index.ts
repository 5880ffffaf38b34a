// The identity service's own schema steps, applied by storage/database.ts's runner to the
// service's own database (never the homeserver's): versions 1, 2, 3... with no gaps.
import type { Migration } from "../../storage/migrations/migration.ts";
import { identityService } from "./001-identity-service.ts";

export const identityServiceMigrations: readonly Migration[] = [identityService];
