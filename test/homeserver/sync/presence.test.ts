import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Notifier } from "../../../src/homeserver/sync/notifier.ts";
import {
  IDLE_TIMEOUT_MS,
  LAST_ACTIVE_GRANULARITY_MS,
  PresenceService,
  SYNC_ONLINE_TIMEOUT_MS,
  type PresenceOptions,
  type PresenceRecord,
} from "../../../src/homeserver/sync/presence.ts";
import { ZERO_POSITIONS } from "../../../src/homeserver/sync/token.ts";
import { FakeClock } from "./fake-clock.ts";

function setup(options: Partial<PresenceOptions> = {}): { clock: FakeClock; notifier: Notifier; presence: PresenceService; saved: PresenceRecord[] } {
  const clock = new FakeClock();
  const notifier = new Notifier({ clock });
  const saved: PresenceRecord[] = [];
  const presence = new PresenceService({ enabled: true, notifier, clock, persistence: { save: (r) => saved.push(r) }, ...options });
  return { clock, notifier, presence, saved };
}

const A = "@alice:x";

describe("PresenceService", () => {
  it("answers offline for a user it knows nothing of", () => {
    const { presence } = setup();
    assert.deepEqual(presence.getPresence(A), { presence: "offline" });
    assert.equal(presence.position, 0);
  });

  it("sets presence and status message (PUT /presence/{userId}/status)", () => {
    const { clock, presence } = setup();
    presence.setPresence(A, "online", "I am here.");
    assert.deepEqual(presence.getPresence(A), { presence: "online", last_active_ago: 0, status_msg: "I am here.", currently_active: true });
    assert.equal(presence.position, 1);
    clock.advance(10_000);
    presence.setPresence(A, "unavailable"); // undefined keeps the message
    assert.deepEqual(presence.getPresence(A), { presence: "unavailable", last_active_ago: 10_000, status_msg: "I am here." });
    presence.setPresence(A, "unavailable", null); // null clears it
    assert.deepEqual(presence.getPresence(A), { presence: "unavailable", last_active_ago: 10_000 });
    assert.equal(presence.position, 3);
    assert.deepEqual(presence.presenceEvent(A), { type: "m.presence", sender: A, content: { presence: "unavailable", last_active_ago: 10_000 } });
  });

  it("stops sending last active updates while currently_active, and says when it ends", () => {
    const { clock, presence } = setup();
    const end = presence.syncStarted(A);
    assert.equal(presence.position, 1);
    clock.advance(30_000);
    presence.userActive(A); // within the granularity: no update sent, the time is still fresh
    assert.equal(presence.position, 1);
    assert.deepEqual(presence.getPresence(A), { presence: "online", last_active_ago: 0, currently_active: true });
    clock.advance(LAST_ACTIVE_GRANULARITY_MS);
    assert.equal(presence.position, 2);
    assert.deepEqual(presence.getPresence(A), { presence: "online", last_active_ago: LAST_ACTIVE_GRANULARITY_MS, currently_active: false });
    presence.userActive(A);
    assert.equal(presence.position, 3);
    assert.equal(presence.getPresence(A).currently_active, true);
    end();
  });

  it("goes unavailable after the idle timeout, and back online on activity", () => {
    const { clock, presence } = setup();
    const end = presence.syncStarted(A);
    clock.advance(IDLE_TIMEOUT_MS - 1);
    assert.equal(presence.getPresence(A).presence, "online");
    clock.advance(1);
    assert.deepEqual(presence.getPresence(A), { presence: "unavailable", last_active_ago: IDLE_TIMEOUT_MS });
    // Syncing is not activity: a new sync leaves an idle user idle.
    presence.syncStarted(A)();
    assert.equal(presence.getPresence(A).presence, "unavailable");
    presence.userActive(A);
    assert.deepEqual(presence.getPresence(A), { presence: "online", last_active_ago: 0, currently_active: true });
    end();
  });

  it("goes offline when no sync has been in flight for the sync timeout", () => {
    const { clock, presence } = setup();
    const end = presence.syncStarted(A);
    clock.advance(10 * 60_000); // a sync held open: still connected (idle, though)
    assert.equal(presence.getPresence(A).presence, "unavailable");
    end();
    clock.advance(SYNC_ONLINE_TIMEOUT_MS - 1);
    assert.equal(presence.getPresence(A).presence, "unavailable");
    const again = presence.syncStarted(A); // the next long-poll arrives in time
    again();
    clock.advance(SYNC_ONLINE_TIMEOUT_MS);
    assert.equal(presence.getPresence(A).presence, "offline");
    assert.equal(clock.pending, 0); // nothing left to time out
  });

  it("follows set_presence on /sync", () => {
    const { clock, presence } = setup();
    presence.syncStarted(A, "offline")();
    assert.equal(presence.getPresence(A).presence, "offline");
    assert.equal(presence.position, 0);
    presence.syncStarted(A, "unavailable")();
    assert.equal(presence.getPresence(A).presence, "unavailable");
    presence.syncStarted(A, "online")(); // not offline: no change, syncing is not activity
    assert.equal(presence.getPresence(A).presence, "unavailable");
    clock.advance(SYNC_ONLINE_TIMEOUT_MS);
    assert.equal(presence.getPresence(A).presence, "offline");
    presence.syncStarted(A, "online")();
    assert.equal(presence.getPresence(A).presence, "online");
  });

  it("keeps an offline user offline on activity", () => {
    const { presence } = setup();
    presence.setPresence(A, "offline");
    presence.userActive(A);
    assert.equal(presence.getPresence(A).presence, "offline");
  });

  it("ending a sync twice counts once", () => {
    const { clock, presence } = setup();
    const first = presence.syncStarted(A);
    const second = presence.syncStarted(A);
    first();
    first();
    clock.advance(SYNC_ONLINE_TIMEOUT_MS * 2);
    assert.equal(presence.getPresence(A).presence, "online"); // `second` is still in flight
    second();
    clock.advance(SYNC_ONLINE_TIMEOUT_MS);
    assert.equal(presence.getPresence(A).presence, "offline");
  });

  it("reports changes since a position, and notifies the audience", async () => {
    const { notifier, presence } = setup({ audience: (userId) => ({ userIds: [userId], roomIds: ["!shared:x"] }) });
    const roomMate = notifier.waitForChanges("@bob:x", ["!shared:x"], ZERO_POSITIONS, 30_000);
    presence.setPresence(A, "online");
    assert.equal(await roomMate, "changed");
    presence.setPresence("@carol:x", "unavailable");
    presence.setPresence(A, "online", "busy");
    assert.deepEqual(presence.changesSince(1), {
      position: 3,
      changes: [
        { userId: "@carol:x", content: { presence: "unavailable" } },
        { userId: A, content: { presence: "online", last_active_ago: 0, status_msg: "busy", currently_active: true } },
      ],
    });
    assert.equal(notifier.currentPositions().presence, 3);
  });

  it("tells onChange of every visible change, another server's user's too, and onLocalChange of local ones only", () => {
    const { presence } = setup({ isLocal: (userId) => userId.endsWith(":x") });
    const all: string[] = [];
    const local: string[] = [];
    presence.onChange((userId) => all.push(userId));
    presence.onLocalChange((userId) => local.push(userId));
    presence.setPresence(A, "online");
    presence.userActive(A); // still currently active: nothing clients are told of
    presence.receiveRemote("@zed:y", { presence: "online", statusMsg: null, lastActiveAgo: 0, currentlyActive: true });
    assert.deepEqual(all, [A, "@zed:y"]);
    assert.deepEqual(local, [A]);
  });

  it("notifies once an asynchronous audience is known", async () => {
    const { notifier, presence } = setup({ audience: async () => ({ roomIds: ["!r:x"] }) });
    const waiting = notifier.waitForChanges("@bob:x", ["!r:x"], ZERO_POSITIONS, 30_000);
    presence.setPresence(A, "online");
    assert.equal(await waiting, "changed");
  });

  it("hands every change to persistence, and restores from saved records", () => {
    const { clock, presence, saved } = setup();
    presence.setPresence(A, "online", "hi");
    presence.setPresence("@bob:x", "unavailable");
    assert.deepEqual(saved.map((r) => [r.userId, r.presence, r.streamPosition]), [[A, "online", 1], ["@bob:x", "unavailable", 2]]);
    presence.close();
    assert.equal(clock.pending, 0);

    const restarted = setup({ initial: [presence.record(A) as PresenceRecord, presence.record("@bob:x") as PresenceRecord] });
    assert.equal(restarted.presence.position, 2);
    assert.equal(restarted.presence.getPresence(A).status_msg, "hi");
    restarted.clock.advance(SYNC_ONLINE_TIMEOUT_MS); // nobody is syncing after a restart
    assert.equal(restarted.presence.getPresence(A).presence, "offline");
    assert.equal(restarted.presence.position, 4);
  });

  it("when disabled, changes nothing and answers offline for everyone", async () => {
    const { clock, notifier, presence, saved } = setup({ enabled: false });
    const waiting = notifier.waitForChanges(A, [], ZERO_POSITIONS, 1000);
    presence.setPresence(A, "online", "here");
    presence.userActive(A);
    presence.syncStarted(A, "online")();
    assert.deepEqual(presence.getPresence(A), { presence: "offline" });
    assert.deepEqual(presence.changesSince(0), { position: 0, changes: [] });
    assert.equal(saved.length, 0);
    clock.advance(1000);
    assert.equal(await waiting, "timeout");
    assert.equal(clock.pending, 0);
  });

  it("keeps its invariants under any sequence of events", () => {
    const users = [A, "@bob:x"];
    const op = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), user: fc.constantFrom(...users), presence: fc.constantFrom("online", "unavailable", "offline" as const), msg: fc.constantFrom(undefined, null, "m") }),
      fc.record({ kind: fc.constant("active" as const), user: fc.constantFrom(...users) }),
      fc.record({ kind: fc.constant("sync" as const), user: fc.constantFrom(...users), set: fc.constantFrom(undefined, "online", "unavailable", "offline" as const) }),
      fc.record({ kind: fc.constant("end" as const), index: fc.nat() }),
      fc.record({ kind: fc.constant("advance" as const), ms: fc.constantFrom(1, 1000, 29_999, 30_000, 59_999, 60_000, 300_000) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const { clock, notifier, presence } = setup();
        const open: { user: string; end: () => void }[] = [];
        let lastPosition = 0;
        for (const o of ops) {
          if (o.kind === "set") presence.setPresence(o.user, o.presence, o.msg);
          else if (o.kind === "active") presence.userActive(o.user);
          else if (o.kind === "sync") open.push({ user: o.user, end: presence.syncStarted(o.user, o.set) });
          else if (o.kind === "end") open.splice(o.index % Math.max(open.length, 1), 1)[0]?.end();
          else clock.advance(o.ms);
          assert.ok(presence.position >= lastPosition);
          lastPosition = presence.position;
          assert.equal(notifier.currentPositions().presence, presence.position);
          for (const user of users) {
            const p = presence.getPresence(user);
            const r = presence.record(user);
            if (p.currently_active === true) assert.ok(p.presence === "online" && (p.last_active_ago ?? Infinity) < LAST_ACTIVE_GRANULARITY_MS);
            if (p.presence === "online") assert.ok((p.last_active_ago ?? Infinity) < IDLE_TIMEOUT_MS);
            if (p.presence !== "online") assert.equal(p.currently_active, undefined);
            const syncing = open.some((s) => s.user === user);
            if (!syncing && r !== undefined && clock.now() - r.lastSyncTs >= SYNC_ONLINE_TIMEOUT_MS) assert.equal(p.presence, "offline");
          }
        }
        presence.close();
        assert.equal(clock.pending, 0);
      }),
      { numRuns: 500 },
    );
  });
});
