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
  /** Migration 015. */
  last_seen_user_agent: string | null;
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

// Tables of migration 005 (rooms and membership: the membership index, aliases, the room directory).

export interface RoomMembershipsTable {
  room_id: string;
  user_id: string;
  server_name: string;
  membership: string;
  event_id: string;
  stream_ordering: number;
  forgotten: Generated<Flag>;
  /** Migration 024: the member event's content.displayname and avatar_url (null when not strings). */
  display_name: string | null;
  avatar_url: string | null;
}

export interface MembershipChangesTable {
  user_id: string;
  stream_ordering: number;
  room_id: string;
  membership: string;
  event_id: string;
}

export interface MembershipIndexRoomsTable {
  room_id: string;
  stream_ordering: number;
}

export interface MembershipIndexPositionTable {
  id: number;
  stream_ordering: number;
}

export interface RoomAliasesTable {
  room_alias: string;
  room_id: string;
  creator: string;
  created_ts: number;
}

export interface RoomDirectoryTable {
  room_id: string;
  published_ts: number;
}

export interface Schema {
  room_memberships: RoomMembershipsTable;
  membership_changes: MembershipChangesTable;
  membership_index_rooms: MembershipIndexRoomsTable;
  membership_index_position: MembershipIndexPositionTable;
  room_aliases: RoomAliasesTable;
  room_directory: RoomDirectoryTable;
}

// Tables of migration 007 (receipts and presence).

export interface ReceiptsTable {
  stream_id: Generated<number>;
  room_id: string;
  receipt_type: string;
  user_id: string;
  /** '' for an unthreaded receipt. */
  thread_id: string;
  event_id: string;
  event_stream_ordering: number | null;
  ts: number;
}

export interface PresenceTable {
  user_id: string;
  presence: string;
  status_msg: string | null;
  last_active_ts: number;
  last_sync_ts: number;
  currently_active: Generated<Flag>;
  stream_position: number;
}

export interface Schema {
  receipts: ReceiptsTable;
  presence: PresenceTable;
}

// Tables of migration 008 (end-to-end encryption: keys, signatures, the device-list stream,
// to-device messages, key backups).

export interface E2eDeviceKeysTable {
  user_id: string;
  device_id: string;
  key_json: string;
  added_ts: number;
}

export interface E2eOneTimeKeysTable {
  id: Generated<number>;
  user_id: string;
  device_id: string;
  algorithm: string;
  key_id: string;
  key_json: string;
}

export interface E2eFallbackKeysTable {
  user_id: string;
  device_id: string;
  algorithm: string;
  key_id: string;
  key_json: string;
  used: Generated<Flag>;
}

export interface E2eCrossSigningKeysTable {
  user_id: string;
  /** "master" | "self_signing" | "user_signing" */
  key_type: string;
  public_key: string;
  key_json: string;
  added_ts: number;
}

export interface E2eCrossSigningSignaturesTable {
  signer_user_id: string;
  signer_key_id: string;
  target_user_id: string;
  target_key_id: string;
  signature: string;
}

export interface E2eDeviceListStreamTable {
  stream_id: Generated<number>;
  user_id: string;
  /** "keys" | "member" */
  kind: string;
  /** '' for kind "keys". */
  room_id: string;
  /** '' for everyone who shares a room with user_id. */
  observer_user_id: string;
}

export interface ToDeviceMessagesTable {
  stream_id: Generated<number>;
  user_id: string;
  device_id: string;
  message_json: string;
}

export interface ToDeviceTxnsTable {
  user_id: string;
  device_id: string;
  txn_id: string;
  created_ts: number;
}

export interface RoomKeyBackupVersionsTable {
  user_id: string;
  version: number;
  algorithm: string;
  auth_data: string;
  etag: number;
  deleted: Generated<Flag>;
}

