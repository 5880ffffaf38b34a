// The user-mapping templates of an OIDC provider (Synapse's `localpart_template` and friends): the
// `{{ user.<claim> | filter }}` part of Jinja, parsed when the config is read, rendered at a login.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseClaimTemplate, renderClaimTemplate } from "../../../src/core/sso/claim-template.ts";

const render = (source: string, claims: Record<string, unknown>): string => renderClaimTemplate(parseClaimTemplate(source), claims);

describe("parseClaimTemplate and renderClaimTemplate", () => {
  it("renders plain text as it is, and keeps the source", () => {
    assert.equal(render("weft", {}), "weft");
    assert.equal(render("", { a: "b" }), "");
    assert.equal(parseClaimTemplate("hello").source, "hello");
    assert.deepEqual(parseClaimTemplate("hello").parts, ["hello"]);
  });

  it("fills in a claim, with or without spaces inside the braces", () => {
    assert.equal(render("{{ user.preferred_username }}", { preferred_username: "alice" }), "alice");
    assert.equal(render("{{user.preferred_username}}", { preferred_username: "alice" }), "alice");
    assert.equal(render("@{{ user.login }}:{{ user.org }}!", { login: "bob", org: "acme" }), "@bob:acme!");
    assert.equal(render("{{ user.given_name }} {{ user.family_name }}", { given_name: "Ada", family_name: "Lovelace" }), "Ada Lovelace");
  });

  it("follows a dotted claim path into nested objects", () => {
    const claims = { address: { locality: "Paris", country: { code: "FR" } } };
    assert.equal(render("{{ user.address.locality }}", claims), "Paris");
    assert.equal(render("{{ user.address.country.code }}", claims), "FR");
    assert.equal(render("[{{ user.address.postcode }}]", claims), "[]", "a missing leaf is empty");
    assert.equal(render("[{{ user.phone.number }}]", claims), "[]", "a missing branch is empty");
    assert.equal(render("[{{ user.address.locality.x }}]", claims), "[]", "a path through a string is empty");
  });

  it("applies the filters lower, upper, trim and localpart_from_email", () => {
    assert.equal(render("{{ user.name | lower }}", { name: "AlIcE" }), "alice");
    assert.equal(render("{{ user.name | upper }}", { name: "AlIcE" }), "ALICE");
    assert.equal(render("[{{ user.name | trim }}]", { name: "  alice \t\n" }), "[alice]");
    assert.equal(render("{{ user.email | localpart_from_email }}", { email: "alice@example.org" }), "alice");
    assert.equal(render("{{ user.email | localpart_from_email }}", { email: "a@b@example.org" }), "a@b", "up to the last @");
    assert.equal(render("{{ user.email | localpart_from_email }}", { email: "no-at-sign" }), "no-at-sign");
    assert.equal(render("{{user.email|localpart_from_email}}", { email: "bob@example.org" }), "bob");
  });

  it("chains filters left to right", () => {
    assert.equal(render("[{{ user.name | trim | lower }}]", { name: "  AlIcE  " }), "[alice]");
    assert.equal(render("{{ user.email | localpart_from_email | upper }}", { email: "carol@example.org" }), "CAROL");
    assert.equal(render("{{ user.name | lower | upper }}", { name: "Dave" }), "DAVE");
  });

  it("fills a missing claim, or one that is not a string or number, as empty", () => {
    assert.equal(render("[{{ user.missing }}]", {}), "[]");
    assert.equal(render("[{{ user.x }}]", { x: null }), "[]");
    assert.equal(render("[{{ user.x }}]", { x: { a: "b" } }), "[]");
    assert.equal(render("[{{ user.x }}]", { x: ["a", "b"] }), "[]");
    assert.equal(render("[{{ user.x }}]", { x: true }), "[]");
    assert.equal(render("[{{ user.x }}]", { x: false }), "[]");
    assert.equal(render("[{{ user.x | upper }}]", {}), "[]", "filters of a missing claim give empty");
  });

  it("fills a number claim in as its digits", () => {
    assert.equal(render("{{ user.id }}", { id: 12345 }), "12345");
    assert.equal(render("u{{ user.id }}", { id: 0 }), "u0");
    assert.equal(render("{{ user.id }}", { id: -7 }), "-7");
    assert.equal(render("{{ user.id | trim }}", { id: 42 }), "42");
  });

  it("reads only the claims' own properties", () => {
    assert.equal(render("[{{ user.constructor }}]", {}), "[]");
    assert.equal(render("[{{ user.toString }}]", {}), "[]");
    assert.equal(render("[{{ user.__proto__ }}]", {}), "[]");
  });

  it("refuses what is not a {{ user.<claim> }} placeholder", () => {
    const refused = (source: string, message?: RegExp) => assert.throws(() => parseClaimTemplate(source), message ?? Error, source);
    refused("{{ foo }}", /user\.<claim>/);
    refused("{{ user }}", /user\.<claim>/);
    refused("{{ user. }}", /user\.<claim>/);
    refused("{{ foo.bar }}", /user\.<claim>/);
    refused("{{ user['x'] }}", /user\.<claim>/);
    refused("{{ user.x + user.y }}", /user\.<claim>/);
    refused("{{ }}", /user\.<claim>/);
    refused("{{ user.name | title }}", /unknown filter "title"/);
    refused("{{ user.name | }}", /unknown filter/);
    refused("{{ user.name | default('x') }}", /unknown filter/);
    refused("{% if %}", /only \{\{ user\.<claim> \}\} placeholders/);
    refused("{% if user.x %}yes{% endif %}");
    refused("{{ user.x", /only \{\{ user\.<claim> \}\} placeholders/);
    refused("{{ user.a }}-{{ user.x");
  });

  it("refuses a tag or a comment anywhere, also before a placeholder", () => {
    assert.throws(() => parseClaimTemplate("{% if user.admin %}{{ user.name }}"));
    assert.throws(() => parseClaimTemplate("{% set x = 1 %}{{ user.name }}"));
    assert.throws(() => parseClaimTemplate("{# note #}{{ user.name }}"));
  });

  it("names the known filters when one is unknown", () => {
    assert.throws(
      () => parseClaimTemplate("{{ user.x | capitalize }}"),
      (err: unknown) => err instanceof Error && /lower/.test(err.message) && /localpart_from_email/.test(err.message),
    );
  });

  it("renders text without { to itself, whatever the claims", () => {
    const text = fc.string({ maxLength: 40 }).filter((s) => !s.includes("{"));
    const claims = fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 5 });
    fc.assert(
      fc.property(text, claims, (source, userClaims) => {
        assert.equal(render(source, userClaims), source);
      }),
    );
  });

  it("renders {{ user.x }} to the claim x, for any string value", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.dictionary(fc.string({ maxLength: 8 }), fc.string(), { maxKeys: 5 }), (value, others) => {
        assert.equal(render("{{ user.x }}", { ...others, x: value }), value);
      }),
    );
  });
});
