// Decoding a page in the encoding it declares, in Synapse's order.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { candidateEncodings, decodeHtml } from "../../../../src/homeserver/media/url-preview/charset.ts";

describe("decodeHtml", () => {
  it("reads a <meta charset> before the Content-Type header", () => {
    const body = Buffer.concat([Buffer.from('<html><head><meta charset="iso-8859-1"><title>'), Buffer.from([0x63, 0x61, 0x66, 0xe9]), Buffer.from("</title>")]);
    assert.deepEqual(candidateEncodings(body, "text/html; charset=utf-8"), ["iso-8859-1", "utf-8", "windows-1252"]);
    assert.match(decodeHtml(body, "text/html; charset=utf-8") ?? "", /café/);
  });

  it("reads the http-equiv form and an XML declaration", () => {
    const equiv = Buffer.from('<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">');
    assert.equal(candidateEncodings(equiv, undefined)[0], "shift_jis");
    const xml = Buffer.from('<?xml version="1.0" encoding="ISO-8859-2"?><html/>');
    assert.equal(candidateEncodings(xml, undefined)[0], "iso-8859-2");
  });

  it("uses the Content-Type charset when the page declares none", () => {
    const body = Buffer.from([0x3c, 0x70, 0x3e, 0xe9, 0x3c, 0x2f, 0x70, 0x3e]); // <p>é</p> in Latin-1
    assert.equal(decodeHtml(body, 'text/html; charset="ISO-8859-1"'), "<p>é</p>");
  });

  it("falls back to UTF-8, then Windows-1252 when the bytes are not UTF-8", () => {
    assert.equal(decodeHtml(Buffer.from("<p>ünïcödé</p>"), "text/html"), "<p>ünïcödé</p>");
    assert.equal(decodeHtml(Buffer.from([0x3c, 0x70, 0x3e, 0x80, 0x3c, 0x2f, 0x70, 0x3e]), "text/html"), "<p>€</p>");
  });

  it("skips an encoding it does not know, and drops a byte order mark", () => {
    assert.equal(decodeHtml(Buffer.from('<meta charset="no-such-thing"><p>x</p>'), undefined), '<meta charset="no-such-thing"><p>x</p>');
    assert.equal(decodeHtml(Buffer.from("\ufeff<p>x</p>"), undefined), "<p>x</p>");
  });

  it("answers undefined for an empty body", () => {
    assert.equal(decodeHtml(Buffer.alloc(0), "text/html"), undefined);
  });
});