export interface RoomKeyBackupKeysTable {
  user_id: string;
  version: number;
  room_id: string;
  session_id: string;
  first_message_index: number;
  forwarded_count: number;
  is_verified: Flag;
  session_data: string;
}

export interface Schema {
  e2e_device_keys: E2eDeviceKeysTable;
  e2e_one_time_keys: E2eOneTimeKeysTable;
  e2e_fallback_keys: E2eFallbackKeysTable;
  e2e_cross_signing_keys: E2eCrossSigningKeysTable;
  e2e_cross_signing_signatures: E2eCrossSigningSignaturesTable;
  e2e_device_list_stream: E2eDeviceListStreamTable;
  to_device_messages: ToDeviceMessagesTable;
  to_device_txns: ToDeviceTxnsTable;
  room_key_backup_versions: RoomKeyBackupVersionsTable;
  room_key_backup_keys: RoomKeyBackupKeysTable;
}

// Tables of migration 006 (events sent by clients, relations between events).

export interface EventTransactionsTable {
  user_id: string;
  /** '' when the access token has no device. */
  device_id: string;
  scope: string;
  txn_id: string;
  event_id: string;
  created_ts: number;
}

export interface EventRelationsTable {
  event_id: string;
  room_id: string;
  relates_to_id: string;
  rel_type: string;
  event_type: string;
  sender: string;
  aggregation_key: string | null;
  stream_ordering: number;
  origin_server_ts: number;
}

export interface ThreadRootsTable {
  thread_id: string;
  room_id: string;
  sender: string | null;
}

export interface RelationsIndexPositionTable {
  id: number;
  stream_ordering: number;
}

export interface Schema {
  event_transactions: EventTransactionsTable;
  event_relations: EventRelationsTable;
  thread_roots: ThreadRootsTable;
  relations_index_position: RelationsIndexPositionTable;
}

// Tables of migration 009 (federation of rooms: outgoing queues, destinations' retry state,
// transactions received, invites received for rooms we are not in).

export interface FederationOutboxPdusTable {
  id: Generated<number>;
  destination: string;
  room_id: string;
  event_id: string;
  created_ts: number;
}

export interface FederationOutboxEdusTable {
  id: Generated<number>;
  destination: string;
  edu_type: string;
  content: string;
  created_ts: number;
}

export interface FederationDestinationsTable {
  destination: string;
  failure_count: number;
  retry_after_ts: number;
  catching_up: Generated<Flag>;
}

export interface FederationReceivedTxnsTable {
  origin: string;
  txn_id: string;
  response_json: string;
  received_ts: number;
}

export interface FederationInvitesTable {
  room_id: string;
  user_id: string;
  event_id: string;
  room_version: string;
  origin: string;
  event_json: string;
  invite_room_state: string;
  received_ts: number;
}

export interface Schema {
  federation_outbox_pdus: FederationOutboxPdusTable;
  federation_outbox_edus: FederationOutboxEdusTable;
  federation_destinations: FederationDestinationsTable;
  federation_received_txns: FederationReceivedTxnsTable;
  federation_invites: FederationInvitesTable;
}

// Tables of migration 010 (end-to-end encryption over federation: the outbound device-list
// sequence, other servers' users' cached device lists).

export interface E2eDeviceListOutboundTable {
  user_id: string;
  stream_id: number;
}

export interface E2eRemoteDeviceListsTable {
  user_id: string;
  stream_id: number;
  master_key_json: string | null;
  self_signing_key_json: string | null;
  updated_ts: number;
}

export interface E2eRemoteDevicesTable {
  user_id: string;
  device_id: string;
  keys_json: string | null;
  display_name: string | null;
}

export interface Schema {
  e2e_device_list_outbound: E2eDeviceListOutboundTable;
  e2e_remote_device_lists: E2eRemoteDeviceListsTable;
  e2e_remote_devices: E2eRemoteDevicesTable;
}

// Tables of migration 011 (OpenID tokens handed to third parties).

