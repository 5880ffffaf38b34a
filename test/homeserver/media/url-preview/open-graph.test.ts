// OpenGraph extraction from HTML (authed-content-repo.yaml preview_url 200: OpenGraph data), with
// Synapse's fallbacks for pages without OpenGraph tags.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseHtmlToOpenGraph, pruneOverlong } from "../../../../src/homeserver/media/url-preview/open-graph.ts";
import { summarizeParagraphs } from "../../../../src/homeserver/media/url-preview/summary.ts";

const page = (head: string, body = ""): string => `<!doctype html><html><head>${head}</head><body>${body}</body></html>`;

describe("parseHtmlToOpenGraph", () => {
  it("answers the og: tags as they are, entities decoded", () => {
    const og = parseHtmlToOpenGraph(
      page(`
        <meta property="og:title" content="Matrix &amp; friends">
        <meta property="og:description" content="A blog post">
        <meta property="og:image" content="/logo.png">
        <meta property="og:type" content="article">
        <meta property="og:site_name" content="Matrix.org">
        <meta property="og:empty" content="">
        <META PROPERTY="og:url" CONTENT="https://matrix.org/blog">
        <title>Not this</title>`),
    );
    assert.deepEqual(og, {
      "og:title": "Matrix & friends",
      "og:description": "A blog post",
      "og:image": "/logo.png",
      "og:type": "article",
      "og:site_name": "Matrix.org",
      "og:url": "https://matrix.org/blog",
    });
  });

  it("keeps the last of repeated tags", () => {
    const og = parseHtmlToOpenGraph(page(`<meta property="og:title" content="one"><meta property="og:title" content="two">`));
    assert.equal(og["og:title"], "two");
  });

  it("fills in from Twitter Card tags without replacing OpenGraph ones", () => {
    const og = parseHtmlToOpenGraph(
      page(`
        <meta property="og:title" content="OG title">
        <meta name="twitter:title" content="Twitter title">
        <meta name="twitter:description" content="Twitter description">
        <meta name="twitter:card" content="summary">
        <meta name="twitter:creator" content="@someone">`),
    );
    assert.equal(og["og:title"], "OG title");
    assert.equal(og["og:description"], "Twitter description");
    assert.equal(og["profile:username"], "@someone");
    assert.equal("og:card" in og, false);
  });

  it("ignores the og: tags of a page with more than 50", () => {
    const tags = Array.from({ length: 51 }, (_, i) => `<meta property="og:t${i}" content="v">`).join("");
    const og = parseHtmlToOpenGraph(page(`${tags}<title>Fallback</title>`));
    assert.equal(og["og:t0"], undefined);
    assert.equal(og["og:title"], "Fallback");
  });

  it("falls back to <title>, the meta description and the first suitable <img>", () => {
    const og = parseHtmlToOpenGraph(
      page(
        `<title>  The page title  </title><meta name="Description" content="What the page is about">`,
        `<img src="data:image/png;base64,AAAA"><img src="/small.png" width="5" height="5"><img src="/big.png" width="300" height="200"><img src="/bigger.png" width="400" height="300">`,
      ),
    );
    assert.deepEqual(og, { "og:title": "The page title", "og:description": "What the page is about", "og:image": "/bigger.png" });
  });

  it("takes the first heading when there is no <title>", () => {
    assert.equal(parseHtmlToOpenGraph(page("", "<p>intro</p><h2>Second</h2><h1>First level</h1>"))["og:title"], "Second");
  });

  it("takes any image not inline when none gives its size, else the favicon", () => {
    assert.equal(parseHtmlToOpenGraph(page("", `<img src="data:image/gif;base64,R0"><img src="a.jpg"><img src="b.jpg">`))["og:image"], "a.jpg");
    assert.equal(parseHtmlToOpenGraph(page(`<link rel="shortcut icon" href="/favicon.ico">`))["og:image"], "/favicon.ico");
    assert.equal(parseHtmlToOpenGraph(page(`<meta itemprop="image" content="/micro.png">`, `<img src="x.png">`))["og:image"], "/micro.png");
    assert.equal("og:image" in parseHtmlToOpenGraph(page("<title>t</title>")), false);
  });

  it("summarises the page's text, leaving out navigation, scripts and comments", () => {
    const og = parseHtmlToOpenGraph(
      page(
        "<title>t</title><style>p { color: red }</style>",
        `<nav>Home | About</nav><script>var x = 1;</script><!-- hidden --><p>First   paragraph
        here.</p><footer>Copyright</footer><p>Second <b>bold</b> end.</p>`,
      ),
    );
    assert.equal(og["og:description"], "First paragraph here.\n\nSecond\n\nbold\n\nend.");
  });

  it("cuts a long description at a word, with an ellipsis", () => {
    const long = Array.from({ length: 200 }, (_, i) => `word${i}`).join(" ");
    const og = parseHtmlToOpenGraph(page(`<meta property="og:description" content="${long}">`));
    const description = og["og:description"] as string;
    assert.ok(description.length <= 501, `${description.length}`);
    assert.ok(description.endsWith("…"));
    assert.ok(long.startsWith(description.slice(0, -1)));
  });

  it("answers nothing for a page with nothing in it", () => {
    assert.deepEqual(parseHtmlToOpenGraph(""), {});
    assert.deepEqual(parseHtmlToOpenGraph("<html><body>   </body></html>"), {});
  });

  it("copes with broken markup", () => {
    const og = parseHtmlToOpenGraph(`<title>Broken<meta property="og:image" content="i.png"><p>unclosed <div><span>text`);
    assert.equal(typeof og, "object");
  });
});

describe("summarizeParagraphs", () => {
  it("adds paragraphs until 200 characters", () => {
    const a = "a".repeat(150);
    const b = "b".repeat(100);
    assert.equal(summarizeParagraphs([a, b, "c"]), `${a}\n\n${b}`);
  });

  it("cuts a single huge word at 500 characters", () => {
    const summary = summarizeParagraphs(["x".repeat(800)]) as string;
    assert.equal(summary, `${"x".repeat(500)}…`);
  });

  it("answers undefined for no text", () => {
    assert.equal(summarizeParagraphs([]), undefined);
    assert.equal(summarizeParagraphs([" \n "]), undefined);
  });
});

describe("pruneOverlong", () => {
  it("drops tags with overlong names or values, as Synapse", () => {
    const og = pruneOverlong({ "og:title": "t", [`og:${"n".repeat(60)}`]: "v", "og:description": "d".repeat(1001), "og:image:width": 48 });
    assert.deepEqual(og, { "og:title": "t", "og:image:width": 48 });
  });
});
