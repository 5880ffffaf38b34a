import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ALICE,
  ALL_VERSIONS,
  BOB,
  CAROL,
  DAVE,
  EVE,
  TestRoom,
  makeCreate,
  memberEvent,
  runAuthCases,
  version,
  versionsBetween,
} from "./fixtures.ts";
import type { AuthCase } from "./fixtures.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { generateSigningKey } from "../../../src/core/crypto/ed25519.ts";
import { signJson } from "../../../src/core/crypto/signing.ts";
import { encodeUnpaddedBase64Url } from "../../../src/core/crypto/base64.ts";
import { effectiveMembership, joinAuthorisingServer } from "../../../src/core/auth/index.ts";

const roomWith = (options: ConstructorParameters<typeof TestRoom>[1]) => (id: string) => new TestRoom(id, options);
const standardMembers = { [ALICE]: "join", [BOB]: "join", [CAROL]: "join" };

describe("m.room.member: shape (rule 4.1) and unknown memberships", () => {
  const cases: AuthCase[] = [
    {
      name: "a member event without membership is rejected",
      versions: ALL_VERSIONS,
      event: () => ({ type: "m.room.member", sender: CAROL, stateKey: CAROL, content: {} }),
      allowed: false,
      reason: /no membership/,
    },
    {
      name: "a member event without state_key is rejected",
      versions: ALL_VERSIONS,
      event: () => ({ type: "m.room.member", sender: CAROL, content: { membership: "leave" } }),
      allowed: false,
      reason: /no state_key/,
    },
    {
      name: "an unknown membership is rejected",
      versions: ALL_VERSIONS,
      event: () => memberEvent(ALICE, DAVE, "frobnicate"),
      allowed: false,
      reason: /unknown membership/,
    },
    {
      name: "a membership that is not a string is rejected",
      versions: ALL_VERSIONS,
      event: () => ({ type: "m.room.member", sender: ALICE, stateKey: DAVE, content: { membership: ["join"] } }),
      allowed: false,
      reason: /unknown membership/,
    },
  ];
  runAuthCases(cases, it);
});

