// Matrix content (mxc://) URIs (client-server-api#matrix-content-mxc-uris): `mxc://<server-name>/<media-id>`.
import { parseServerName } from "./server-name.ts";

/** content-repo-security-considerations: a media ID is only `A-Za-z0-9`, `_` and `-`. */
const MEDIA_ID = /^[A-Za-z0-9_-]{1,255}$/;

/** Whether a media ID is well formed (client-server-api#matrix-content-mxc-uris). */
export function isValidMediaId(mediaId: string): boolean {
  return MEDIA_ID.test(mediaId);
}

/** The server name and media ID of an mxc:// URI; undefined for anything else. */
export function parseMxcUri(uri: string): { serverName: string; mediaId: string } | undefined {
  if (!uri.startsWith("mxc://")) return undefined;
  const rest = uri.slice("mxc://".length);
  const slash = rest.indexOf("/");
  if (slash < 0) return undefined;
  const serverName = rest.slice(0, slash);
  const mediaId = rest.slice(slash + 1);
  return parseServerName(serverName) !== undefined && isValidMediaId(mediaId) ? { serverName, mediaId } : undefined;
}
