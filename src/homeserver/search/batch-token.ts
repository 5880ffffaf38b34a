// The `next_batch` tokens of a search (modules/search.md "Pagination"): where the page ended in the
// order of the search, and for a token given inside a group, that group ("using a token inside a
// group will return more results from within that group"). Opaque to clients: unpadded base64url
// of a small JSON object.
import { MatrixError } from "../../core/errors.ts";
import { isJsonObject } from "../../core/json.ts";
import type { SearchCursor, SearchOrder } from "../../storage/stores/search.ts";
import type { GroupKey } from "./criteria.ts";

export interface SearchBatch {
  readonly order: SearchOrder;
  readonly after: SearchCursor;
  /** A group's token: more results of that group only. */
  readonly group?: { readonly key: GroupKey; readonly value: string };
}

export function encodeBatch(batch: SearchBatch): string {
  const json = {
    o: batch.order,
    s: batch.after.streamOrdering,
    ...(batch.after.rank === undefined ? {} : { r: batch.after.rank }),
    ...(batch.group === undefined ? {} : { g: batch.group.key, k: batch.group.value }),
  };
  return Buffer.from(JSON.stringify(json), "utf8").toString("base64url");
}

/** Reads a `next_batch`; M_INVALID_PARAM (400) for anything this server did not hand out. */
export function decodeBatch(token: string): SearchBatch {
  let json: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error("not base64url");
    json = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (!isJsonObject(json)) throw invalid();
  const { o: order, s: stream, r: rank, g: key, k: value } = json;
  if (order !== "rank" && order !== "recent") throw invalid();
  if (typeof stream !== "number" || !Number.isSafeInteger(stream)) throw invalid();
  if (rank !== undefined && (typeof rank !== "number" || !Number.isFinite(rank))) throw invalid();
  if (order === "rank" && rank === undefined) throw invalid();
  const after: SearchCursor = rank === undefined ? { streamOrdering: stream } : { streamOrdering: stream, rank };
  if (key === undefined && value === undefined) return { order, after };
  if ((key !== "room_id" && key !== "sender") || typeof value !== "string") throw invalid();
  return { order, after, group: { key, value } };
}

function invalid(): MatrixError {
  return new MatrixError("M_INVALID_PARAM", "Unknown next_batch token", 400);
}
