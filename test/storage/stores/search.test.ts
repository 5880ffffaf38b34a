// The search index on both engines: matching (stemmed words, phrases, `or`, `-`), the rooms and
// the readable range searched, keys, senders and contains_url, both orders with their cursors,
// the count, highlights, removal, and the stored position.
import assert from "node:assert/strict";
import { it } from "node:test";
import { parseSearchTerm, type SearchTerms } from "../../../src/storage/stores/search-query.ts";
import { SearchStore, markedWords, type SearchEntry, type SearchQuery } from "../../../src/storage/stores/search.ts";
import { forEachEngine } from "../engines.ts";

function entry(eventId: string, value: string, streamOrdering: number, extra: Partial<SearchEntry> = {}): SearchEntry {
  return {
    eventId,
    roomId: "!a:x",
    sender: "@alice:x",
    key: "content.body",
    value,
    containsUrl: false,
    streamOrdering,
    originServerTs: 1000 + streamOrdering,
    ...extra,
  };
}

function terms(text: string): SearchTerms {
  const parsed = parseSearchTerm(text);
  assert.ok(parsed !== undefined, text);
  return parsed;
}

const ALL_KEYS = ["content.body", "content.name", "content.topic"] as const;

forEachEngine("SearchStore", (getDb) => {
  const query = (text: string, extra: Partial<SearchQuery> = {}): SearchQuery => ({
    terms: terms(text),
    rooms: [
      { roomId: "!a:x", upTo: undefined },
      { roomId: "!b:x", upTo: undefined },
    ],
    keys: ALL_KEYS,
    senders: undefined,
    notSenders: [],
    containsUrl: undefined,
    ...extra,
  });

  it("indexes entries, finds them by stemmed words, phrases, `or` and `-`, newest first", async () => {
    const store = new SearchStore(getDb());
    assert.equal(await store.position(), undefined);
    await store.write({
      add: [
        entry("$1", "The martians are coming", 1),
        entry("$2", "Men and martians running together", 2),
        entry("$3", "Running men", 3, { roomId: "!b:x", sender: "@bob:x" }),
        entry("$4", "A picture of a martian", 4, { containsUrl: true }),
        entry("$5", "Martian Chronicles", 5, { key: "content.name" }),
        entry("$6", "martians elsewhere", 6, { roomId: "!c:x" }),
      ],
      remove: [],
      position: 6,
    });
    assert.equal(await store.position(), 6);
    const ids = async (text: string, extra: Partial<SearchQuery> = {}) => (await store.search(query(text, extra), "recent", undefined, 10)).map((h) => h.eventId);
    assert.deepEqual(await ids("martian"), ["$5", "$4", "$2", "$1"], "stemmed, newest first, only the rooms searched");
    assert.deepEqual(await ids("MARTIANS run"), ["$2"]);
    assert.deepEqual(await ids('"men and martians"'), ["$2"]);
    assert.deepEqual(await ids('"martians and men"'), []);
    assert.deepEqual(await ids("chronicles or coming"), ["$5", "$1"]);
    assert.deepEqual(await ids("martian -picture"), ["$5", "$2", "$1"]);
    assert.deepEqual(await ids("martian", { keys: ["content.name"] }), ["$5"]);
    assert.deepEqual(await ids("martian", { containsUrl: true }), ["$4"]);
    assert.deepEqual(await ids("martian", { containsUrl: false }), ["$5", "$2", "$1"]);
    assert.deepEqual(await ids("running", { senders: ["@bob:x"] }), ["$3"]);
    assert.deepEqual(await ids("running", { notSenders: ["@bob:x"] }), ["$2"]);
    assert.deepEqual(await ids("running", { senders: [] }), []);
    assert.deepEqual(await ids("running", { rooms: [] }), []);
    assert.deepEqual(await ids("martian", { rooms: [{ roomId: "!a:x", upTo: 2 }] }), ["$2", "$1"], "a former member reads up to their leave");
    assert.equal(await store.count(query("martian")), 4);
    assert.equal(await store.count(query("running", { senders: [] })), 0);
  });

  it("pages newest first and best first with cursors that cover every match once", async () => {
    const store = new SearchStore(getDb());
    const many = Array.from({ length: 25 }, (_, i) => entry(`$p${i}`, `paging ${"paging ".repeat(i % 5)}word${i}`, 100 + i, { roomId: "!p:x" }));
    await store.write({ add: many, remove: [], position: 124 });
    const q = query("paging", { rooms: [{ roomId: "!p:x", upTo: undefined }] });
    for (const order of ["recent", "rank"] as const) {
      const seen: string[] = [];
      let cursor: { streamOrdering: number; rank?: number } | undefined;
      let lastRank = Infinity;
      for (;;) {
        const page = await store.search(q, order, cursor, 7);
        for (const hit of page) {
          if (order === "rank") assert.ok(hit.rank <= lastRank, "best first");
          lastRank = hit.rank;
          assert.ok(hit.rank > 0);
        }
        seen.push(...page.map((h) => h.eventId));
        const last = page[page.length - 1];
        if (page.length < 7 || last === undefined) break;
        cursor = { streamOrdering: last.streamOrdering, rank: last.rank };
      }
      assert.equal(seen.length, 25, order);
      assert.equal(new Set(seen).size, 25, order);
    }
  });

  it("marks the words matched as written, and forgets removed entries", async () => {
    const store = new SearchStore(getDb());
    await store.write({ add: [entry("$h1", "Martians RUNNING home", 200, { roomId: "!h:x" }), entry("$h2", "men run", 201, { roomId: "!h:x" })], remove: [], position: 201 });
    assert.deepEqual(await store.highlights(terms("martian run"), ["$h1", "$h2"]), ["Martians", "RUNNING"]);
    assert.deepEqual(await store.highlights(terms("run or home"), ["$h2", "$h1"]), ["run", "RUNNING", "home"]);
    await store.write({ add: [entry("$h3", "run again", 202, { roomId: "!h:x" })], remove: ["$h1", "$h3"], position: 150 });
    const q = query("run", { rooms: [{ roomId: "!h:x", upTo: undefined }] });
    assert.deepEqual((await store.search(q, "recent", undefined, 10)).map((h) => h.eventId), ["$h2"], "removed, and added-then-removed, are gone");
    assert.equal(await store.position(), 201, "the position never goes back");
    // Indexed twice (a catch-up and a live output): once.
    await store.write({ add: [entry("$h2", "men run", 201, { roomId: "!h:x" })], remove: [], position: undefined });
    assert.equal(await store.count(q), 1);
  });

  it("bounds each room to its own last readable position, whatever characters its ID has", async () => {
    const store = new SearchStore(getDb());
    const odd = ['!dot.ted:x', '!quo"te:x', "!back\\slash:x", "!日本:x"];
    await store.write({
      add: odd.flatMap((roomId, i) => [entry(`$o${i}a`, "bounded words", 400 + 10 * i, { roomId }), entry(`$o${i}b`, "bounded words", 405 + 10 * i, { roomId })]),
      remove: [],
      position: undefined,
    });
    const q = query("bounded", { rooms: odd.map((roomId, i) => ({ roomId, upTo: i % 2 === 0 ? 402 + 10 * i : undefined })) });
    const found = (await store.search(q, "recent", undefined, 20)).map((h) => h.eventId);
    assert.deepEqual(found, ["$o3b", "$o3a", "$o2a", "$o1b", "$o1a", "$o0a"]);
    assert.equal(await store.count(q), 6);
  });

  it("stores NUL as a space and takes any term without an error", async () => {
    const store = new SearchStore(getDb());
    await store.write({ add: [entry("$n1", "nul\u0000byte", 300, { roomId: "!n:x" })], remove: [], position: undefined });
    const q = (text: string) => query(text, { rooms: [{ roomId: "!n:x", upTo: undefined }] });
    assert.deepEqual((await store.search(q("byte"), "rank", undefined, 10)).map((h) => h.eventId), ["$n1"]);
    for (const text of ['nul"byte', "NOT AND OR", "a*", "(nul", "nul:byte", "^nul", "NEAR(nul byte)", "the"]) {
      await store.search(q(text), "rank", undefined, 10);
      await store.count(q(text));
      await store.highlights(terms(text), ["$n1"]);
    }
  });
});

it("markedWords reads the marked spans, word by word", () => {
  assert.deepEqual(markedWords("\u0001Martians and\u0002 men \u0001run\u0002"), ["Martians", "and", "run"]);
  assert.deepEqual(markedWords("nothing marked"), []);
});
