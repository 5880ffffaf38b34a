// What GET /.well-known/matrix/support serves (client-server support.yaml, added in v1.10). Synapse
// has no keys for it, so these are Weft's own, shaped as the answer is:
//
//   support_contacts:
//     - {matrix_id: "@admin:example.org", email_address: admin@example.org, role: m.role.admin}
//     - {email_address: security@example.org, role: m.role.security}
//   support_page: https://example.org/support.html
import { isValidNamespacedId, parseUserId } from "../core/identifiers/index.ts";
import { describe, Section } from "./section.ts";
import type { ServerSupportConfig, SupportContact } from "./types.ts";

// support.yaml: "m.role.admin" and "m.role.security", or any role in the namespaced identifier
// grammar (appendices#common-namespaced-identifier-grammar), where `m.` is the spec's alone.
const SPEC_ROLES: ReadonlySet<string> = new Set(["m.role.admin", "m.role.security"]);

// An address with one @ and something either side: the mail system, not this file, says more.
const EMAIL_ADDRESS = /^[^\s@]+@[^\s@]+$/;

/** Undefined when neither key is set (or the contact list is empty and there is no page). */
export function readServerSupport(root: Section): ServerSupportConfig | undefined {
  const contacts = (root.list("support_contacts") ?? []).map((item, i) => readContact(Section.of(root.ctx, item, `${root.keyPath("support_contacts")}[${i}]`)));
  const page = readSupportPage(root);
  // support.yaml: at least one of `contacts` (non-empty) or `support_page`; neither: the endpoint is a 404.
  if (contacts.length === 0 && page === undefined) return undefined;
  return { contacts, page };
}

function readContact(section: Section): SupportContact {
  const role = section.string("role") ?? section.fail("role", "is required: m.role.admin, m.role.security, or a namespaced role such as org.example.moderator");
  if (!SPEC_ROLES.has(role) && (role.startsWith("m.") || !isValidNamespacedId(role))) {
    section.fail("role", `must be m.role.admin, m.role.security, or a namespaced role such as org.example.moderator ([a-z][a-z0-9._-]*, not starting with m.), got ${describe(role)}`);
  }
  const matrixId = section.string("matrix_id");
  if (matrixId !== undefined && parseUserId(matrixId) === undefined) section.fail("matrix_id", `must be a Matrix user ID such as @admin:example.org, got ${describe(matrixId)}`);
  const emailAddress = section.string("email_address");
  if (emailAddress !== undefined && !EMAIL_ADDRESS.test(emailAddress)) section.fail("email_address", `must be an email address, got ${describe(emailAddress)}`);
  // support.yaml Contact: at least one of `matrix_id` or `email_address`.
  if (matrixId === undefined && emailAddress === undefined) section.fail("matrix_id", "a contact needs a matrix_id or an email_address (or both)");
  section.finish();
  return { ...(matrixId === undefined ? {} : { matrixId }), ...(emailAddress === undefined ? {} : { emailAddress }), role };
}

function readSupportPage(root: Section): string | undefined {
  const page = root.string("support_page");
  if (page === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(page);
  } catch {
    root.fail("support_page", `is not a URL: ${describe(page)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") root.fail("support_page", "must be an http or https URL");
  return page;
}