describe("m.room.member: join (rule 4.3)", () => {
  // A room whose create event names carol as creator in content while alice sends it: before
  // v11 the creator is content.creator, from v11 the sender.
  const freshRoom = (id: string) => {
    const v = version(id);
    const create = makeCreate(v, { content: { room_version: id, ...(v.creatorInContent ? { creator: CAROL } : {}) } });
    return new TestRoom(id, { create, members: {}, powerLevels: null, joinRule: null });
  };
  const firstJoin = (userId: string) => (room: TestRoom) => ({ ...memberEvent(userId, userId, "join"), prevEventIds: [room.create.eventId] });
  const cases: AuthCase[] = [
    {
      name: "rule 4.3.1 (v1-v10): the creator in content may join right after the create event",
      versions: versionsBetween(1, 10),
      room: freshRoom,
      event: firstJoin(CAROL),
      allowed: true,
    },
    {
      name: "rule 4.3.1 (v1-v10): the create event's sender is not the creator when content names another",
      versions: versionsBetween(1, 10),
      room: freshRoom,
      event: firstJoin(ALICE),
      allowed: false,
    },
    {
      name: "rule 4.3.1 (v11+): the create event's sender may join right after it",
      versions: versionsBetween(11, 12),
      room: freshRoom,
      event: firstJoin(ALICE),
      allowed: true,
    },
    {
      name: "rule 4.3.1: another user may not join right after the create event",
      versions: versionsBetween(11, 12),
      room: freshRoom,
      event: firstJoin(CAROL),
      allowed: false,
    },
    {
      name: "rule 4.3.1: the creator's join needs the create event as the only prev_event",
      versions: versionsBetween(11, 12),
      room: freshRoom,
      event: (room) => ({ ...memberEvent(ALICE, ALICE, "join"), prevEventIds: [room.create.eventId, "$other"] }),
      allowed: false,
    },
    {
      name: "v12: an additional creator's first join is not the creator's join",
      versions: ["12"],
      room: (id) => {
        const create = makeCreate(version(id), { content: { additional_creators: [CAROL] } });
        return new TestRoom(id, { create, members: {}, powerLevels: null, joinRule: null });
      },
      event: firstJoin(CAROL),
      allowed: false,
    },
    {
      name: "rule 4.3.2: a join on behalf of another user is rejected",
      versions: ALL_VERSIONS,
      room: roomWith({ joinRule: "public" }),
      event: () => memberEvent(ALICE, DAVE, "join"),
      allowed: false,
      reason: /on behalf/,
    },
    {
      name: "rule 4.3.3: a banned user cannot join a public room",
      versions: ALL_VERSIONS,
      room: roomWith({ joinRule: "public", members: { ...standardMembers, [DAVE]: "ban" } }),
      event: () => memberEvent(DAVE, DAVE, "join"),
      allowed: false,
      reason: /banned/,
    },
    {
      name: "rule 4.3.4: an invited user may join an invite-only room",
      versions: ALL_VERSIONS,
      room: roomWith({ joinRule: "invite", members: { ...standardMembers, [DAVE]: "invite" } }),
      event: () => memberEvent(DAVE, DAVE, "join"),
      allowed: true,
    },
    {
      name: "rule 4.3.4: a joined user may join again (a profile change)",
      versions: ALL_VERSIONS,
      event: () => memberEvent(CAROL, CAROL, "join", { displayname: "Carol" }),
      allowed: true,
    },
    {
      name: "rule 4.3.4: an uninvited user may not join an invite-only room",
      versions: ALL_VERSIONS,
      room: roomWith({ joinRule: "invite" }),
      event: () => memberEvent(DAVE, DAVE, "join"),
      allowed: false,
      reason: /not invited/,
    },
    {
      name: "without join rules the room is invite-only: the invited may join",
      versions: ALL_VERSIONS,
      room: roomWith({ joinRule: null, members: { ...standardMembers, [DAVE]: "invite" } }),
      event: () => memberEvent(DAVE, DAVE, "join"),
      allowed: true,
    },
    {
      name: "without join rules the room is invite-only: others may not join",
      versions: ALL_VERSIONS,
      room: roomWith({ joinRule: null }),
      event: () => memberEvent(DAVE, DAVE, "join"),
      allowed: false,
    },
    {
      name: "rule 4.3.4 (v7+): an invited user may join a knock room",
      versions: versionsBetween(7, 12),
      room: roomWith({ joinRule: "knock", members: { ...standardMembers, [DAVE]: "invite" } }),
      event: () => memberEvent(DAVE, DAVE, "join"),
      allowed: true,
    },
    {
      name: "v1-v6: the knock join rule is unknown, so nobody joins through it",
      versions: versionsBetween(1, 6),
      room: roomWith({ joinRule: "knock", members: { ...standardMembers, [DAVE]: "invite" } }),
      event: () => memberEvent(DAVE, DAVE, "join"),
      allowed: false,
    },
    {
      name: "rule 4.3.6: anyone may join a public room",
      versions: ALL_VERSIONS,
      room: roomWith({ joinRule: "public" }),
      event: () => memberEvent(EVE, EVE, "join"),
      allowed: true,
    },
    {
      name: "rule 4.3.7: nobody joins a private room uninvited",
      versions: ALL_VERSIONS,
      room: roomWith({ joinRule: "private" }),
      event: () => memberEvent(DAVE, DAVE, "join"),
      allowed: false,
    },
    {
      name: "a join_rule that is not a string lets nobody in",
      versions: ALL_VERSIONS,
      room: (id) => new TestRoom(id).setState("m.room.join_rules", "", { join_rule: 1 }),
      event: () => memberEvent(DAVE, DAVE, "join"),
      allowed: false,
    },
  ];
  runAuthCases(cases, it);
});

