// The Opaque Identifier Grammar (appendices#opaque-identifiers), used for device IDs,
// transaction IDs and the like: RFC 3986's unreserved characters, 1 to 255 of them.

const OPAQUE_ID = /^[0-9A-Za-z\-._~]{1,255}$/;

/** Whether `s` matches the opaque identifier grammar with its default length limits (1-255). */
export function isValidOpaqueId(s: string): boolean {
  return OPAQUE_ID.test(s);
}
