// Reading a search term (web search syntax) and writing it as an FTS5 query: examples, and
// properties checked against a real FTS5 table (any term gives a query FTS5 accepts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SqliteDatabase } from "../../../src/storage/sqlite-driver.ts";
import { MAX_OPERANDS, fts5Query, parseSearchTerm } from "../../../src/storage/stores/search-query.ts";

const texts = (term: string) => {
  const parsed = parseSearchTerm(term);
  return parsed === undefined ? undefined : { clauses: parsed.clauses.map((c) => c.map((o) => o.text)), excluded: parsed.excluded.map((o) => o.text) };
};

describe("parseSearchTerm", () => {
  it("reads words, quoted phrases, `or` and `-`", () => {
    assert.deepEqual(texts("martians and men"), { clauses: [["martians"], ["and"], ["men"]], excluded: [] });
    assert.deepEqual(texts('"martians and" men'), { clauses: [["martians and"], ["men"]], excluded: [] });
    assert.deepEqual(texts("cats OR dogs fish"), { clauses: [["cats", "dogs"], ["fish"]], excluded: [] });
    assert.deepEqual(texts("cats -dogs -\"wet fish\""), { clauses: [["cats"]], excluded: ["dogs", "wet fish"] });
    assert.deepEqual(texts("or cats or"), { clauses: [["or"], ["cats"], ["or"]], excluded: [] }, "`or` at either end is a word");
    assert.deepEqual(texts("a - b"), { clauses: [["a"], ["b"]], excluded: [] }, "a lone dash is no operator");
    assert.deepEqual(texts('"unclosed phrase'), { clauses: [["unclosed phrase"]], excluded: [] });
  });

  it("reads at most MAX_OPERANDS words", () => {
    const many = parseSearchTerm(Array.from({ length: MAX_OPERANDS + 50 }, (_, i) => (i % 2 === 0 ? `w${i}` : `-x${i}`)).join(" "));
    assert.equal((many?.clauses.length ?? 0) + (many?.excluded.length ?? 0), MAX_OPERANDS);
  });

  it("finds nothing to search in a term without a word, or with only excluded words", () => {
    for (const term of ["", "   ", "!!! ...", '""', "-cats", "-cats -dogs", "\u0000"]) assert.equal(parseSearchTerm(term), undefined, term);
  });

  it("writes FTS5 strings, never FTS5 syntax", () => {
    const parsed = parseSearchTerm('cats or NEAR(x) -"a""b" col:y*');
    assert.ok(parsed !== undefined);
    assert.equal(fts5Query(parsed), '(("cats" OR "NEAR(x)") AND "b" AND "col:y*") NOT ("a")');
    const two = parseSearchTerm("cats -a -b");
    assert.ok(two !== undefined);
    assert.equal(fts5Query(two), '("cats") NOT ("a" OR "b")');
  });

  it("gives FTS5 a valid query for any term, matching a text made of the term's own words", () => {
    const db = new SqliteDatabase(":memory:");
    db.exec("create virtual table t using fts5(value, tokenize = 'porter unicode61 remove_diacritics 2')");
    const match = db.prepare("select count(*) as n from t where t match ?");
    const insert = db.prepare("insert into t (rowid, value) values (?, ?)");
    let row = 0;
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", "b", "Z", "é", "日", "1", " ", '"', "-", "*", "(", ")", ":", "^", "+", "o", "r", "N", "\u0000", "_") }), (term) => {
        const parsed = parseSearchTerm(term);
        if (parsed === undefined) return;
        match.get(fts5Query(parsed));
        // A text holding every wanted operand matches, unless it also holds an excluded one.
        const wanted = parsed.clauses.map((c) => c[0]?.text ?? "").join(" ");
        assert.ok(!wanted.includes("\u0000"), "no NUL reaches an engine");
        insert.run(++row, wanted);
        const excludedWords = parsed.excluded.flatMap((o) => o.text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
        const wantedWords = new Set(wanted.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
        if (excludedWords.every((w) => !wantedWords.has(w))) {
          const hit = db.prepare(`select count(*) as n from t where t match ? and rowid = ${row}`).get(fts5Query(parsed)) as { n: number };
          assert.equal(hit.n, 1, `${JSON.stringify(term)} -> ${fts5Query(parsed)} on ${JSON.stringify(wanted)}`);
        }
      }),
      { numRuns: 300 },
    );
    db.close();
  });
});