export interface OpenidTokensTable {
  token_hash: string;
  user_id: string;
  expires_ts: number;
}

export interface Schema {
  openid_tokens: OpenidTokensTable;
}

// Tables of migration 013 (accounts locked by a server admin).

export interface AccountLocksTable {
  user_id: string;
  locked_ts: number;
}

export interface Schema {
  account_locks: AccountLocksTable;
}

// Tables of migration 014 (accounts suspended by a server admin).

export interface AccountSuspensionsTable {
  user_id: string;
  suspended_ts: number;
}

export interface Schema {
  account_suspensions: AccountSuspensionsTable;
}

// Tables of migration 016 (the local media repository).

export interface LocalMediaTable {
  media_id: string;
  user_id: string;
  created_ts: number;
  /** Set while created and not yet uploaded (media/v1/create): when the ID expires unused. */
  unused_expires_ts: number | null;
  /** Null until the bytes are stored. */
  upload_ts: number | null;
  content_type: string | null;
  upload_name: string | null;
  size: number | null;
  /** 1: uploaded while unauthenticated media was frozen, served by the authenticated endpoints only. */
  authenticated: Generated<Flag>;
  /** Migration 023: when last downloaded or thumbnailed (written in batches), else uploaded; null while pending. */
  last_access_ts: number | null;
}

export interface Schema {
  local_media: LocalMediaTable;
}

// Tables of migration 017 (reports of content).

export interface ReportsTable {
  id: Generated<number>;
  kind: "event" | "room" | "user";
  reporter_user_id: string;
  room_id: string | null;
  event_id: string | null;
  /** The user reported (user reports), or the reported event's sender (event reports). */
  target_user_id: string | null;
  reason: string | null;
  received_ts: number;
}

export interface Schema {
  reports: ReportsTable;
}

// Tables of migration 018 (the cache of other servers' media).

export interface RemoteMediaTable {
  server_name: string;
  media_id: string;
  content_type: string;
  upload_name: string | null;
  size: number;
  fetched_ts: number;
  /** Migration 023: when last downloaded or thumbnailed (written in batches), else fetched; never null once written. */
  last_access_ts: number | null;
}

export interface Schema {
  remote_media: RemoteMediaTable;
}

// Tables of migration 019 (the server-side search index). On PostgreSQL event_search also has the
// generated `vector` (tsvector) column, and on SQLite the FTS5 table event_search_fts beside it:
// both are only read through SQL written for each engine (stores/search.ts).

export interface EventSearchTable {
  search_id: Generated<number>;
  event_id: string;
  room_id: string;
  sender: string;
  /** content.body, content.name or content.topic. */
  key: string;
  stream_ordering: number;
  origin_server_ts: number;
  value: string;
  contains_url: Generated<Flag>;
}

export interface SearchIndexPositionTable {
  id: number;
  stream_ordering: number;
}

export interface Schema {
  event_search: EventSearchTable;
  search_index_position: SearchIndexPositionTable;
}

// Tables of migration 020 (pushers).

export interface PushersTable {
  user_id: string;
  app_id: string;
  pushkey: string;
  kind: string;
  app_display_name: string;
  device_display_name: string;
  profile_tag: string | null;
  lang: string;
  /** PusherData, JSON text. */
  data: string;
  /** The device whose session set the pusher; null for a device-less access token. */
  device_id: string | null;
  pushkey_ts: number;
}

export interface Schema {
  pushers: PushersTable;
}

// Tables of migration 021 (appservices).

export interface AppserviceStreamTable {
  appservice_id: string;
  stream_ordering: number;
  last_txn_id: number;
}

export interface AppserviceTxnsTable {
  appservice_id: string;
  txn_id: number;
  /** The transaction's request body, JSON text. */
  body: string;
}

export interface Schema {
  appservice_stream: AppserviceStreamTable;
  appservice_txns: AppserviceTxnsTable;
}

// Tables of migration 022 (the application services' published room directories).