describe("m.room.member: restricted joins (v8 rules 4.2, 4.3.5; v10 knock_restricted)", () => {
  // The authorising server signs the join too (rule 4.2), so the PDU carries its signature.
  const viaBob = (extra: JsonObject = {}) => ({
    ...memberEvent(EVE, EVE, "join", { join_authorised_via_users_server: BOB, ...extra }),
    pdu: { signatures: { "elsewhere.test": { "ed25519:a": "x" }, "example.org": { "ed25519:b": "y" } } },
  });
  const cases: AuthCase[] = [
    {
      name: "restricted: a join authorised by a joined member able to invite is allowed",
      versions: versionsBetween(8, 12),
      room: roomWith({ joinRule: "restricted" }),
      event: () => viaBob(),
      allowed: true,
    },
    {
      name: "v1-v7: restricted is not a join rule",
      versions: versionsBetween(1, 7),
      room: roomWith({ joinRule: "restricted" }),
      event: () => viaBob(),
      allowed: false,
    },
    {
      name: "knock_restricted (v10+): a join authorised by a joined member is allowed",
      versions: versionsBetween(10, 12),
      room: roomWith({ joinRule: "knock_restricted" }),
      event: () => viaBob(),
      allowed: true,
    },
    {
      name: "knock_restricted is not a join rule before v10",
      versions: versionsBetween(1, 9),
      room: roomWith({ joinRule: "knock_restricted" }),
      event: () => viaBob(),
      allowed: false,
    },
    {
      name: "rule 4.3.5.1: an invited user joins a restricted room without an authoriser",
      versions: versionsBetween(8, 12),
      room: roomWith({ joinRule: "restricted", members: { ...standardMembers, [EVE]: "invite" } }),
      event: () => memberEvent(EVE, EVE, "join"),
      allowed: true,
    },
    {
      name: "rule 4.3.5.2: without join_authorised_via_users_server, reject",
      versions: versionsBetween(8, 12),
      room: roomWith({ joinRule: "restricted" }),
      event: () => memberEvent(EVE, EVE, "join"),
      allowed: false,
      reason: /join_authorised_via_users_server/,
    },
    {
      name: "rule 4.3.5.2: an authoriser who is not joined cannot authorise",
      versions: versionsBetween(8, 12),
      room: roomWith({ joinRule: "restricted", members: { [ALICE]: "join", [BOB]: "leave" } }),
      event: () => viaBob(),
      allowed: false,
      reason: /not a joined member/,
    },
    {
      name: "rule 4.3.5.2: an authoriser below the invite level cannot authorise",
      versions: versionsBetween(8, 12),
      room: (id) => {
        const room = new TestRoom(id, { joinRule: "restricted" });
        const pl = room.lookup("m.room.power_levels", "");
        return room.setState("m.room.power_levels", "", { ...(pl?.content ?? {}), invite: 60 });
      },
      event: () => viaBob(),
      allowed: false,
      reason: /cannot invite/,
    },
    {
      name: "rule 4.2: a join naming an authoriser must carry that server's signature",
      versions: versionsBetween(8, 12),
      room: roomWith({ joinRule: "restricted" }),
      event: () => ({ ...viaBob(), pdu: { signatures: { "elsewhere.test": { "ed25519:a": "x" } } } }),
      allowed: false,
      reason: /not signed by example\.org/,
    },
    {
      name: "rule 4.2 applies to any membership, even in a public room",
      versions: versionsBetween(8, 12),
      room: roomWith({ joinRule: "public" }),
      event: () => ({ ...viaBob(), pdu: { signatures: {} } }),
      allowed: false,
      reason: /not signed/,
    },
    {
      name: "rule 4.2: join_authorised_via_users_server must be a user ID",
      versions: versionsBetween(8, 12),
      room: roomWith({ joinRule: "public" }),
      event: () => memberEvent(EVE, EVE, "join", { join_authorised_via_users_server: 12 }),
      allowed: false,
      reason: /not a user ID/,
    },
    {
      name: "v1-v7: join_authorised_via_users_server means nothing",
      versions: versionsBetween(1, 7),
      room: roomWith({ joinRule: "public" }),
      event: () => ({ ...viaBob(), pdu: { signatures: {} } }),
      allowed: true,
    },
  ];
  runAuthCases(cases, it);
});

