// Lint: typescript-eslint's recommended rules, and the layer rule of ARCHITECTURE.md:
// imports only flow downwards (core <- storage/http/mail <- homeserver/identity/push-gateway <- cli).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const layer = (files, forbidden, message) => ({
  files,
  rules: {
    "no-restricted-imports": [
      "error",
      { patterns: [{ group: forbidden, message }] },
    ],
  },
});

const upper = ["**/config/**", "**/config/*", "**/storage/**", "**/storage/*", "**/http/**", "**/http/*", "**/mail/**", "**/mail/*", "**/homeserver/**", "**/homeserver/*",
  "**/identity/**", "**/identity/*", "**/push-gateway/**", "**/push-gateway/*", "**/cli/**", "**/cli/*"];
const services = ["**/homeserver/**", "**/homeserver/*", "**/identity/**", "**/identity/*",
  "**/push-gateway/**", "**/push-gateway/*", "**/cli/**", "**/cli/*"];
// core is pure protocol: no I/O modules either.
const io = ["node:fs", "node:fs/*", "node:net", "node:http", "node:https", "node:http2", "node:dns", "node:dns/*",
  "node:child_process", "node:worker_threads", "fs", "net", "http", "https", "dns", "pg", "better-sqlite3", "kysely", "fastify", "undici"];

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", "data/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", Buffer: "readonly", setTimeout: "readonly", clearTimeout: "readonly" } },
  },
  layer(["src/core/**"], [...upper, ...io], "src/core is pure protocol: it imports nothing but itself (ARCHITECTURE.md)."),
  layer(["src/config/**"], upper.filter((p) => !p.includes("config")),
    "config imports only core (ARCHITECTURE.md)."),
  layer(["src/storage/**"], [...services, "**/http/**", "**/http/*", "**/config/**", "**/config/*"], "storage imports only core (ARCHITECTURE.md)."),
  layer(["src/http/**"], [...services, "**/storage/**", "**/storage/*", "**/config/**", "**/config/*"], "http imports only core (ARCHITECTURE.md)."),
  layer(["src/mail/**"], [...services, "**/storage/**", "**/storage/*", "**/http/**", "**/http/*", "**/config/**", "**/config/*"], "mail imports only core (ARCHITECTURE.md)."),
  layer(["src/homeserver/**"], ["**/cli/**", "**/cli/*", "**/identity/**", "**/identity/*", "**/push-gateway/**", "**/push-gateway/*"],
    "the homeserver imports core, storage and http, never cli or its sibling services (ARCHITECTURE.md)."),
  layer(["src/push-gateway/**"], ["**/cli/**", "**/cli/*", "**/homeserver/**", "**/homeserver/*"],
    "push-gateway imports core, storage and http only (ARCHITECTURE.md)."),
  // The identity service reaches homeservers as one of them (OpenID userinfo, X-Matrix, /3pid/onbind):
  // it shares the homeserver's server-to-server transport, and nothing else of the homeserver.
  {
    files: ["src/identity/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "(^|/)(cli|homeserver(?!/federation/[^/]+$))(/|$)",
              message: "identity imports core, storage, http and the homeserver's server-to-server transport (homeserver/federation) only (ARCHITECTURE.md).",
            },
          ],
        },
      ],
    },
  },
);
