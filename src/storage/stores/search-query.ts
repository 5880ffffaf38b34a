// A search term as the search index reads it. search.yaml says only "the string to search events
// for"; we read it as web search engines (and PostgreSQL's websearch_to_tsquery) do: words must all
// appear, "quoted words" must appear together in that order, `or` between two terms lets either do,
// and a term after `-` must not appear. Parsed once here, then written in each engine's own query
// language (FTS5 below; tsquery in search.ts), so both engines answer the same question.

/** One word, or a quoted phrase of words, as the user wrote it (the engine's tokenizer splits it). */
export interface SearchOperand {
  readonly text: string;
}

/** Every clause must match (a clause matches when any of its operands does); no excluded operand may. */
export interface SearchTerms {
  readonly clauses: ReadonlyArray<readonly SearchOperand[]>;
  readonly excluded: readonly SearchOperand[];
}

// Only text with a letter or a digit can hold a word for either engine's tokenizer.
const WORDY = /[\p{L}\p{N}]/u;
/** The words and phrases of a term read at most: a pasted page searches by its start, at a bounded cost. */
export const MAX_OPERANDS = 100;

/** Reads a search term; undefined when it asks for no word at all (nothing can match). */
export function parseSearchTerm(text: string): SearchTerms | undefined {
  // NUL ends a string for FTS5 and is refused in PostgreSQL text: it separates words, as a space does.
  const term = text.replaceAll("\u0000", " ");
  const clauses: SearchOperand[][] = [];
  const excluded: SearchOperand[] = [];
  let orPending = false;
  let i = 0;
  let operands = 0;
  while (i < term.length && operands < MAX_OPERANDS) {
    const c = term[i] as string;
    if (/\s/u.test(c)) {
      i++;
      continue;
    }
    let negated = false;
    if (c === "-" && i + 1 < term.length && !/\s/u.test(term[i + 1] as string)) {
      negated = true;
      i++;
    }
    let text: string;
    let quoted = false;
    if (term[i] === '"') {
      const end = term.indexOf('"', i + 1);
      text = term.slice(i + 1, end === -1 ? term.length : end);
      i = end === -1 ? term.length : end + 1;
      quoted = true;
    } else {
      let end = i;
      while (end < term.length && !/\s/u.test(term[end] as string) && term[end] !== '"') end++;
      text = term.slice(i, end);
      i = end;
    }
    if (!negated && !quoted && text.toLowerCase() === "or") {
      // `or` joins the terms either side of it; at the start, or twice in a row, it is a word.
      if (clauses.length > 0 && !orPending) {
        orPending = true;
        continue;
      }
    }
    if (!WORDY.test(text)) continue;
    operands++;
    const operand = { text };
    if (negated) excluded.push(operand);
    else if (orPending && clauses.length > 0) (clauses[clauses.length - 1] as SearchOperand[]).push(operand);
    else clauses.push([operand]);
    orPending = false;
  }
  // A trailing `or` was a word after all.
  if (orPending) clauses.push([{ text: "or" }]);
  return clauses.length === 0 ? undefined : { clauses, excluded };
}

/**
 * The terms as an FTS5 query. Every operand is an FTS5 string (double quotes, inner ones doubled),
 * which FTS5 splits with the table's own tokenizer into a phrase: no user text is read as FTS5
 * syntax, so no term can make the query invalid.
 */
export function fts5Query(terms: SearchTerms): string {
  const quote = (operand: SearchOperand): string => `"${operand.text.replaceAll('"', '""')}"`;
  const clauses = terms.clauses.map((clause) => (clause.length === 1 ? quote(clause[0] as SearchOperand) : `(${clause.map(quote).join(" OR ")})`));
  const wanted = `(${clauses.join(" AND ")})`;
  // One NOT of them all: FTS5 nests a chain of NOTs, and refuses a tree deeper than 256.
  return terms.excluded.length === 0 ? wanted : `${wanted} NOT (${terms.excluded.map(quote).join(" OR ")})`;
}
