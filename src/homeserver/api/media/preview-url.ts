// GET /_matrix/client/v1/media/preview_url (authed-content-repo.yaml) and the deprecated
// GET /_matrix/media/v3/preview_url (content-repo.yaml): the same answer on both. Served only
// when `url_preview_enabled` is on; otherwise not at all (404 M_UNRECOGNIZED), as Synapse does.
import { MatrixError } from "../../../core/errors.ts";
import type { AnyEndpoint, Endpoint } from "../../../http/endpoint.ts";
import type { UrlPreviewer } from "../../media/url-preview/url-previewer.ts";
import { nonGuestRequesterOf, queryParam } from "../client/requester.ts";

export function previewUrlEndpoints(previewer: UrlPreviewer): AnyEndpoint[] {
  const preview = (name: string, paths: string[]): Endpoint => ({
    name,
    method: "GET",
    paths,
    resource: "media",
    // Both need an access token (accessTokenQuery / accessTokenBearer); as Synapse, not a guest's.
    auth: "accessToken",
    handler: async (req) => {
      const requester = nonGuestRequesterOf(req);
      // authed-content-repo.yaml preview_url: `url` is required.
      const url = queryParam(req, "url");
      if (url === undefined || url === "") throw new MatrixError("M_MISSING_PARAM", "Missing string query parameter: url", 400);
      // `ts` is an int64 if given; the server may answer a newer preview, and this one always does.
      const ts = queryParam(req, "ts");
      if (ts !== undefined && !/^\d{1,19}$/.test(ts)) throw new MatrixError("M_INVALID_PARAM", "ts must be a non-negative integer", 400);
      return await previewer.preview(url, requester.userId);
    },
  });
  return [
    preview("media.preview_url", ["/_matrix/client/v1/media/preview_url"]),
    preview("media.preview_url_v3", ["/_matrix/media/v3/preview_url", "/_matrix/media/r0/preview_url"]),
  ];
}
