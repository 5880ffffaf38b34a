// Ephemeral data pushed to application services (application-service-api#pushing-ephemeral-data)
// over real HTTP on both engines, with fake services on local ports: a service with
// `receive_ephemeral` is sent m.typing and m.receipt (with `room_id`) of the rooms it is interested
// in, private receipts only of its own users, and m.presence of users it shares a room with; one
// without it gets no `ephemeral`, and a room no service is interested in gives nothing.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { call, createRoom, enc, registerUser, startRoomsHomeserver, type TestUser } from "../rooms/helpers.ts";
import { FakeAppservice, registrationYaml } from "./fake-appservice.ts";

const SERVER = "test.local";
const EPH_TOKEN = "eph-as-token";
const PLAIN_TOKEN = "plain-as-token";

type Json = Record<string, unknown>;

/** The ephemeral items the service was sent, in order. */
function ephemeralOf(service: FakeAppservice): Json[] {
  return service.transactions.flatMap((t) => (t.body?.["ephemeral"] as Json[] | undefined) ?? []);
}

for (const engine of engines) {
  describe(`application services: ephemeral data [${engine}]`, () => {
    let hs: TestHomeserver;
    let eph: FakeAppservice;
    let plain: FakeAppservice;
    let dir: string;
    let alice: TestUser;
    let room: string;
    const bob = `@_eph_bob:${SERVER}`;
    const carl = `@_plain_carl:${SERVER}`;

    const typing = (roomId: string, user: TestUser) =>
      call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(user.userId)}`, { token: user.accessToken, body: { typing: true, timeout: 30_000 } });
    const send = async (roomId: string, user: TestUser, body: string): Promise<string> => {
      const sent = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${body}`, { token: user.accessToken, body: { msgtype: "m.text", body } });
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
      return sent.body["event_id"] as string;
    };
    const receipt = (roomId: string, type: string, eventId: string, token: string, asUser?: string) =>
      call(hs, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/${type}/${enc(eventId)}${asUser === undefined ? "" : `?user_id=${enc(asUser)}`}`, { token, body: {} });
    const asJoin = async (token: string, roomId: string, userId: string): Promise<void> => {
      const joined = await call(hs, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/join?user_id=${enc(userId)}`, { token, body: {} });
      assert.equal(joined.status, 200, JSON.stringify(joined.body));
    };
    const typingIn = (roomId: string) => ephemeralOf(eph).filter((e) => e["type"] === "m.typing" && e["room_id"] === roomId);

    before(async () => {
      eph = await FakeAppservice.start();
      plain = await FakeAppservice.start();
      dir = await mkdtemp(join(tmpdir(), "weft-as-eph-test-"));
      const ephFile = join(dir, "eph.yaml");
      const plainFile = join(dir, "plain.yaml");
      const users = (prefix: string) => `[{exclusive: true, regex: '@${prefix}.*'}]`;
      await writeFile(ephFile, registrationYaml({ id: "eph", url: eph.url, asToken: EPH_TOKEN, hsToken: "eph-hs", sender: "_eph_bot", users: users("_eph_"), receiveEphemeral: true }));
      await writeFile(plainFile, registrationYaml({ id: "plain", url: plain.url, asToken: PLAIN_TOKEN, hsToken: "plain-hs", sender: "_plain_bot", users: users("_plain_") }));
      hs = await startRoomsHomeserver(engine, `app_service_config_files: [${JSON.stringify(ephFile)}, ${JSON.stringify(plainFile)}]`);
      alice = await registerUser(hs, "eph_alice");
      for (const [token, username] of [
        [EPH_TOKEN, "_eph_bob"],
        [PLAIN_TOKEN, "_plain_carl"],
      ] as const) {
        const made = await call(hs, "POST", "/_matrix/client/v3/register", { token, body: { type: "m.login.application_service", username, inhibit_login: true } });
        assert.equal(made.status, 200, JSON.stringify(made.body));
      }
      // A room both services are interested in, through a user of each joined to it.
      room = await createRoom(hs, alice, { preset: "public_chat" });
      await asJoin(EPH_TOKEN, room, bob);
      await asJoin(PLAIN_TOKEN, room, carl);
    });
    after(async () => {
      await hs.stop();
      await eph.stop();
      await plain.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it("sends m.typing with the room's typers and room_id", async () => {
      assert.equal((await typing(room, alice)).status, 200);
      await eph.waitFor(() => typingIn(room).some((e) => (e["content"] as { user_ids: string[] }).user_ids.includes(alice.userId)), "alice typing");
      const event = typingIn(room).at(-1) as Json;
      assert.deepEqual(event, { type: "m.typing", room_id: room, content: { user_ids: [alice.userId] } });
      const txn = eph.transactions.find((t) => ((t.body?.["ephemeral"] as Json[] | undefined) ?? []).includes(event));
      assert.ok(Array.isArray(txn?.body?.["events"]), "`events` is always there");
      assert.equal(txn?.authorization, "Bearer eph-hs");
    });

    it("sends m.receipt with room_id, as /sync formats it", async () => {
      const eventId = await send(room, alice, "read-me");
      assert.equal((await receipt(room, "m.read", eventId, alice.accessToken)).status, 200);
      const receiptOf = () => ephemeralOf(eph).find((e) => e["type"] === "m.receipt" && JSON.stringify(e["content"]).includes(eventId));
      await eph.waitFor(() => receiptOf() !== undefined, "alice's receipt");
      const event = receiptOf() as Json;
      assert.equal(event["room_id"], room);
      const byUser = (event["content"] as Record<string, Record<string, Record<string, { ts: number }>>>)[eventId]?.["m.read"];
      assert.equal(typeof byUser?.[alice.userId]?.ts, "number");
    });

    it("sends private receipts only of the service's own users", async () => {
      const eventId = await send(room, alice, "private");
      assert.equal((await receipt(room, "m.read.private", eventId, alice.accessToken)).status, 200);
      assert.equal((await receipt(room, "m.read.private", eventId, EPH_TOKEN, bob)).status, 200);
      const privateOf = (userId: string) =>
        ephemeralOf(eph).filter((e) => e["type"] === "m.receipt" && (e["content"] as Record<string, Record<string, Record<string, unknown>>>)[eventId]?.["m.read.private"]?.[userId] !== undefined);
      await eph.waitFor(() => privateOf(bob).length > 0, "bob's private receipt");
      assert.equal(privateOf(bob)[0]?.["room_id"], room);
      assert.deepEqual(privateOf(alice.userId), [], "alice is not the service's: her private receipt is hers alone");
    });

    it("sends m.presence of a user it shares a room with, not of one it does not", async () => {
      const dan = await registerUser(hs, "eph_dan"); // in no room with the service's users
      const setStatus = (user: TestUser, message: string) =>
        call(hs, "PUT", `/_matrix/client/v3/presence/${enc(user.userId)}/status`, { token: user.accessToken, body: { presence: "online", status_msg: message } });
      assert.equal((await setStatus(dan, "dan here")).status, 200);
      assert.equal((await setStatus(alice, "alice here")).status, 200);
      const presenceOf = (userId: string) => ephemeralOf(eph).filter((e) => e["type"] === "m.presence" && e["sender"] === userId);
      await eph.waitFor(() => presenceOf(alice.userId).some((e) => (e["content"] as Json)["status_msg"] === "alice here"), "alice's presence");
      const event = presenceOf(alice.userId).find((e) => (e["content"] as Json)["status_msg"] === "alice here") as Json;
      assert.equal((event["content"] as Json)["presence"], "online");
      assert.equal(event["room_id"], undefined, "presence is not room-scoped");
      assert.deepEqual(presenceOf(dan.userId), [], "dan shares no room with the service");
    });

    it("sends nothing of a room the service is not interested in", async () => {
      const quiet = await createRoom(hs, alice, { preset: "private_chat" });
      const eventId = await send(quiet, alice, "quiet");
      assert.equal((await typing(quiet, alice)).status, 200);
      assert.equal((await receipt(quiet, "m.read", eventId, alice.accessToken)).status, 200);
      // Then something of the interesting room, which comes after in the same queue.
      const marker = await send(room, alice, "marker");
      assert.equal((await receipt(room, "m.read", marker, alice.accessToken)).status, 200);
      await eph.waitFor(() => ephemeralOf(eph).some((e) => JSON.stringify(e["content"]).includes(marker)), "the marker receipt");
      assert.deepEqual(
        ephemeralOf(eph).filter((e) => e["room_id"] === quiet),
        [],
      );
    });

    it("sends no `ephemeral` to a service without receive_ephemeral", async () => {
      const marker = await send(room, alice, "plain-marker");
      await plain.waitFor(() => plain.transactions.some((t) => JSON.stringify(t.body).includes(marker)), "the marker event");
      assert.ok(plain.transactions.length > 0);
      for (const txn of plain.transactions) assert.equal(txn.body?.["ephemeral"], undefined);
    });
  });
}
