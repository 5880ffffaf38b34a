// The text of an HTML page, in the encoding it declares. As Synapse: a <meta charset> in the first
// KiB first, then an XML declaration's encoding, then the Content-Type header's charset, then
// UTF-8, and Windows-1252 when nothing else decodes the bytes.
import { TextDecoder } from "node:util";

/** How far into the page a declaration is looked for (it belongs at the top). */
const SNIFF_BYTES = 1024;

const META_CHARSET = /<\s*meta[^>]*charset\s*=\s*["']?([a-z0-9_-]+)/i;
const XML_ENCODING = /^\s*<\s*\?\s*xml[^>]*encoding\s*=\s*["']([a-z0-9_-]+)["']/i;
const HEADER_CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

/**
 * Windows-1252's characters for bytes 0x80 to 0x9f (the rest are Latin-1's). Some Node versions
 * decode the label "windows-1252" (and "iso-8859-1", its WHATWG alias) as plain Latin-1, which
 * would turn these into control characters, so those are decoded here.
 */
const WINDOWS_1252_HIGH =
  "\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178";

function decodeWindows1252(body: Buffer): string {
  let text = "";
  for (const byte of body) text += byte >= 0x80 && byte <= 0x9f ? WINDOWS_1252_HIGH[byte - 0x80] : String.fromCharCode(byte);
  return text;
}

/** The encodings to try, in order, without repeats. */
export function candidateEncodings(body: Buffer, contentType: string | undefined): string[] {
  // latin1 keeps one character per byte, so the patterns see the ASCII of any ASCII-compatible page.
  const head = body.subarray(0, SNIFF_BYTES).toString("latin1");
  const found = [META_CHARSET.exec(head)?.[1], XML_ENCODING.exec(head)?.[1], contentType === undefined ? undefined : HEADER_CHARSET.exec(contentType)?.[1], "utf-8", "windows-1252"];
  const seen: string[] = [];
  for (const label of found) {
    if (label === undefined) continue;
    const normalised = label.toLowerCase();
    if (!seen.includes(normalised)) seen.push(normalised);
  }
  return seen;
}

/** The page as text; undefined for an empty body, which has nothing to preview. */
export function decodeHtml(body: Buffer, contentType: string | undefined): string | undefined {
  if (body.length === 0) return undefined;
  for (const label of candidateEncodings(body, contentType)) {
    let decoder: TextDecoder;
    try {
      decoder = new TextDecoder(label, { fatal: true });
    } catch {
      continue; // an encoding this runtime does not know
    }
    if (decoder.encoding === "windows-1252") return decodeWindows1252(body);
    try {
      return decoder.decode(body);
    } catch {
      // not this encoding: try the next
    }
  }
  // Not reached: Windows-1252, the last candidate, decodes any bytes.
  return decodeWindows1252(body);
}
