// The Common Namespaced Identifier Grammar (appendices#common-namespaced-identifier-grammar):
// 1-255 characters of [a-z0-9-_.], starting with [a-z]; `m.` is reserved for the spec.

const NAMESPACED_ID = /^[a-z][a-z0-9\-_.]{0,254}$/;

/** Whether `s` matches the common namespaced identifier grammar (the namespacing itself is a convention, not checked). */
export function isValidNamespacedId(s: string): boolean {
  return NAMESPACED_ID.test(s);
}
