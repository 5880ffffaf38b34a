// `server_notices`, Synapse's section and keys: enabled by `system_mxid_localpart`.
import { isValidLocalpart } from "../core/identifiers/index.ts";
import type { Section } from "./section.ts";
import type { ServerNoticesConfig } from "./types.ts";

export function readServerNotices(root: Section): ServerNoticesConfig | undefined {
  const s = root.section("server_notices");
  if (s === undefined) return undefined;
  const localpart = s.string("system_mxid_localpart");
  const config: ServerNoticesConfig | undefined =
    localpart === undefined
      ? undefined
      : {
          systemMxidLocalpart: isValidLocalpart(localpart) ? localpart : s.fail("system_mxid_localpart", `is not a valid user localpart: ${JSON.stringify(localpart)}`),
          systemMxidDisplayName: s.string("system_mxid_display_name"),
          systemMxidAvatarUrl: mxc(s, "system_mxid_avatar_url"),
          roomName: s.string("room_name") ?? "Server Notices",
          roomAvatarUrl: mxc(s, "room_avatar_url"),
          roomTopic: s.string("room_topic"),
          autoJoin: s.boolean("auto_join", false),
        };
  if (config === undefined && s.keys().length > 0) s.ctx.warnings.push("server_notices: without system_mxid_localpart no server notices are sent");
  for (const key of ["system_mxid_display_name", "system_mxid_avatar_url", "room_name", "room_avatar_url", "room_topic", "auto_join"]) s.value(key);
  s.finish();
  return config;
}

function mxc(s: Section, key: string): string | undefined {
  const url = s.string(key);
  if (url !== undefined && !url.startsWith("mxc://")) s.fail(key, `must be an mxc:// URL, got ${JSON.stringify(url)}`);
  return url;
}
