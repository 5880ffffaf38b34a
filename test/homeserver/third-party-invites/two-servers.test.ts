/**
 * Third-party invites across two Weft servers federating over TLS on loopback
 * (server-server-api#third-party-invites): alice of A invites an address; the identity server
 * tells B that one of B's users bound it (/3pid/onbind); B asks A (exchange_third_party_invite),
 * A checks the request against the room's m.room.third_party_invite and the identity server's key
 * and invites B's user as for any remote invite; the user sees it in /sync and joins. A refuses
 * exchange requests it should not act on; B passes A's refusal of a forged signature on.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { FederationRequestError } from "../../../src/homeserver/federation/client.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { engines } from "../../storage/engines.ts";
import { Agent } from "undici";
import { clientOf, findStripped, type Client, type Json } from "../federation/client-api.ts";
import { twoServers, waitFor, type FederatedServer } from "../federation/federated-server.ts";
import { startStandInIdentityServer, type StandInIdentityServer } from "./identity-server.ts";
import { assertError, createRoom, enc, freshAddress, invite3pid, inviteState } from "./helpers.ts";

for (const engine of engines) {
  describe(`third-party invites across two servers [${engine}]`, () => {
    const servers = twoServers(engine);
    let a: FederatedServer;
    let b: FederatedServer;
    let agent: Agent;
    let alice: Client;
    let bob: Client;
    let dave: Client;
    let is: StandInIdentityServer;
    before(async () => {
      ({ a, b } = servers);
      // The identity server's certificate is of the servers' test CA (their federation_custom_ca_list).
      is = await startStandInIdentityServer(servers.pki);
      agent = new Agent({ connect: { ca: servers.pki.caCert } });
      alice = await clientOf(a, "alice", agent);
      bob = await clientOf(b, "bob", agent);
      dave = await clientOf(b, "dave", agent);
      await bob.syncUntil("bob's first sync", () => true);
    });
    after(async () => {
      await agent?.close();
      await is?.close();
    });

    const lastInvite = () => {
      const invite = is.invites.at(-1);
      assert.ok(invite !== undefined);
      return invite;
    };

    it("onbind at the invitee's server, which is not in the room: exchanged with the inviter's server, invited, joined", async () => {
      const roomId = await createRoom(alice, { name: "Across" });
      const address = freshAddress("bob");
      assert.equal((await invite3pid(alice, is, roomId, address)).status, 200);
      const invite = lastInvite();
      const polled = bob.syncUntil("the third-party invite in bob's rooms.invite", (r) => inviteState(r, roomId).length > 0);
      const bound = await is.notifyBound(address, bob.userId, b.port);
      assert.equal(bound.status, 200, JSON.stringify(bound.json));

      const own = findStripped(inviteState(await polled, roomId), "m.room.member", bob.userId);
      assert.equal(own?.["sender"], alice.userId);
      const thirdParty = (own?.["content"] as Json)["third_party_invite"] as Json;
      assert.equal(thirdParty["display_name"], `${address.slice(0, 1)}...@e...`);
      assert.deepEqual(thirdParty["signed"], is.signedFor(invite, bob.userId));
      // A took the invite into the room as its own user's.
      const onA = await a.stateContent(roomId, "m.room.member", bob.userId);
      assert.equal(onA?.["membership"], "invite");
      assert.deepEqual((onA?.["third_party_invite"] as Json | undefined)?.["signed"], is.signedFor(invite, bob.userId));

      await bob.call("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {});
      assert.equal(await a.membership(roomId, bob.userId), "join");
    });

    it("onbind at a server in the room, for an invite of another server's user: exchanged, invited, joined there", async () => {
      const roomId = await createRoom(alice, { preset: "public_chat" });
      // A room ID of version 12 names no server: bob joins through A.
      await bob.call("POST", `/_matrix/client/v3/join/${enc(roomId)}?via=${enc(a.serverName)}`, {});
      const address = freshAddress("dave");
      assert.equal((await invite3pid(alice, is, roomId, address)).status, 200);
      await waitFor("the m.room.third_party_invite on B", async () => (await b.currentState(roomId))?.has(`m.room.third_party_invite\u0000${lastInvite().token}`) ?? false);
      const bound = await is.notifyBound(address, dave.userId, b.port);
      assert.equal(bound.status, 200, JSON.stringify(bound.json));
      await waitFor("dave's invite on B", async () => (await b.membership(roomId, dave.userId)) === "invite");
      const onB = await b.stateContent(roomId, "m.room.member", dave.userId);
      assert.ok(onB?.["third_party_invite"] !== undefined);
      await dave.call("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {});
      await waitFor("dave's join on A", async () => (await a.membership(roomId, dave.userId)) === "join");
    });

    it("passes on the inviter's server's refusal of a forged signature", async () => {
      const roomId = await createRoom(alice);
      const address = freshAddress("forged");
      assert.equal((await invite3pid(alice, is, roomId, address)).status, 200);
      const userId = await b.register(`forged${Date.now()}`);
      assertError(await is.notifyBound(address, userId, b.port, { forged: true }), 403, "M_FORBIDDEN");
      assert.equal(await a.membership(roomId, userId), undefined);
    });

    it("refuses exchange requests it should not act on", async () => {
      const roomId = await createRoom(alice);
      const address = freshAddress("exchange");
      assert.equal((await invite3pid(alice, is, roomId, address)).status, 200);
      const invite = lastInvite();
      const target = await b.register("erin");
      const partial = (overrides: JsonObject = {}, content: JsonObject = {}): JsonObject => ({
        type: "m.room.member",
        room_id: roomId,
        sender: alice.userId,
        state_key: target,
        content: { membership: "invite", third_party_invite: { display_name: "e...", signed: is.signedFor(invite, target) }, ...content },
        ...overrides,
      });
      const exchange = async (body: JsonObject, room = roomId): Promise<{ status: number | undefined; errcode: string | undefined }> => {
        try {
          await b.services.federation.client.put(a.serverName, `/_matrix/federation/v1/exchange_third_party_invite/${enc(room)}`, body);
          return { status: 200, errcode: undefined };
        } catch (err) {
          assert.ok(err instanceof FederationRequestError, String(err));
          return { status: err.status, errcode: err.errcode };
        }
      };
      const onA = a.user("frank");
      // "H1 MUST verify ... the key_validity_url as still being valid": the invite's ephemeral key, revoked.
      is.revoke(invite.ephemeralKey.publicKeyBase64);
      const revokedKey = is.signedFor(invite, target, { key: invite.ephemeralKey });
      const cases: Array<[JsonObject, number, string, string?]> = [
        [partial({ room_id: "!other:localhost" }), 400, "M_INVALID_PARAM"],
        [partial({ type: "m.room.message" }), 400, "M_INVALID_PARAM"],
        [partial({}, { membership: "join" }), 400, "M_INVALID_PARAM"],
        [partial({}, { third_party_invite: { display_name: "x" } }), 400, "M_INVALID_PARAM"],
        [partial({ state_key: b.user("someone_else") }), 400, "M_INVALID_PARAM"],
        // An invite of another server's user: only that server may ask for it.
        [partial({ state_key: onA }, { third_party_invite: { display_name: "x", signed: is.signedFor(invite, onA) } }), 403, "M_FORBIDDEN"],
        // Invites are made at A only as A's users.
        [partial({ sender: b.user("mallory") }), 403, "M_FORBIDDEN"],
        [partial({}, { third_party_invite: { display_name: "x", signed: is.signedFor(invite, target, { forged: true }) } }), 403, "M_FORBIDDEN"],
        [partial({}, { third_party_invite: { display_name: "x", signed: revokedKey } }), 403, "M_FORBIDDEN"],
        [partial({ room_id: "!unknown:localhost" }), 404, "M_NOT_FOUND", "!unknown:localhost"],
      ];
      for (const [body, status, errcode, room] of cases) {
        assert.deepEqual(await exchange(body, room), { status, errcode }, JSON.stringify(body));
      }
      assert.equal(await a.membership(roomId, target), undefined);
      // The request as it should be is taken.
      assert.deepEqual(await exchange(partial()), { status: 200, errcode: undefined });
      assert.equal(await a.membership(roomId, target), "invite");
    });
  });
}