export interface AppserviceRoomDirectoryTable {
  appservice_id: string;
  network_id: string;
  room_id: string;
  published_ts: number;
}

export interface Schema {
  appservice_room_directory: AppserviceRoomDirectoryTable;
}

// Tables of migration 024 (the user directory).

export interface UserDirectoryTable {
  user_id: string;
  display_name: string | null;
  avatar_url: string | null;
  /** The user ID and every display name of the user's joins, lower-cased, one a line. */
  search_text: string;
}

export interface UserDirectoryGramsTable {
  gram: string;
  user_id: string;
}

export interface UserDirectoryStaleTable {
  user_id: string;
  /** Counts the changes marked since the user's rows were last worked out. */
  generation: number;
}

export interface Schema {
  user_directory: UserDirectoryTable;
  user_directory_grams: UserDirectoryGramsTable;
  user_directory_stale: UserDirectoryStaleTable;
}

// Tables of migration 025 (the admin API's jobs redacting a user's events).

export interface AdminRedactionsTable {
  redact_id: string;
  user_id: string;
  admin_user_id: string;
  /** The request, JSON. */
  request: string;
  status: "scheduled" | "active" | "completed" | "failed";
  /** The events not redacted, with why: a JSON object. */
  failed: string;
  created_ts: number;
  finished_ts: number | null;
}

export interface Schema {
  admin_redactions: AdminRedactionsTable;
}

// Tables of migration 026 (rooms blocked by a server admin).

export interface BlockedRoomsTable {
  room_id: string;
  /** The admin who blocked it. */
  blocked_by: string;
  blocked_ts: number;
}

export interface Schema {
  blocked_rooms: BlockedRoomsTable;
}

// Tables of migration 027 (each user's server notices room).

export interface ServerNoticeRoomsTable {
  user_id: string;
  room_id: string;
}

export interface Schema {
  server_notice_rooms: ServerNoticeRoomsTable;
}

// Tables of migration 028 (media quarantined by a server admin).

export interface QuarantinedMediaTable {
  server_name: string;
  media_id: string;
  /** The admin who quarantined it. */
  quarantined_by: string;
  quarantined_ts: number;
}

export interface Schema {
  quarantined_media: QuarantinedMediaTable;
}

// Tables of migration 029 (media of ours protected from quarantine).

export interface ProtectedMediaTable {
  media_id: string;
}

export interface Schema {
  protected_media: ProtectedMediaTable;
}

// Tables of migration 030 (users shadow-banned by a server admin).

export interface ShadowBannedUsersTable {
  user_id: string;
  banned_ts: number;
}

export interface Schema {
  shadow_banned_users: ShadowBannedUsersTable;
}

// Tables of migration 031 (third-party identifiers: our users', their validation, their bindings).

export interface UserThreepidsTable {
  user_id: string;
  medium: string;
  address: string;
  validated_at: number;
  added_at: number;
}

export interface ThreepidValidationSessionsTable {
  session_id: string;
  medium: string;
  address: string;
  client_secret: string;
  token: string;
  /** The highest send_attempt the client has sent for this address and client_secret. */
  send_attempt: number;
  next_link: string | null;
  validated_at: number | null;
  last_send_attempt_ts: number;
  created_ts: number;
  expires_ts: number;
}

export interface UserThreepidIdServersTable {
  user_id: string;
  medium: string;
  address: string;
  id_server: string;
}

export interface Schema {
  user_threepids: UserThreepidsTable;
  threepid_validation_sessions: ThreepidValidationSessionsTable;
  user_threepid_id_servers: UserThreepidIdServersTable;
}

// Tables of migration 032 (single sign-on: which account an identity provider's user is).

export interface UserExternalIdsTable {
  auth_provider: string;
  external_id: string;
  user_id: string;
  added_ts: number;
}

export interface Schema {
  user_external_ids: UserExternalIdsTable;
}
