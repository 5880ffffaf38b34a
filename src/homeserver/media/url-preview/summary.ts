// A page's description made of its text, as Synapse makes it when the page gives none: paragraphs
// added until there are at least 200 characters, then cut at a word boundary below 500, with an
// ellipsis when cut.

export const SUMMARY_MIN_SIZE = 200;
export const SUMMARY_MAX_SIZE = 500;

export function summarizeParagraphs(paragraphs: Iterable<string>, minSize = SUMMARY_MIN_SIZE, maxSize = SUMMARY_MAX_SIZE): string | undefined {
  let description = "";
  for (const paragraph of paragraphs) {
    if (description.length >= minSize) break;
    description += `${paragraph.replace(/[\t \r\n]+/g, " ")}\n\n`;
  }
  description = description.trim().replace(/[\t ]+/g, " ").replace(/[\t \r\n]*[\r\n]+/g, "\n\n");
  if (description.length > maxSize) {
    let cut = "";
    // Words with the whitespace before them, so joining them back keeps the spacing.
    for (const [word] of description.matchAll(/\s*\S+/g)) {
      if (word.length + cut.length < maxSize) {
        cut += word;
        continue;
      }
      // One huge word is taken anyway when there is little yet, and cut below.
      if (cut.length < minSize) cut += word;
      break;
    }
    // Always an ellipsis: at the least, a paragraph was cut.
    description = `${cut.slice(0, maxSize).trim()}…`;
  }
  return description === "" ? undefined : description;
}
