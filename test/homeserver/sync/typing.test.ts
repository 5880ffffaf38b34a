import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Notifier } from "../../../src/homeserver/sync/notifier.ts";
import { ZERO_POSITIONS } from "../../../src/homeserver/sync/token.ts";
import { MAX_TYPING_TIMEOUT_MS, TypingService } from "../../../src/homeserver/sync/typing.ts";
import { FakeClock } from "./fake-clock.ts";

function setup(): { clock: FakeClock; notifier: Notifier; typing: TypingService } {
  const clock = new FakeClock();
  const notifier = new Notifier({ clock });
  return { clock, notifier, typing: new TypingService({ notifier, clock }) };
}

describe("TypingService", () => {
  it("lists typing users and bumps the stream on each change", () => {
    const { typing } = setup();
    typing.setTyping("!r:x", "@a:x", true, 30_000);
    typing.setTyping("!r:x", "@b:x", true, 30_000);
    assert.deepEqual(typing.typingUsers("!r:x"), ["@a:x", "@b:x"]);
    assert.deepEqual(typing.typingEvent("!r:x"), { type: "m.typing", content: { user_ids: ["@a:x", "@b:x"] } });
    assert.equal(typing.position, 2);
    typing.setTyping("!r:x", "@a:x", false);
    assert.deepEqual(typing.typingUsers("!r:x"), ["@b:x"]);
    assert.equal(typing.position, 3);
    assert.equal(typing.roomSerial("!r:x"), 3);
    assert.equal(typing.roomSerial("!other:x"), 0);
  });

  it("sends nothing for a renewal or for stopping when not typing", () => {
    const { typing } = setup();
    typing.setTyping("!r:x", "@a:x", true);
    typing.setTyping("!r:x", "@a:x", true);
    typing.setTyping("!r:x", "@b:x", false);
    assert.equal(typing.position, 1);
  });

  it("expires on the timer, a renewal moving the deadline", () => {
    const { clock, typing } = setup();
    typing.setTyping("!r:x", "@a:x", true, 30_000);
    clock.advance(20_000);
    typing.setTyping("!r:x", "@a:x", true, 30_000);
    clock.advance(29_999);
    assert.deepEqual(typing.typingUsers("!r:x"), ["@a:x"]);
    clock.advance(1);
    assert.deepEqual(typing.typingUsers("!r:x"), []);
    assert.equal(typing.position, 2);
    assert.equal(clock.pending, 0);
  });

  it("caps the timeout and defaults it", () => {
    const { clock, typing } = setup();
    typing.setTyping("!r:x", "@a:x", true, 24 * 3600_000);
    typing.setTyping("!r:x", "@b:x", true);
    clock.advance(30_000);
    assert.deepEqual(typing.typingUsers("!r:x"), ["@a:x"]);
    clock.advance(MAX_TYPING_TIMEOUT_MS - 30_000);
    assert.deepEqual(typing.typingUsers("!r:x"), []);
  });

  it("reports the rooms changed since a position with their current lists", () => {
    const { clock, typing } = setup();
    typing.setTyping("!a:x", "@a:x", true, 1000);
    const since = typing.position;
    typing.setTyping("!b:x", "@b:x", true, 5000);
    clock.advance(1000); // !a:x empties: its clients must hear the empty list
    assert.deepEqual(typing.changesSince(since), {
      position: 3,
      changes: [
        { roomId: "!b:x", userIds: ["@b:x"] },
        { roomId: "!a:x", userIds: [] },
      ],
    });
    assert.deepEqual(typing.changesSince(3), { position: 3, changes: [] });
    assert.deepEqual(typing.changesSince(0).changes.map((c) => c.roomId), ["!b:x", "!a:x"]);
  });

  it("wakes the room's sync waiters with the new position", async () => {
    const { notifier, typing } = setup();
    const elsewhere = notifier.waitForChanges("@c:x", ["!other:x"], ZERO_POSITIONS, 0);
    const waiting = notifier.waitForChanges("@c:x", ["!r:x"], ZERO_POSITIONS, 30_000);
    typing.setTyping("!r:x", "@a:x", true);
    assert.equal(await waiting, "changed");
    assert.equal(await elsewhere, "timeout");
    assert.equal(notifier.currentPositions().typing, typing.position);
  });

  it("close cancels every timer", () => {
    const { clock, typing } = setup();
    typing.setTyping("!r:x", "@a:x", true);
    typing.setTyping("!s:x", "@a:x", true);
    typing.close();
    assert.equal(clock.pending, 0);
  });

  it("agrees with a model of deadlines, and bumps once per visible change", () => {
    const users = ["@a:x", "@b:x"];
    const rooms = ["!r:x", "!s:x"];
    const op = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), room: fc.constantFrom(...rooms), user: fc.constantFrom(...users), typing: fc.boolean(), timeout: fc.nat(200_000) }),
      fc.record({ kind: fc.constant("advance" as const), ms: fc.nat(60_000) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const { clock, typing } = setup();
        const deadlines = new Map<string, number>(); // room|user -> when typing ends
        const listOf = (room: string): string[] => users.filter((u) => deadlines.has(`${room}|${u}`)).sort();
        let changes = 0;
        const expire = (): void => {
          for (const [key, due] of deadlines) {
            if (due > clock.now()) continue;
            deadlines.delete(key);
            changes++;
          }
        };
        for (const o of ops) {
          if (o.kind === "advance") {
            clock.advance(o.ms);
            expire();
          } else {
            const key = `${o.room}|${o.user}`;
            const was = deadlines.has(key);
            if (o.typing) deadlines.set(key, clock.now() + Math.min(o.timeout, MAX_TYPING_TIMEOUT_MS));
            else deadlines.delete(key);
            if (was !== o.typing) changes++;
            typing.setTyping(o.room, o.user, o.typing, o.timeout);
            // A zero timeout is due at once, but only ends when its timer runs.
          }
          for (const room of rooms) assert.deepEqual([...typing.typingUsers(room)].sort(), listOf(room));
          assert.equal(typing.position, changes);
        }
      }),
      { numRuns: 500 },
    );
  });
});
