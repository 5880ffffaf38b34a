// History visibility (modules/history_visibility.md "Server behaviour"): each of the four settings
// x users joined / invited / left / never a member / not signed in, at events before, during and
// after their membership changes; and the special rules for the user's own member events and
// history-visibility changes. On both engines.
import assert from "node:assert/strict";
import { before, it } from "node:test";
import type { HistoryVisibility } from "../../../src/homeserver/rooms/visibility.ts";
import type { MembershipIndex } from "../../../src/homeserver/rooms/membership-index.ts";
import type { Roomserver } from "../../../src/homeserver/roomserver/index.ts";
import { forEachEngine } from "../../storage/engines.ts";
import { local, startRoomserver } from "../roomserver/harness.ts";
import { indexOver, member, message, publicRoom, visibilityOver } from "./engine.ts";

type Setting = "world_readable" | "shared" | "invited" | "joined";
type Who = "joined" | "invited" | "left" | "never" | "anonymous";

// Which of the messages [before any membership change, while they are members/invited, after the leave] each sees.
const expected: Record<Setting, Record<Who, [boolean, boolean, boolean]>> = {
  world_readable: {
    joined: [true, true, true],
    invited: [true, true, true],
    left: [true, true, true],
    never: [true, true, true],
    anonymous: [true, true, true],
  },
  shared: {
    // Rule 3: joined at some point after the event.
    joined: [true, true, true],
    invited: [false, false, false],
    left: [true, true, false],
    never: [false, false, false],
    anonymous: [false, false, false],
  },
  invited: {
    joined: [false, true, true],
    invited: [false, true, true],
    left: [false, true, false],
    never: [false, false, false],
    anonymous: [false, false, false],
  },
  joined: {
    joined: [false, true, true],
    invited: [false, false, false],
    left: [false, true, false],
    never: [false, false, false],
    anonymous: [false, false, false],
  },
};

forEachEngine("HistoryVisibility", (getDb) => {
  let roomserver: Roomserver;
  let index: MembershipIndex;
  let visibility: HistoryVisibility;
  before(async () => {
    roomserver = startRoomserver(getDb()).roomserver;
    index = indexOver(getDb(), roomserver);
    await index.start();
    visibility = visibilityOver(roomserver, index);
  });

  for (const setting of Object.keys(expected) as Setting[]) {
    it(`applies "${setting}" with the membership at each event`, async () => {
      const tag = setting.replace("_", "");
      const users: Record<Exclude<Who, "anonymous">, string> = {
        joined: local(`joined-${tag}`),
        invited: local(`invited-${tag}`),
        left: local(`left-${tag}`),
        never: local(`never-${tag}`),
      };
      const alice = local(`alice-${tag}`);
      const { roomId } = await publicRoom(roomserver, alice, [{ type: "m.room.history_visibility", content: { history_visibility: setting } }]);
      const early = await message(roomserver, roomId, alice, "before");
      await member(roomserver, roomId, users.joined, users.joined, "join");
      await member(roomserver, roomId, alice, users.invited, "invite");
      await member(roomserver, roomId, users.left, users.left, "join");
      const during = await message(roomserver, roomId, alice, "during");
      const leave = await member(roomserver, roomId, users.left, users.left, "leave");
      const late = await message(roomserver, roomId, alice, "after");
      await index.waitUntil(late.position);

      const infos = await Promise.all([early, during, late].map(async (e) => (await roomserver.getEvent(e.eventId))!));
      for (const who of Object.keys(expected[setting]) as Who[]) {
        const userId = who === "anonymous" ? undefined : users[who];
        const seen = new Set((await visibility.filterEventsForUser(userId, infos)).map((e) => e.event.eventId));
        const got = [early, during, late].map((e) => seen.has(e.eventId));
        assert.deepEqual(got, expected[setting][who], `${setting}, ${who}`);
        for (const [i, e] of [early, during, late].entries()) {
          assert.equal(await visibility.canSeeEvent(userId, e.eventId), expected[setting][who][i], `canSeeEvent ${setting}, ${who}, ${i}`);
        }
      }
      // The user's own leave is visible to them whatever the setting (their membership before it was join).
      assert.equal(await visibility.canSeeEvent(users.left, leave.eventId), true);
      assert.equal(await visibility.canSeeEvent(users.never, leave.eventId), setting === "world_readable");
    });
  }

  it("shows a history-visibility change to anyone the setting before or after it allows", async () => {
    const alice = local("alice-hv");
    const { roomId } = await publicRoom(roomserver, alice, [{ type: "m.room.history_visibility", content: { history_visibility: "world_readable" } }]);
    const closing = await roomserver.createLocalEvent({ roomId, type: "m.room.history_visibility", stateKey: "", sender: alice, content: { history_visibility: "joined" } });
    const hidden = await message(roomserver, roomId, alice, "members only");
    const opening = await roomserver.createLocalEvent({ roomId, type: "m.room.history_visibility", stateKey: "", sender: alice, content: { history_visibility: "world_readable" } });
    const outsider = local("outsider-hv");
    assert.equal(await visibility.canSeeEvent(outsider, closing.eventId), true);
    assert.equal(await visibility.canSeeEvent(outsider, hidden.eventId), false);
    assert.equal(await visibility.canSeeEvent(outsider, opening.eventId), true);
    assert.equal(await visibility.canSeeEvent(undefined, opening.eventId), true);
    assert.equal(await visibility.canSeeEvent(alice, hidden.eventId), true);
  });

  it("treats a missing or unknown setting as shared, and refuses unknown events", async () => {
    const alice = local("alice-default");
    const bob = local("bob-default");
    const { roomId } = await publicRoom(roomserver, alice, [{ type: "m.room.history_visibility", content: { history_visibility: "sometimes" } }]);
    const early = await message(roomserver, roomId, alice, "before bob");
    assert.equal(await visibility.canSeeEvent(bob, early.eventId), false);
    const joined = await member(roomserver, roomId, bob, bob, "join");
    await index.waitUntil(joined.position);
    assert.equal(await visibility.canSeeEvent(bob, early.eventId), true);
    assert.equal(await visibility.canSeeEvent(bob, "$unknown"), false);
  });
});
