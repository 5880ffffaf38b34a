// The room engine's public API (ARCHITECTURE.md "One event pipeline").
export { DEFAULT_REDACTION_RETENTION_MS, Roomserver } from "./roomserver.ts";
export type { RoomEventInfo, RoomserverOptions } from "./roomserver.ts";
export type { RoomserverLogger } from "./batch.ts";
export { MemoryKeyRing } from "./keyring.ts";
export type { KeyRing } from "./keyring.ts";
export type { PolicyServerClient } from "./policy-server.ts";
export type {
  CreateRoomRequest,
  InitialEvent,
  InputKind,
  InputResult,
  LocalEventRequest,
  OutputListener,
  RoomInput,
  RoomserverOutput,
  StateDelta,
} from "./types.ts";
