// Helpers for the POST /search tests over real HTTP: the request, and reading its answer.
import assert from "node:assert/strict";
import type { TestHomeserver } from "../harness.ts";
import { call, enc, type Reply, type TestUser } from "../events/helpers.ts";

export type Json = Record<string, unknown>;

/** POST /search with a room_events category (and a next_batch). */
export async function search(hs: TestHomeserver, user: TestUser, roomEvents: Json, nextBatch?: string): Promise<Reply> {
  const query = nextBatch === undefined ? "" : `?next_batch=${enc(nextBatch)}`;
  return await call(hs, "POST", `/_matrix/client/v3/search${query}`, { token: user.accessToken, body: { search_categories: { room_events: roomEvents } } });
}

/** The room_events answer of a search that must succeed. */
export async function roomEvents(hs: TestHomeserver, user: TestUser, criteria: Json, nextBatch?: string): Promise<Json> {
  const reply = await search(hs, user, criteria, nextBatch);
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return (reply.body["search_categories"] as Json)["room_events"] as Json;
}

export function results(answer: Json): Json[] {
  return answer["results"] as Json[];
}

/** The event IDs of the results, in order. */
export function ids(answer: Json): string[] {
  return results(answer).map((r) => (r["result"] as Json)["event_id"] as string);
}

/** The event IDs a search finds, every page followed. */
export async function allIds(hs: TestHomeserver, user: TestUser, criteria: Json): Promise<string[]> {
  const found: string[] = [];
  let next: string | undefined;
  for (let pages = 0; pages < 50; pages++) {
    const answer = await roomEvents(hs, user, criteria, next);
    found.push(...ids(answer));
    next = answer["next_batch"] as string | undefined;
    if (next === undefined) return found;
  }
  assert.fail("more than 50 pages");
}

/** Registers `user` as ignoring `ignored` (m.ignored_user_list). */
export async function ignore(hs: TestHomeserver, user: TestUser, ignored: readonly string[]): Promise<void> {
  const body = { ignored_users: Object.fromEntries(ignored.map((id) => [id, {}])) };
  const reply = await call(hs, "PUT", `/_matrix/client/v3/user/${enc(user.userId)}/account_data/m.ignored_user_list`, { token: user.accessToken, body });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
}
