// `url_preview_url_blacklist`, as Synapse applies it: an entry names parts of a URL (Python
// urlsplit's attributes) with a glob, or a regular expression when it starts with `^`; a URL
// matching every part of any one entry is refused.
import type { UrlPatternRule } from "../../../config/types.ts";

/** A shell-style glob (Python's fnmatch: `*`, `?`, `[seq]`, `[!seq]`) as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*") source += "[\\s\\S]*";
    else if (c === "?") source += "[\\s\\S]";
    else if (c === "[") {
      const end = glob.indexOf("]", glob[i + 1] === "!" ? i + 3 : i + 2);
      if (end < 0) {
        source += "\\[";
        continue;
      }
      let body = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
      if (body.startsWith("!")) body = `^${body.slice(1)}`;
      else if (body.startsWith("^")) body = `\\${body}`;
      source += `[${body}]`;
      i = end;
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** The value urlsplit gives for a part, or undefined where it gives None (no user, no port). */
function urlPart(url: URL, part: string): string | undefined {
  switch (part) {
    case "scheme":
      return url.protocol.slice(0, -1);
    case "netloc": {
      const user = url.username === "" ? "" : `${url.username}${url.password === "" ? "" : `:${url.password}`}@`;
      return `${user}${url.host}`;
    }
    case "path":
      return url.pathname;
    case "query":
      return url.search.slice(1);
    case "fragment":
      return url.hash.slice(1);
    case "username":
      return url.username === "" ? undefined : decodeURIComponent(url.username);
    case "password":
      return url.password === "" ? undefined : decodeURIComponent(url.password);
    case "hostname":
      // urlsplit gives an IPv6 host without its brackets.
      return url.hostname.replace(/^\[(.*)\]$/, "$1");
    case "port":
      return url.port === "" ? undefined : url.port;
    default:
      return undefined;
  }
}

interface CompiledRule {
  readonly parts: readonly { readonly part: string; readonly test: (value: string) => boolean }[];
}

export class UrlBlocklist {
  readonly #rules: readonly CompiledRule[];

  constructor(rules: readonly UrlPatternRule[]) {
    this.#rules = rules.map((rule) => ({
      parts: Object.entries(rule).map(([part, pattern]) => {
        // A regular expression matches from the start, as Python's re.match; a glob matches the whole value.
        const re = pattern.startsWith("^") ? new RegExp(pattern) : globToRegExp(pattern);
        return { part, test: (value: string) => re.test(value) };
      }),
    }));
  }

  /** Whether some entry matches every one of its parts of this URL (an absent part matches nothing). */
  isBlocked(url: URL): boolean {
    return this.#rules.some((rule) =>
      rule.parts.every(({ part, test }) => {
        const value = urlPart(url, part);
        return value !== undefined && test(value);
      }),
    );
  }
}