describe("m.room.member: invite (rule 4.4)", () => {
  const lowInvite = (id: string) => {
    const room = new TestRoom(id);
    return room.setState("m.room.power_levels", "", { ...(room.lookup("m.room.power_levels", "")?.content ?? {}), invite: 10 });
  };
  const cases: AuthCase[] = [
    { name: "a member with the invite level invites a stranger", versions: ALL_VERSIONS, event: () => memberEvent(CAROL, DAVE, "invite"), allowed: true },
    {
      name: "rule 4.4.2: a sender who is not joined may not invite",
      versions: ALL_VERSIONS,
      room: roomWith({ members: { [ALICE]: "join", [CAROL]: "invite" } }),
      event: () => memberEvent(CAROL, DAVE, "invite"),
      allowed: false,
      reason: /not joined/,
    },
    {
      name: "rule 4.4.3: a joined user cannot be invited",
      versions: ALL_VERSIONS,
      event: () => memberEvent(CAROL, BOB, "invite"),
      allowed: false,
      reason: /membership is join/,
    },
    {
      name: "rule 4.4.3: a banned user cannot be invited",
      versions: ALL_VERSIONS,
      room: roomWith({ members: { ...standardMembers, [DAVE]: "ban" } }),
      event: () => memberEvent(ALICE, DAVE, "invite"),
      allowed: false,
      reason: /membership is ban/,
    },
    {
      name: "rule 4.4.4/4.4.5: a sender below the invite level may not invite",
      versions: ALL_VERSIONS,
      room: lowInvite,
      event: () => memberEvent(CAROL, DAVE, "invite"),
      allowed: false,
      reason: /invite level/,
    },
    {
      name: "rule 4.4.4: a sender at or above the invite level may invite",
      versions: ALL_VERSIONS,
      room: lowInvite,
      event: () => memberEvent(BOB, DAVE, "invite"),
      allowed: true,
    },
    {
      name: "an invite may be repeated to someone already invited",
      versions: ALL_VERSIONS,
      room: roomWith({ members: { ...standardMembers, [DAVE]: "invite" } }),
      event: () => memberEvent(CAROL, DAVE, "invite"),
      allowed: true,
    },
  ];
  runAuthCases(cases, it);
});

