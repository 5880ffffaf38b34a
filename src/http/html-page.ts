// The small HTML pages a browser is answered with where a mailed link leads (validating an email
// address, at the homeserver or the identity service), every given text escaped.
import { HttpReply } from "./endpoint.ts";

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A page of a title and one paragraph: `message` is text, escaped, unless `messageHtml` says it is markup made safe already. */
export function htmlPage(status: number, title: string, message: string, messageHtml = false): HttpReply {
  const body = `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>${messageHtml ? message : escapeHtml(message)}</p></body></html>\n`;
  return HttpReply.raw(status, body, "text/html; charset=utf-8");
}
