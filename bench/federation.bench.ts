// Issue 7, rooms over federation, two Weft homeservers on loopback over TLS (SQLite):
// (a) PDUs per second delivered from one server to the other (created on A, sent in transactions,
//     through B's pipeline), against A creating the same number of events in a room of its own;
// (b) the time for a user of B to join a room of 10,000 members held by A (make_join, send_join,
//     the state and auth chain checked and stored on B), against a user of A joining it locally.
import { createTestPki } from "../test/homeserver/federation/pki.ts";
import { startFederatedServer, type FederatedServer } from "../test/homeserver/federation/federated-server.ts";
import { printFigure } from "./lib.ts";

const PDUS = Number(process.env.WEFT_BENCH_FED_PDUS ?? 5_000);
const MEMBERS = Number(process.env.WEFT_BENCH_FED_MEMBERS ?? 10_000);

/** Resolves when `server` has stored `count` new events of the room. */
function arrivals(server: FederatedServer, roomId: string, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const stop = server.services.roomserver.subscribe((output) => {
      if (output.kind === "new_room_event" && output.roomId === roomId && ++seen === count) {
        stop();
        resolve();
      }
    });
  });
}

/** Creates `count` messages at once (the engine batches them) and waits for all. */
async function sendMany(server: FederatedServer, roomId: string, sender: string, count: number, label: string): Promise<void> {
  const sends: Array<Promise<string>> = [];
  for (let i = 0; i < count; i++) sends.push(server.send(roomId, sender, `${label} ${i}`));
  await Promise.all(sends);
}

async function deliveryRate(a: FederatedServer, b: FederatedServer): Promise<void> {
  const alice = a.user("alice");
  const bob = await b.register("bob");
  const shared = await a.createRoom(alice, { preset: "public" });
  await b.services.federationRooms.remote.join(bob, shared, [a.serverName], {});
  // A first word from the joiner, as in life: its server's view of the room is one branch again.
  await Promise.all([arrivals(a, shared, 1), b.send(shared, bob, "hello")]);
  const alone = await a.createRoom(alice, { preset: "public" });
  // Warm both paths up (keys fetched, connections open, caches filled).
  await Promise.all([arrivals(b, shared, 100), sendMany(a, shared, alice, 100, "warm")]);
  await sendMany(a, alone, alice, 100, "warm");

  let start = performance.now();
  await sendMany(a, alone, alice, PDUS, "local");
  const localRate = (PDUS / (performance.now() - start)) * 1000;

  start = performance.now();
  const arrived = arrivals(b, shared, PDUS);
  await sendMany(a, shared, alice, PDUS, "remote");
  await arrived;
  const deliveredRate = (PDUS / (performance.now() - start)) * 1000;
  printFigure({
    name: `PDUs delivered A -> B (${PDUS}, created on A, stored on B)`,
    value: deliveredRate,
    unit: "PDU/s",
    better: "higher",
    baseline: { name: "the same events created on A alone", value: localRate },
  });
}

async function bigJoin(a: FederatedServer, b: FederatedServer): Promise<void> {
  const alice = a.user("alice");
  const roomId = await a.createRoom(alice, { preset: "public" });
  const rs = a.services.roomserver;
  const joins: Array<Promise<unknown>> = [];
  for (let i = 0; i < MEMBERS; i++) {
    const user = a.user(`member${i}`);
    joins.push(rs.createLocalEvent({ roomId, type: "m.room.member", stateKey: user, sender: user, content: { membership: "join" } }));
  }
  await Promise.all(joins);
  // Warm up A's state of the room (the resident's cost is part of the remote figure all the same).
  await a.services.federationRooms.serversInRoom(roomId);

  let start = performance.now();
  const local = a.user("latecomer");
  await rs.createLocalEvent({ roomId, type: "m.room.member", stateKey: local, sender: local, content: { membership: "join" } });
  const localMs = performance.now() - start;

  const joiner = await b.register("joiner");
  start = performance.now();
  await b.services.federationRooms.remote.join(joiner, roomId, [a.serverName], {});
  const remoteMs = performance.now() - start;
  printFigure({
    name: `B's user joins A's room of ${MEMBERS} members`,
    value: remoteMs,
    unit: "ms",
    better: "lower",
    baseline: { name: "a user of A joining it locally", value: localMs },
  });
}

export async function federationBench(): Promise<void> {
  const pki = await createTestPki();
  const a = await startFederatedServer("sqlite", pki, "localhost");
  const b = await startFederatedServer("sqlite", pki, "127.0.0.1");
  try {
    await deliveryRate(a, b);
    await bigJoin(a, b);
  } finally {
    await a.destroy();
    await b.destroy();
    await pki.cleanup();
  }
}