describe("m.room.member: third-party invites (rule 4.4.1)", () => {
  const identityKey = generateSigningKey("0");
  const otherKey = generateSigningKey("1");
  const TOKEN = "abc123";

  function signed(mxid: string, token: string, key = identityKey): JsonObject {
    return signJson({ mxid, token }, "id.example.org", key);
  }
  function tpiContent(publicKeys: { single?: string; list?: string[] } = { single: identityKey.publicKeyBase64 }): JsonObject {
    const content: JsonObject = { display_name: "d***@e***", key_validity_url: "https://id.example.org/isvalid" };
    if (publicKeys.single !== undefined) content["public_key"] = publicKeys.single;
    if (publicKeys.list !== undefined) content["public_keys"] = publicKeys.list.map((public_key) => ({ public_key }));
    return content;
  }
  const roomWithInvite = (content: JsonObject = tpiContent(), sender = CAROL, extraMembers: Record<string, string> = {}) => (id: string) =>
    new TestRoom(id, { members: { ...standardMembers, ...extraMembers } }).setState("m.room.third_party_invite", TOKEN, content, sender);
  const invite = (thirdPartyInvite: JsonObject | string, sender = CAROL, target = DAVE) =>
    memberEvent(sender, target, "invite", { third_party_invite: thirdPartyInvite as JsonObject });

  const cases: AuthCase[] = [
    {
      name: "a signed third-party invite matching public_key is allowed",
      versions: ALL_VERSIONS,
      room: roomWithInvite(),
      event: () => invite({ display_name: "d", signed: signed(DAVE, TOKEN) }),
      allowed: true,
    },
    {
      name: "a signature matching one of public_keys is allowed",
      versions: ALL_VERSIONS,
      room: roomWithInvite(tpiContent({ single: otherKey.publicKeyBase64, list: [otherKey.publicKeyBase64, identityKey.publicKeyBase64] })),
      event: () => invite({ signed: signed(DAVE, TOKEN) }),
      allowed: true,
    },
    {
      name: "a public key in URL-safe base64 works as well",
      versions: ALL_VERSIONS,
      room: roomWithInvite(tpiContent({ single: encodeUnpaddedBase64Url(identityKey.publicKey) })),
      event: () => invite({ signed: signed(DAVE, TOKEN) }),
      allowed: true,
    },
    {
      name: "the third-party invite path does not need the sender to be joined (the invite event's sender was)",
      versions: ALL_VERSIONS,
      room: roomWithInvite(tpiContent(), EVE),
      event: () => invite({ signed: signed(DAVE, TOKEN) }, EVE),
      allowed: true,
    },
    {
      name: "rule 4.4.1.1: a banned target is rejected",
      versions: ALL_VERSIONS,
      room: roomWithInvite(tpiContent(), CAROL, { [DAVE]: "ban" }),
      event: () => invite({ signed: signed(DAVE, TOKEN) }),
      allowed: false,
      reason: /banned/,
    },
    {
      name: "rule 4.4.1.2: without signed, reject",
      versions: ALL_VERSIONS,
      room: roomWithInvite(),
      event: () => invite({ display_name: "d" }),
      allowed: false,
      reason: /no signed/,
    },
    {
      name: "rule 4.4.1.2: a third_party_invite that is not an object is rejected",
      versions: ALL_VERSIONS,
      room: roomWithInvite(),
      event: () => invite("junk"),
      allowed: false,
      reason: /no signed/,
    },
    {
      name: "rule 4.4.1.3: signed without token is rejected",
      versions: ALL_VERSIONS,
      room: roomWithInvite(),
      event: () => invite({ signed: signJson({ mxid: DAVE }, "id.example.org", identityKey) }),
      allowed: false,
      reason: /mxid and token/,
    },
    {
      name: "rule 4.4.1.4: an mxid other than the state_key is rejected",
      versions: ALL_VERSIONS,
      room: roomWithInvite(),
      event: () => invite({ signed: signed(EVE, TOKEN) }),
      allowed: false,
      reason: /mxid does not match/,
    },
    {
      name: "rule 4.4.1.5: a token with no m.room.third_party_invite is rejected",
      versions: ALL_VERSIONS,
      room: roomWithInvite(),
      event: () => invite({ signed: signed(DAVE, "other-token") }),
      allowed: false,
      reason: /no m\.room\.third_party_invite/,
    },
    {
      name: "rule 4.4.1.6: a sender other than the m.room.third_party_invite's is rejected",
      versions: ALL_VERSIONS,
      room: roomWithInvite(),
      event: () => invite({ signed: signed(DAVE, TOKEN) }, BOB),
      allowed: false,
      reason: /did not send/,
    },
    {
      name: "rule 4.4.1.8: a signature by another key is rejected",
      versions: ALL_VERSIONS,
      room: roomWithInvite(),
      event: () => invite({ signed: signed(DAVE, TOKEN, otherKey) }),
      allowed: false,
      reason: /no signature/,
    },
    {
      name: "rule 4.4.1.8: a signed block altered after signing is rejected",
      versions: ALL_VERSIONS,
      room: roomWithInvite(),
      event: () => invite({ signed: { ...signed(DAVE, TOKEN), extra: "tampered" } }),
      allowed: false,
      reason: /no signature/,
    },
    {
      name: "rule 4.4.1.8: public keys that are not keys are skipped",
      versions: ALL_VERSIONS,
      room: roomWithInvite({ public_key: "not base64!", public_keys: [{ public_key: 5 }, "x", { public_key: "AAAA" }] }),
      event: () => invite({ signed: signed(DAVE, TOKEN) }),
      allowed: false,
      reason: /no signature/,
    },
  ];
  runAuthCases(cases, it);
});

