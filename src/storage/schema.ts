// The tables as Kysely sees them: column names and the JS types both engines hand back.
// Conventions, the same on SQLite and PostgreSQL:
// - flags are INTEGER 0/1 (SQLite has no boolean, and better-sqlite3 cannot bind one);
// - timestamps are BIGINT milliseconds since the epoch, read as JS numbers;
// - JSON is TEXT, stored exactly as given (jsonb would reorder keys, and events need their bytes).
// A migration adds a table; the store that owns it adds its interface here.
import type { Generated } from "kysely";

/** 0 or 1: a boolean column. */
export type Flag = number;

export interface SchemaVersionTable {
  version: number;
  name: string;
  applied_ts: number;
}

export interface UsersTable {
  user_id: string;
  password_hash: string | null;
  is_admin: Generated<Flag>;
  is_guest: Generated<Flag>;
  deactivated: Generated<Flag>;
  created_ts: number;
  displayname: string | null;
  avatar_url: string | null;
}

export interface DevicesTable {
  user_id: string;
  device_id: string;
  display_name: string | null;
  last_seen_ts: number | null;
  last_seen_ip: string | null;
  created_ts: number;
}

export interface AccessTokensTable {
  id: Generated<number>;
  token_hash: string;
  user_id: string;
  device_id: string | null;
  created_ts: number;
  expires_ts: number | null;
  refresh_token_id: number | null;
}

export interface Schema {
  schema_version: SchemaVersionTable;
  users: UsersTable;
  devices: DevicesTable;
  access_tokens: AccessTokensTable;
}

export function toFlag(value: boolean): Flag {
  return value ? 1 : 0;
}

/** Reads a flag column, or a boolean expression (PostgreSQL answers true/false, SQLite 1/0). */
export function fromFlag(value: number | boolean | null | undefined): boolean {
  return value === true || value === 1;
}

// Tables of migration 002 (accounts and sessions). Declared as a second `Schema` that TypeScript
// merges into the one above, so each migration's tables are appended without editing its lines.

export interface RefreshTokensTable {
  id: Generated<number>;
  token_hash: string;
  user_id: string;
  device_id: string;
  created_ts: number;
  expires_ts: number | null;
  next_token_id: number | null;
}

export interface LoginTokensTable {
  token_hash: string;
  user_id: string;
  created_ts: number;
  expires_ts: number;
}

export interface RegistrationTokensTable {
  token: string;
  uses_allowed: number | null;
  pending: Generated<number>;
  completed: Generated<number>;
  expiry_time: number | null;
}

export interface ProfileFieldsTable {
  user_id: string;
  field_name: string;
  value_json: string;
}

export interface AccountDataTable {
  stream_id: Generated<number>;
  user_id: string;
  /** '' for global account data. */
  room_id: string;
  type: string;
  content: string;
}

export interface FiltersTable {
  filter_id: Generated<number>;
  user_id: string;
  filter_json: string;
}

export interface ErasedUsersTable {
  user_id: string;
  erased_ts: number;
}

export interface Schema {
  refresh_tokens: RefreshTokensTable;
  login_tokens: LoginTokensTable;
  registration_tokens: RegistrationTokensTable;
  profile_fields: ProfileFieldsTable;
  account_data: AccountDataTable;
  filters: FiltersTable;
  erased_users: ErasedUsersTable;
}

// Tables of migration 003 (rooms: events, state groups, extremities, the room stream), merged
// into `Schema` the same way. Nids are the numeric IDs the database uses inside (see
// stores/room-state.ts); BIGINT columns read as JS numbers.

export interface RoomsTable {
  room_nid: Generated<number>;
  room_id: string;
  room_version: string;
  current_state_group: number | null;
  created_ts: number;
}

export interface StateKeysTable {
  state_key_nid: Generated<number>;
  type: string;
  state_key: string;
}

export interface StateGroupsTable {
  state_group: Generated<number>;
  room_nid: number;
  level: number;
  base_group: number | null;
  root_group: number | null;
  size: number;
  delta: Uint8Array;
}

export interface EventsTable {
  event_nid: Generated<number>;
  event_id: string;
  room_nid: number;
  type: string;
  state_key_nid: number | null;
  sender: string;
  depth: number;
  origin_server_ts: number;
  outlier: Generated<Flag>;
  soft_failed: Generated<Flag>;
  backfilled: Generated<Flag>;
  content_purged: Generated<Flag>;
  rejected_reason: string | null;
  json: string;
  redacted_by: number | null;
  redacted_ts: number | null;
  received_ts: number;
}

export interface EventStateTable {
  event_nid: number;
  state_before: number;
  state_after: number;
}

export interface EventEdgesTable {
  event_nid: number;
  prev_event_id: string;
}

export interface EventAuthTable {
  event_nid: number;
  auth_event_nid: number;
}

export interface ForwardExtremitiesTable {
  room_nid: number;
  event_nid: number;
}

export interface RoomStreamTable {
  stream_ordering: Generated<number>;
  room_nid: number;
  event_nid: number;
}

export interface PendingRedactionsTable {
  redaction_nid: number;
  room_nid: number;
  redacts: string;
}

export interface Schema {
  rooms: RoomsTable;
  state_keys: StateKeysTable;
  state_groups: StateGroupsTable;
  events: EventsTable;
  event_state: EventStateTable;
  event_edges: EventEdgesTable;
  event_auth: EventAuthTable;
  forward_extremities: ForwardExtremitiesTable;
  room_stream: RoomStreamTable;
  pending_redactions: PendingRedactionsTable;
}

// Tables of migration 004 (other servers' signing keys).

export interface ServerKeysTable {
  server_name: string;
  key_id: string;
  verify_key: string;
  valid_until_ts: number;
  expired_ts: number | null;
  fetched_ts: number;
  key_json: string;
}

export interface Schema {
  server_keys: ServerKeysTable;
}
