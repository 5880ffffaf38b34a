// Registration tokens (client-server-api#token-authenticated-registration): their validity for
// clients, the uses reserved by UIA sessions, and their management by admins with the shape of
// Synapse's admin API (/_synapse/admin/v1/registration_tokens) and the `weft` command line.
import { randomBytes } from "node:crypto";
import { MatrixError } from "../../core/errors.ts";
import { isValidOpaqueId } from "../../core/identifiers/index.ts";
import {
  isRegistrationTokenValid,
  RegistrationTokenExistsError,
  type RegistrationToken,
  type RegistrationTokenStore,
} from "../../storage/stores/registration-tokens.ts";

/** client-server-api#token-authenticated-registration: opaque identifiers of at most 64 characters. */
export const MAX_REGISTRATION_TOKEN_LENGTH = 64;

export interface NewRegistrationToken {
  /** The token itself; made up (`length` characters) when absent. */
  readonly token?: string | undefined;
  readonly length?: number | undefined;
  /** Null or absent: unlimited. */
  readonly usesAllowed?: number | null | undefined;
  /** Milliseconds since the epoch; null or absent: never expires. */
  readonly expiryTime?: number | null | undefined;
}

export interface RegistrationTokenChange {
  readonly usesAllowed?: number | null | undefined;
  readonly expiryTime?: number | null | undefined;
}

/** A registration token as Synapse's admin API shows it. */
export function registrationTokenJson(t: RegistrationToken) {
  return { token: t.token, uses_allowed: t.usesAllowed, pending: t.pending, completed: t.completed, expiry_time: t.expiryTime };
}

function invalidParam(message: string): MatrixError {
  return new MatrixError("M_INVALID_PARAM", message, 400);
}

const TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function randomTokenOfLength(length: number): string {
  let out = "";
  for (const b of randomBytes(length)) out += TOKEN_ALPHABET[b % 64];
  return out;
}

export class RegistrationTokenService {
  readonly #store: RegistrationTokenStore;
  readonly #now: () => number;

  constructor(store: RegistrationTokenStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  /** GET /register/m.login.registration_token/validity: unknown tokens are just invalid. */
  async isValid(token: string): Promise<boolean> {
    const found = await this.#store.get(token);
    return found !== undefined && isRegistrationTokenValid(found, this.#now());
  }

  reserve(token: string): Promise<boolean> {
    return this.#store.reserve(token, this.#now());
  }

  complete(token: string): Promise<void> {
    return this.#store.complete(token);
  }

  release(token: string): Promise<void> {
    return this.#store.release(token);
  }

  /** At start: no UIA session survives a restart, so no use is pending any more. */
  clearPending(): Promise<void> {
    return this.#store.clearPending();
  }

  async create(spec: NewRegistrationToken): Promise<RegistrationToken> {
    let token = spec.token;
    if (token === undefined) {
      const length = spec.length ?? 16;
      if (!Number.isInteger(length) || length < 1 || length > MAX_REGISTRATION_TOKEN_LENGTH) {
        throw invalidParam(`length must be an integer from 1 to ${MAX_REGISTRATION_TOKEN_LENGTH}`);
      }
      token = randomTokenOfLength(length);
    } else if (token.length > MAX_REGISTRATION_TOKEN_LENGTH || !isValidOpaqueId(token)) {
      throw invalidParam(`token must be 1 to ${MAX_REGISTRATION_TOKEN_LENGTH} of the characters A-Z a-z 0-9 . _ ~ -`);
    }
    const usesAllowed = this.#usesAllowed(spec.usesAllowed) ?? null;
    const expiryTime = this.#expiryTime(spec.expiryTime) ?? null;
    try {
      return await this.#store.create(token, { usesAllowed, expiryTime });
    } catch (error) {
      if (error instanceof RegistrationTokenExistsError) throw invalidParam("Token already exists");
      throw error;
    }
  }

  /** All tokens; `valid` keeps only the valid ones (true) or only the invalid ones (false). */
  async list(valid?: boolean): Promise<RegistrationToken[]> {
    const all = await this.#store.list();
    if (valid === undefined) return all;
    const now = this.#now();
    return all.filter((t) => isRegistrationTokenValid(t, now) === valid);
  }

  async get(token: string): Promise<RegistrationToken> {
    return notFoundUnless(token, await this.#store.get(token));
  }

  async update(token: string, change: RegistrationTokenChange): Promise<RegistrationToken> {
    const updated = await this.#store.update(token, {
      usesAllowed: this.#usesAllowed(change.usesAllowed),
      expiryTime: this.#expiryTime(change.expiryTime),
    });
    return notFoundUnless(token, updated);
  }

  async delete(token: string): Promise<void> {
    if (!(await this.#store.delete(token))) throw new MatrixError("M_NOT_FOUND", `No such registration token: ${token}`, 404);
  }

  #usesAllowed(value: number | null | undefined): number | null | undefined {
    if (value === undefined || value === null) return value;
    if (!Number.isSafeInteger(value) || value < 0) throw invalidParam("uses_allowed must be a non-negative integer or null");
    return value;
  }

  #expiryTime(value: number | null | undefined): number | null | undefined {
    if (value === undefined || value === null) return value;
    if (!Number.isSafeInteger(value) || value < this.#now()) throw invalidParam("expiry_time must be an integer in the future or null");
    return value;
  }
}

function notFoundUnless(token: string, found: RegistrationToken | undefined): RegistrationToken {
  if (found === undefined) throw new MatrixError("M_NOT_FOUND", `No such registration token: ${token}`, 404);
  return found;
}
