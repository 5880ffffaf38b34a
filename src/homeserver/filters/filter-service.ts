// Filters (client-server-api#filtering): uploaded, validated against the spec's schema, and found
// again by ID. Sync validates inline filters with the same check.
import { Ajv, type ValidateFunction } from "ajv";
import { MatrixError } from "../../core/errors.ts";
import type { JsonObject } from "../../core/json.ts";
import type { Requester } from "../../http/endpoint.ts";
import type { FilterStore } from "../../storage/stores/filters.ts";
import { filterSchema } from "./filter-schema.ts";

let validator: ValidateFunction | undefined;

/** Throws M_BAD_JSON, naming the first problem, when `filter` is not a valid Filter. */
export function validateFilter(filter: unknown): asserts filter is JsonObject {
  validator ??= new Ajv({ strict: false, allErrors: false }).compile(filterSchema);
  if (!validator(filter)) {
    const first = validator.errors?.[0];
    const where = first === undefined || first.instancePath === "" ? "filter" : first.instancePath;
    throw new MatrixError("M_BAD_JSON", `Invalid ${where}: ${first?.message ?? "not a filter"}`, 400);
  }
}

export class FilterService {
  readonly #store: FilterStore;

  constructor(store: FilterStore) {
    this.#store = store;
  }

  /** POST /user/{userId}/filter: returns the filter ID (digits: never starting with `{`). */
  async create(requester: Requester, userId: string, filter: JsonObject): Promise<string> {
    checkOwner(requester, userId);
    validateFilter(filter);
    return String(await this.#store.create(userId, filter));
  }

  /** GET /user/{userId}/filter/{filterId}. */
  async get(requester: Requester, userId: string, filterId: string): Promise<JsonObject> {
    checkOwner(requester, userId);
    const id = /^[0-9]{1,15}$/.test(filterId) ? Number(filterId) : undefined;
    const filter = id === undefined ? undefined : await this.#store.get(userId, id);
    if (filter === undefined) throw new MatrixError("M_NOT_FOUND", "No such filter", 404);
    return filter;
  }
}

function checkOwner(requester: Requester, userId: string): void {
  if (requester.userId !== userId) throw new MatrixError("M_FORBIDDEN", "Cannot use filters of other users", 403);
}
