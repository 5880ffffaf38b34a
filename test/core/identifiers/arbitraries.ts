// fast-check arbitraries shared by the identifier tests.
import fc from "fast-check";

/** Localparts of the current user ID grammar (appendices#user-identifiers). */
export const currentLocalpart = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-.=_/+"),
  minLength: 1,
  maxLength: 40,
});

/** Valid server names: DNS names, IPv4 and bracketed IPv6 literals, with or without a port. */
export const serverName = fc
  .tuple(
    fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6().map((a) => `[${a}]`)),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
  )
  .map(([host, port]) => (port === undefined ? host : `${host}:${port}`));

/** Any string at all, lone surrogates and control characters included. */
export const anyString = fc.string({ unit: "binary", maxLength: 80 });