describe("m.room.member: leave, kick and unban (rule 4.5)", () => {
  const cases: AuthCase[] = [
    { name: "rule 4.5.1: a joined user may leave", versions: ALL_VERSIONS, event: () => memberEvent(CAROL, CAROL, "leave"), allowed: true },
    {
      name: "rule 4.5.1: an invited user may reject the invite",
      versions: ALL_VERSIONS,
      room: roomWith({ members: { ...standardMembers, [DAVE]: "invite" } }),
      event: () => memberEvent(DAVE, DAVE, "leave"),
      allowed: true,
    },
    {
      name: "rule 4.5.1 (v7+): a knocking user may withdraw the knock",
      versions: versionsBetween(7, 12),
      room: roomWith({ members: { ...standardMembers, [DAVE]: "knock" } }),
      event: () => memberEvent(DAVE, DAVE, "leave"),
      allowed: true,
    },
    {
      name: "rule 4.5.1 (v1-v6): knock is no membership to leave from",
      versions: versionsBetween(1, 6),
      room: roomWith({ members: { ...standardMembers, [DAVE]: "knock" } }),
      event: () => memberEvent(DAVE, DAVE, "leave"),
      allowed: false,
    },
    {
      name: "rule 4.5.1: a user who is not in the room cannot leave it",
      versions: ALL_VERSIONS,
      event: () => memberEvent(DAVE, DAVE, "leave"),
      allowed: false,
    },
    {
      name: "rule 4.5.1: a banned user cannot unban themselves by leaving",
      versions: ALL_VERSIONS,
      room: roomWith({ members: { ...standardMembers, [DAVE]: "ban" } }),
      event: () => memberEvent(DAVE, DAVE, "leave"),
      allowed: false,
    },
    {
      name: "rule 4.5.2: a sender who is not joined cannot kick",
      versions: ALL_VERSIONS,
      room: roomWith({ members: { [ALICE]: "join", [BOB]: "invite", [CAROL]: "join" } }),
      event: () => memberEvent(BOB, CAROL, "leave"),
      allowed: false,
      reason: /not joined/,
    },
    {
      name: "rule 4.5.4: a moderator at the kick level kicks a member below them",
      versions: ALL_VERSIONS,
      event: () => memberEvent(BOB, CAROL, "leave"),
      allowed: true,
    },
    {
      name: "rule 4.5.4: a moderator may revoke an invite",
      versions: ALL_VERSIONS,
      room: roomWith({ members: { ...standardMembers, [DAVE]: "invite" } }),
      event: () => memberEvent(BOB, DAVE, "leave"),
      allowed: true,
    },
    {
      name: "rule 4.5.5: a member below the kick level cannot kick",
      versions: ALL_VERSIONS,
      event: () => memberEvent(CAROL, BOB, "leave"),
      allowed: false,
      reason: /kick level/,
    },
    {
      name: "rule 4.5.5: a moderator cannot kick a user of equal power",
      versions: ALL_VERSIONS,
      room: (id) => {
        const room = new TestRoom(id);
        const content = room.lookup("m.room.power_levels", "")?.content ?? {};
        return room.setState("m.room.power_levels", "", { ...content, users: { ...(content["users"] as JsonObject), [CAROL]: 50 } });
      },
      event: () => memberEvent(BOB, CAROL, "leave"),
      allowed: false,
    },
    {
      name: "rule 4.5.3: unbanning needs the ban level",
      versions: ALL_VERSIONS,
      room: (id) => {
        const room = new TestRoom(id, { members: { ...standardMembers, [DAVE]: "ban" } });
        const content = room.lookup("m.room.power_levels", "")?.content ?? {};
        return room.setState("m.room.power_levels", "", { ...content, ban: 75 });
      },
      event: () => memberEvent(BOB, DAVE, "leave"),
      allowed: false,
      reason: /ban level/,
    },
    {
      name: "rule 4.5.3/4.5.4: an admin unbans",
      versions: ALL_VERSIONS,
      room: roomWith({ members: { ...standardMembers, [DAVE]: "ban" } }),
      event: () => memberEvent(ALICE, DAVE, "leave"),
      allowed: true,
    },
  ];
  runAuthCases(cases, it);
});

