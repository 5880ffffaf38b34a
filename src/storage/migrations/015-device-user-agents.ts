// The client a device was last seen with (its User-Agent), beside the address and time already
// kept: /admin/whois answers them together (admin.yaml ConnectionInfo).
import type { Migration } from "./migration.ts";

export const deviceUserAgents: Migration = {
  version: 15,
  name: "device-user-agents",
  async up(db) {
    await db.schema.alterTable("devices").addColumn("last_seen_user_agent", "text").execute();
  },
};
