// Typed reading of one YAML mapping, with key paths for errors. Every key a parser reads is marked
// as seen, so whatever is left over at `finish()` is a key we do not implement: a warning, never an
// error, so a Synapse homeserver.yaml full of options Weft lacks still starts.
import { isAbsolute, resolve } from "node:path";
import { ConfigError } from "./config-error.ts";

/** State shared by every section of one config document. */
export interface ReadContext {
  /** Relative paths resolve against this folder (the config file's, or cwd for the defaults). */
  readonly baseDir: string;
  readonly warnings: string[];
}

export function childPath(parent: string, key: string): string {
  return parent === "" ? key : `${parent}.${key}`;
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return JSON.stringify(value);
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function resolvePath(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

export class Section {
  readonly ctx: ReadContext;
  readonly path: string;
  private readonly raw: Record<string, unknown>;
  private readonly seen = new Set<string>();

  constructor(ctx: ReadContext, raw: Record<string, unknown>, path: string) {
    this.ctx = ctx;
    this.raw = raw;
    this.path = path;
  }

  /** A mapping value as a Section; `path` names it in errors. */
  static of(ctx: ReadContext, value: unknown, path: string): Section {
    if (!isMapping(value)) {
      if (path === "") throw new ConfigError(undefined, `the configuration must be a mapping of keys, got ${describe(value)}`);
      throw new ConfigError(path, `must be a mapping, got ${describe(value)}`);
    }
    return new Section(ctx, value, path);
  }

  keyPath(key: string): string {
    return childPath(this.path, key);
  }

  fail(key: string, message: string): never {
    throw new ConfigError(this.keyPath(key), message);
  }

  /** The keys present in the mapping, in file order. */
  keys(): string[] {
    return Object.keys(this.raw);
  }

  /** True when the key is present with a non-null value (YAML `key:` alone means "use the default"). */
  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  /** The raw value, marked as seen; null and absent both read as undefined. */
  value(key: string): unknown {
    this.seen.add(key);
    const v = this.raw[key];
    return v === null ? undefined : v;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.value(key);
    if (v === undefined) return fallback;
    if (typeof v !== "boolean") this.fail(key, `must be true or false, got ${describe(v)}`);
    return v;
  }

  string(key: string): string | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v === "") this.fail(key, `must be a non-empty string, got ${describe(v)}`);
    return v;
  }

  integer(key: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.value(key);
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.fail(key, max === Number.MAX_SAFE_INTEGER ? `must be an integer of at least ${min}` : `must be an integer from ${min} to ${max}`);
    }
    return v;
  }

  /** A finite number of at least zero (rate limits take fractions, e.g. 0.17 per second). */
  nonNegativeNumber(key: string, fallback: number): number {
    const v = this.value(key);
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) this.fail(key, `must be a number of at least 0, got ${describe(v)}`);
    return v;
  }

  /** A filesystem path, resolved against the config's folder. */
  filePath(key: string): string | undefined {
    const v = this.string(key);
    return v === undefined ? undefined : resolvePath(this.ctx.baseDir, v);
  }

  list(key: string): unknown[] | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) this.fail(key, `must be a list, got ${describe(v)}`);
    return v;
  }

  stringList(key: string): string[] | undefined {
    const items = this.list(key);
    if (items === undefined) return undefined;
    return items.map((item, i) => {
      if (typeof item !== "string" || item === "") {
        throw new ConfigError(`${this.keyPath(key)}[${i}]`, `must be a non-empty string, got ${describe(item)}`);
      }
      return item;
    });
  }

  section(key: string): Section | undefined {
    const v = this.value(key);
    return v === undefined ? undefined : Section.of(this.ctx, v, this.keyPath(key));
  }

  /** Mark a key as known but deliberately ignored, with a warning saying why, when it is present. */
  ignore(key: string, why: string): void {
    if (key in this.raw) this.ctx.warnings.push(`config key ${this.keyPath(key)} ${why}: ignored`);
    this.seen.add(key);
  }

  /** One warning per key no parser read. */
  finish(): void {
    for (const key of Object.keys(this.raw)) {
      if (!this.seen.has(key)) this.ctx.warnings.push(`unknown or not yet supported config key ${this.keyPath(key)}: ignored`);
    }
  }
}