describe("m.room.member: ban (rule 4.6)", () => {
  const cases: AuthCase[] = [
    { name: "rule 4.6.2: a moderator bans a member below them", versions: ALL_VERSIONS, event: () => memberEvent(BOB, CAROL, "ban"), allowed: true },
    { name: "rule 4.6.2: a moderator bans someone not in the room", versions: ALL_VERSIONS, event: () => memberEvent(BOB, DAVE, "ban"), allowed: true },
    {
      name: "rule 4.6.1: a sender who is not joined cannot ban",
      versions: ALL_VERSIONS,
      room: roomWith({ members: { [ALICE]: "join", [BOB]: "leave", [CAROL]: "join" } }),
      event: () => memberEvent(BOB, CAROL, "ban"),
      allowed: false,
      reason: /not joined/,
    },
    {
      name: "rule 4.6.3: a member below the ban level cannot ban",
      versions: ALL_VERSIONS,
      event: () => memberEvent(CAROL, DAVE, "ban"),
      allowed: false,
      reason: /ban level/,
    },
    {
      name: "rule 4.6.3: a moderator cannot ban the admin above them",
      versions: ALL_VERSIONS,
      event: () => memberEvent(BOB, ALICE, "ban"),
      allowed: false,
    },
  ];
  runAuthCases(cases, it);
});

describe("m.room.member: knock (rule 4.7, v7+)", () => {
  const cases: AuthCase[] = [
    {
      name: "rule 4.7.3: a stranger knocks on a knock room",
      versions: versionsBetween(7, 12),
      room: roomWith({ joinRule: "knock" }),
      event: () => memberEvent(DAVE, DAVE, "knock"),
      allowed: true,
    },
    {
      name: "v1-v6: knock is an unknown membership",
      versions: versionsBetween(1, 6),
      room: roomWith({ joinRule: "knock" }),
      event: () => memberEvent(DAVE, DAVE, "knock"),
      allowed: false,
      reason: /unknown membership/,
    },
    {
      name: "rule 4.7.1 (v10+): knock_restricted rooms take knocks",
      versions: versionsBetween(10, 12),
      room: roomWith({ joinRule: "knock_restricted" }),
      event: () => memberEvent(DAVE, DAVE, "knock"),
      allowed: true,
    },
    {
      name: "rule 4.7.1 (v7-v9): knock_restricted is not a knock join rule",
      versions: versionsBetween(7, 9),
      room: roomWith({ joinRule: "knock_restricted" }),
      event: () => memberEvent(DAVE, DAVE, "knock"),
      allowed: false,
    },
    {
      name: "rule 4.7.1: knocking on an invite-only room is rejected",
      versions: versionsBetween(7, 12),
      room: roomWith({ joinRule: "invite" }),
      event: () => memberEvent(DAVE, DAVE, "knock"),
      allowed: false,
      reason: /cannot knock/,
    },
    {
      name: "rule 4.7.2: a knock on behalf of another user is rejected",
      versions: versionsBetween(7, 12),
      room: roomWith({ joinRule: "knock" }),
      event: () => memberEvent(CAROL, DAVE, "knock"),
      allowed: false,
      reason: /on behalf/,
    },
    {
      name: "rule 4.7.4: a banned user cannot knock",
      versions: versionsBetween(7, 12),
      room: roomWith({ joinRule: "knock", members: { ...standardMembers, [DAVE]: "ban" } }),
      event: () => memberEvent(DAVE, DAVE, "knock"),
      allowed: false,
    },
    {
      name: "rule 4.7.4: an invited user cannot knock",
      versions: versionsBetween(7, 12),
      room: roomWith({ joinRule: "knock", members: { ...standardMembers, [DAVE]: "invite" } }),
      event: () => memberEvent(DAVE, DAVE, "knock"),
      allowed: false,
    },
    {
      name: "rule 4.7.4: a joined user cannot knock",
      versions: versionsBetween(7, 12),
      room: roomWith({ joinRule: "knock" }),
      event: () => memberEvent(CAROL, CAROL, "knock"),
      allowed: false,
    },
  ];
  runAuthCases(cases, it);
});

