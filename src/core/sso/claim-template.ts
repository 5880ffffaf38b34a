// The attribute templates of an OIDC provider's user mapping (`localpart_template`,
// `display_name_template`, `email_template`), in the part of Synapse's Jinja syntax those configs
// use: text with `{{ user.<claim> }}` placeholders, a claim path dotted into nested objects, and
// filters after `|`. Anything else is refused when the config is read, not met at a login.

/** A template, parsed once: literal text and placeholders in order. */
export interface ClaimTemplate {
  readonly source: string;
  readonly parts: ReadonlyArray<string | { readonly path: readonly string[]; readonly filters: readonly ClaimFilter[] }>;
}

type ClaimFilter = (value: string) => string;

const FILTERS: Readonly<Record<string, ClaimFilter>> = {
  lower: (v) => v.toLowerCase(),
  upper: (v) => v.toUpperCase(),
  trim: (v) => v.trim(),
  // Synapse's own filter: the part of an email address before its last `@`.
  localpart_from_email: (v) => (v.includes("@") ? v.slice(0, v.lastIndexOf("@")) : v),
};

const PLACEHOLDER = /\{\{(.*?)\}\}/g;
const CLAIM_PATH = /^user(\.[A-Za-z_][A-Za-z0-9_]*)+$/;

/** Parses a template; throws an Error saying what is wrong with it. */
export function parseClaimTemplate(source: string): ClaimTemplate {
  const parts: Array<ClaimTemplate["parts"][number]> = [];
  let last = 0;
  for (const match of source.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push(literal(source.slice(last, match.index)));
    const [expression = "", ...filterNames] = (match[1] ?? "").split("|").map((s) => s.trim());
    if (!CLAIM_PATH.test(expression)) throw new Error(`{{${match[1] ?? ""}}}: a placeholder names a claim as user.<claim>`);
    const filters = filterNames.map((name) => {
      const filter = FILTERS[name];
      if (filter === undefined) throw new Error(`unknown filter "${name}" (there are ${Object.keys(FILTERS).join(", ")})`);
      return filter;
    });
    parts.push({ path: expression.split(".").slice(1), filters });
    last = match.index + match[0].length;
  }
  const rest = source.slice(last);
  if (rest !== "") parts.push(literal(rest));
  return { source, parts };
}

/** Text between placeholders, which must hold no other Jinja syntax (a tag, a comment, an unclosed placeholder). */
function literal(text: string): string {
  if (/\{[{%#]/.test(text)) throw new Error("only {{ user.<claim> }} placeholders are supported");
  return text;
}

/**
 * The template filled from the user's claims. A claim that is missing, or not a string or number,
 * fills in as empty, as in Jinja; the caller decides whether an empty result is acceptable.
 */
export function renderClaimTemplate(template: ClaimTemplate, claims: Readonly<Record<string, unknown>>): string {
  let out = "";
  for (const part of template.parts) {
    if (typeof part === "string") {
      out += part;
      continue;
    }
    let value: unknown = claims;
    for (const key of part.path) value = typeof value === "object" && value !== null && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
    let text = typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
    for (const filter of part.filters) text = filter(text);
    out += text;
  }
  return out;
}
