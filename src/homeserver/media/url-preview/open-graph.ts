// An HTML page's OpenGraph data (https://ogp.me/), with Synapse's fallbacks for pages that give
// little: Twitter Card tags, then the <title> (or first heading), a microdata or <img> image or
// the favicon, and the meta description or a summary of the page's text.
// The page is read with htmlparser2's event parser: nothing but the tags below is kept.
import { Parser } from "htmlparser2";
import { summarizeParagraphs } from "./summary.ts";

/** More `og:` (or `twitter:`) tags than this and the page is taking liberties: its tags are ignored, as Synapse does. */
const MAX_META_TAGS = 50;
/** Synapse prunes longer tag names and values from the answer. */
export const MAX_TAG_NAME_LENGTH = 50;
export const MAX_TAG_VALUE_LENGTH = 1000;
/** Text collected for the summary past this many characters is more than it can use. */
const MAX_TEXT_COLLECTED = 4000;

/** Elements whose text says nothing about the page (Synapse leaves the same out of its summary). */
const NOT_TEXT: ReadonlySet<string> = new Set([
  "head", "title", "header", "nav", "aside", "footer", "script", "noscript", "style", "svg", "iframe", "video", "canvas", "img", "picture", "template",
]);
const TITLE_TAGS: ReadonlySet<string> = new Set(["title", "h1", "h2", "h3"]);

export type OpenGraph = Record<string, string | number>;

/** Twitter Card names as OpenGraph ones; undefined: not carried over. */
function twitterToOpenGraph(name: string): string | undefined {
  if (name === "twitter:card") return undefined;
  if (name === "twitter:creator") return "profile:username";
  return `og:${name.slice("twitter:".length)}`;
}

/** A number as XPath's number() reads an attribute: digits with an optional fraction, else NaN. */
function attributeNumber(value: string | undefined): number {
  return value !== undefined && /^\s*-?(\d+(\.\d*)?|\.\d+)\s*$/.test(value) ? Number(value) : Number.NaN;
}

interface Collected {
  readonly og: Map<string, string>;
  readonly twitter: Map<string, string>;
  ogCount: number;
  twitterCount: number;
  title?: string;
  microdataImage?: string;
  sizedImages: { src: string; area: number }[];
  anyImage?: string;
  favicon?: string;
  metaDescription?: string;
  readonly paragraphs: string[];
  textLength: number;
}

function collect(html: string): Collected {
  const found: Collected = { og: new Map(), twitter: new Map(), ogCount: 0, twitterCount: 0, sizedImages: [], paragraphs: [], textLength: 0 };
  /** Open elements; `first` marks the first title, h1, h2 or h3 of its kind. */
  const stack: { name: string; first: boolean }[] = [];
  const titleTagsSeen = new Set<string>();
  let skipDepth = 0;
  let text = "";

  const flushText = (): void => {
    const top = stack[stack.length - 1];
    if (text.trim() === "") {
      text = "";
      return;
    }
    // The first text of the first title, h1, h2 or h3, whichever comes first (Synapse's XPath union).
    if (found.title === undefined && top?.first === true) found.title = text.trim();
    if (skipDepth === 0 && found.textLength < MAX_TEXT_COLLECTED) {
      found.paragraphs.push(text.trim());
      found.textLength += text.length;
    }
    text = "";
  };

  const onMeta = (attribs: Record<string, string>): void => {
    const content = attribs["content"];
    if (content === undefined || content === "") return;
    const property = attribs["property"];
    if (property?.startsWith("og:") === true) {
      found.ogCount++;
      found.og.set(property, content); // a later tag wins, as in Synapse
    }
    const name = attribs["name"];
    if (name?.startsWith("twitter:") === true) {
      found.twitterCount++;
      const key = twitterToOpenGraph(name);
      if (key !== undefined) found.twitter.set(key, content);
    }
    if (found.microdataImage === undefined && attribs["itemprop"]?.toLowerCase() === "image") found.microdataImage = content;
    if (found.metaDescription === undefined && name?.toLowerCase() === "description") found.metaDescription = content;
  };

  const parser = new Parser(
    {
      onopentag(name, attribs) {
        flushText();
        if (name === "meta") onMeta(attribs);
        else if (name === "img" && attribs["src"] !== undefined) {
          const src = attribs["src"];
          const width = attributeNumber(attribs["width"]);
          const height = attributeNumber(attribs["height"]);
          if (width > 10 && height > 10) found.sizedImages.push({ src, area: width * height });
          if (found.anyImage === undefined && !src.startsWith("data:")) found.anyImage = src;
        } else if (name === "link" && found.favicon === undefined && attribs["href"] !== undefined && (attribs["rel"] ?? "").includes("icon")) {
          found.favicon = attribs["href"];
        }
        const first = TITLE_TAGS.has(name) && !titleTagsSeen.has(name);
        if (first) titleTagsSeen.add(name);
        stack.push({ name, first });
        if (NOT_TEXT.has(name)) skipDepth++;
      },
      ontext(chunk) {
        text += chunk;
      },
      oncomment() {
        flushText();
      },
      onclosetag(name) {
        flushText();
        const at = stack.map((e) => e.name).lastIndexOf(name);
        if (at < 0) return;
        for (const closed of stack.splice(at)) if (NOT_TEXT.has(closed.name)) skipDepth--;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.end(html);
  flushText();
  return found;
}

/** The OpenGraph data of an HTML page, with Synapse's fallbacks; `og:image` may be a relative URL. */
export function parseHtmlToOpenGraph(html: string): OpenGraph {
  const found = collect(html);
  const og: OpenGraph = found.ogCount > MAX_META_TAGS ? {} : Object.fromEntries(found.og);
  // Twitter Card values fill in what the OpenGraph tags left out, never replacing them.
  if (found.twitterCount <= MAX_META_TAGS) {
    for (const [key, value] of found.twitter) if (!(key in og)) og[key] = value;
  }
  if (!("og:title" in og) && found.title !== undefined) og["og:title"] = found.title;
  if (!("og:image" in og)) {
    // The largest image of more than 10 by 10 pixels, as its attributes say; else any image not
    // inline; else the favicon.
    const largest = [...found.sizedImages].sort((a, b) => b.area - a.area)[0]?.src;
    const image = found.microdataImage ?? largest ?? found.anyImage ?? found.favicon;
    if (image !== undefined) og["og:image"] = image;
  }
  const ogDescription = og["og:description"];
  if (ogDescription === undefined) {
    const description = found.metaDescription ?? summarizeParagraphs(found.paragraphs);
    if (description !== undefined) og["og:description"] = description;
  } else {
    const summary = summarizeParagraphs([String(ogDescription)]);
    if (summary === undefined) delete og["og:description"];
    else og["og:description"] = summary;
  }
  return og;
}

/** Synapse drops tags whose name or value is overlong rather than answer them. */
export function pruneOverlong(og: OpenGraph): OpenGraph {
  return Object.fromEntries(Object.entries(og).filter(([key, value]) => key.length <= MAX_TAG_NAME_LENGTH && String(value).length <= MAX_TAG_VALUE_LENGTH));
}