describe("v12: creators outrank everyone", () => {
  const withCreators = (id: string) => {
    const create = makeCreate(version(id), { content: { additional_creators: [CAROL] } });
    return new TestRoom(id, { create, powerLevels: { users: { [BOB]: 100 }, ban: 50, kick: 50 } });
  };
  const cases: AuthCase[] = [
    { name: "a creator bans a user of power 100", versions: ["12"], room: withCreators, event: () => memberEvent(ALICE, BOB, "ban"), allowed: true },
    { name: "an additional creator kicks a user of power 100", versions: ["12"], room: withCreators, event: () => memberEvent(CAROL, BOB, "leave"), allowed: true },
    { name: "a user of power 100 cannot ban a creator", versions: ["12"], room: withCreators, event: () => memberEvent(BOB, ALICE, "ban"), allowed: false },
    { name: "a creator cannot kick another creator", versions: ["12"], room: withCreators, event: () => memberEvent(ALICE, CAROL, "leave"), allowed: false },
    {
      name: "before v12 additional_creators gives no power",
      versions: ["11"],
      room: (id) => {
        const create = makeCreate(version(id), { content: { additional_creators: [CAROL] } });
        return new TestRoom(id, { create, powerLevels: { users: { [BOB]: 100 }, ban: 50 } });
      },
      event: () => memberEvent(CAROL, BOB, "ban"),
      allowed: false,
    },
  ];
  runAuthCases(cases, it);
});

describe("membership helpers", () => {
  it("effectiveMembership: the membership of the user's member event, else leave", () => {
    const room = new TestRoom("10", { members: { [ALICE]: "join", [DAVE]: "invite" } });
    room.setState("m.room.member", EVE, { membership: 7 }, EVE);
    assert.equal(effectiveMembership(ALICE, room.lookup), "join");
    assert.equal(effectiveMembership(DAVE, room.lookup), "invite");
    assert.equal(effectiveMembership(CAROL, room.lookup), "leave");
    assert.equal(effectiveMembership(EVE, room.lookup), "leave");
  });

  it("joinAuthorisingServer: the server of join_authorised_via_users_server, from v8", () => {
    const content = { membership: "join", join_authorised_via_users_server: "@bob:example.org:8448" };
    const event = (v: string) => new TestRoom(v).event({ type: "m.room.member", sender: EVE, stateKey: EVE, content });
    assert.equal(joinAuthorisingServer(event("8")), "example.org:8448");
    assert.equal(joinAuthorisingServer(event("7")), undefined);
    const noKey = new TestRoom("9").event(memberEvent(EVE, EVE, "join"));
    assert.equal(joinAuthorisingServer(noKey), undefined);
  });
});
