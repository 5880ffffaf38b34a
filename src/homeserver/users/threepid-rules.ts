// `allowed_local_3pids` (Synapse's key): which 3PIDs users of this server may register with, add
// and validate. Unset, any; set, only those some pattern of their medium matches, from the start of
// the address as Synapse's patterns are written (Python's re.match).
import type { AllowedLocal3pid } from "../../config/types.ts";

export class ThreepidRules {
  readonly #patterns: ReadonlyArray<{ readonly medium: string; readonly pattern: RegExp }> | undefined;

  constructor(allowed: readonly AllowedLocal3pid[] | undefined) {
    this.#patterns = allowed?.map((a) => ({ medium: a.medium, pattern: new RegExp(`^(?:${a.pattern})`, "u") }));
  }

  isAllowed(medium: string, address: string): boolean {
    if (this.#patterns === undefined) return true;
    return this.#patterns.some((p) => p.medium === medium && p.pattern.test(address));
  }
}
