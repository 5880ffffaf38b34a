// User-Interactive Authentication (client-server-api#user-interactive-authentication-api).
//
// A session is bound to what it authorises: the endpoint, the user making the request (none for
// registration) and a hash of the request body without `auth`. A stage completed for one request
// therefore cannot be spent on another request, nor by another user. A session is used up when its
// flow completes, so a completed flow cannot be replayed either: "Completed stages cannot be retried
// by clients, therefore servers must return either a 401 response with the completed stages, or
// the result of the API call if all stages were completed when a client retries a stage". A used-up
// session is remembered for the session lifetime, and a retry of it gets that 401 (running the
// request again could repeat what it did, a password change or a device deletion).
//
// Sessions live in memory: they last minutes, and the body hash (which may cover a password) never
// reaches the database. A restart forgets them; clients then start a new session.
import { createHash, randomBytes } from "node:crypto";
import { canonicalJson } from "../../core/canonical-json/canonical-json.ts";
import { MatrixError, type MatrixErrorCode } from "../../core/errors.ts";
import { isJsonObject, type JsonObject } from "../../core/json.ts";
import { PASSWORD_STAGE } from "./uia-stages.ts";

export interface UiaFlow {
  readonly stages: readonly string[];
}

export interface UiaSession {
  readonly id: string;
  readonly endpoint: string;
  /** The user the session authenticates for; undefined for registration. */
  readonly userId: string | undefined;
  readonly bodyHash: string;
  readonly completed: string[];
  lastUsedTs: number;
  /** The registration token whose use this session reserved (m.login.registration_token). */
  registrationToken: string | undefined;
  /** The 3PID the session proved the user holds (m.login.email.identity). */
  threepid: ValidatedThreepid | undefined;
}

/** A 3PID the homeserver validated in its validation session `sid` (threepid-validation.ts). */
export interface ValidatedThreepid {
  readonly medium: "email";
  readonly address: string;
  readonly validatedAt: number;
  readonly sid: string;
}

/** Why a stage failed: the `errcode` and `error` of the 401 response. */
export interface StageFailure {
  readonly errcode: MatrixErrorCode;
  readonly error: string;
}

export interface UiaStage {
  readonly type: string;
  /**
   * Checks the auth dict of this stage: undefined when it passes, the failure otherwise. Errors that
   * are not a failed attempt (a rate limit) are thrown and answered as themselves.
   */
  check(auth: JsonObject, session: UiaSession): Promise<StageFailure | undefined>;
}

export interface UiaRequest {
  /** What is being authorised, e.g. "POST /account/password". */
  readonly endpoint: string;
  readonly userId: string | undefined;
  /** The whole request body; its `auth` is the client's attempt. */
  readonly body: JsonObject;
  readonly flows: readonly UiaFlow[];
  readonly params?: JsonObject;
}

export interface UiaResult {
  readonly completed: readonly string[];
  /** The registration token whose use is now the caller's to complete or release. */
  readonly registrationToken: string | undefined;
  /** The 3PID proven by an m.login.email.identity stage, if the flow had one. */
  readonly threepid: ValidatedThreepid | undefined;
}

/** The 401 answer: flows, params, session, the completed stages, and errcode/error after a failed stage. */
export class UiaChallenge extends MatrixError {
  readonly body: JsonObject;
  readonly failure: StageFailure | undefined;

  constructor(body: JsonObject, failure?: StageFailure) {
    super(failure?.errcode ?? "M_UNAUTHORIZED", failure?.error ?? "Additional authentication is required", 401);
    this.body = body;
    this.failure = failure;
  }

  override toJSON(): Record<string, unknown> {
    return this.failure === undefined ? { ...this.body } : { errcode: this.errcode, error: this.message, ...this.body };
  }
}

export interface UiaOptions {
  now?: () => number;
  /** How long an idle session lives. Default 30 minutes. */
  sessionLifetimeMs?: number;
  /** The most sessions kept at once; the oldest go first. Default 10,000. */
  maxSessions?: number;
  /** Called for a session dropped before its flow completed (to release what it reserved). */
  onAbandoned?: (session: UiaSession) => void;
}

/** The flows by which a user proves to be the account's owner again (reauthenticationFlows). */
export type ReauthenticationFlows = (userId: string) => Promise<UiaFlow[]>;

/** The hash a session is bound to: the request body without `auth`, as canonical JSON. */
export function requestBodyHash(body: JsonObject): string {
  const { auth: _auth, ...rest } = body;
  return createHash("sha256").update(canonicalJson(rest, { lenientNumbers: true })).digest("base64url");
}

export class UserInteractiveAuth {
  readonly #stages: ReadonlyMap<string, UiaStage>;
  readonly #sessions = new Map<string, UiaSession>();
  /** Sessions whose flow completed, oldest first: a retry of one is answered with its completed stages. */
  readonly #usedUp = new Map<string, UiaSession>();
  readonly #now: () => number;
  readonly #lifetimeMs: number;
  readonly #maxSessions: number;
  readonly #onAbandoned: (session: UiaSession) => void;
  #reauthenticationFlows: ReauthenticationFlows = async () => [{ stages: [PASSWORD_STAGE] }];

  constructor(stages: readonly UiaStage[], options: UiaOptions = {}) {
    this.#stages = new Map(stages.map((s) => [s.type, s]));
    this.#now = options.now ?? Date.now;
    this.#lifetimeMs = options.sessionLifetimeMs ?? 30 * 60_000;
    this.#maxSessions = Math.max(1, options.maxSessions ?? 10_000);
    this.#onAbandoned = options.onAbandoned ?? (() => undefined);
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** UIA learns how accounts reauthenticate beyond their password (SSO), when it can. */
  useReauthenticationFlows(flows: ReauthenticationFlows): void {
    this.#reauthenticationFlows = flows;
  }

  /**
   * The flows of an endpoint that asks the user to prove again that the account is theirs (a
   * password change, a device deletion...): the password, or single sign-on.
   */
  reauthenticationFlows(userId: string): Promise<UiaFlow[]> {
    return this.#reauthenticationFlows(userId);
  }

  /** A live session's user and endpoint, for a stage completed out of band (a fallback page). */
  sessionOf(sessionId: string): { readonly userId: string | undefined; readonly endpoint: string } | undefined {
    const session = this.#sessions.get(sessionId);
    return session === undefined ? undefined : { userId: session.userId, endpoint: session.endpoint };
  }

  /**
   * Marks a stage completed out of band (client-server-api#fallback) for the session's user; false
   * when the session is gone or is another user's. The client then retries with the session alone.
   */
  completeOutOfBand(sessionId: string, type: string, userId: string): boolean {
    const session = this.#sessions.get(sessionId);
    if (session === undefined || session.userId !== userId) return false;
    if (!session.completed.includes(type)) session.completed.push(type);
    session.lastUsedTs = this.#now();
    return true;
  }

  /**
   * Runs one step of UIA for a request: resolves when a flow is complete (the session is then used
   * up), and throws a UiaChallenge (401) while stages remain.
   */
  async authenticate(request: UiaRequest): Promise<UiaResult> {
    const auth = request.body["auth"];
    if (auth !== undefined && !isJsonObject(auth)) throw new MatrixError("M_BAD_JSON", "auth must be an object", 400);
    const bodyHash = requestBodyHash(request.body);
    this.#sweep();

    const sessionId = auth?.["session"];
    let session: UiaSession;
    if (sessionId === undefined) {
      session = this.#create(request, bodyHash);
    } else if (typeof sessionId !== "string") {
      throw new MatrixError("M_BAD_JSON", "auth.session must be a string", 400);
    } else {
      session = this.#bound(sessionId, request, bodyHash);
    }
    session.lastUsedTs = this.#now();

    const type = auth?.["type"];
    if (auth !== undefined && type !== undefined) {
      if (typeof type !== "string") throw new MatrixError("M_BAD_JSON", "auth.type must be a string", 400);
      if (!session.completed.includes(type)) {
        const stage = this.#stages.get(type);
        // client-server-api#user-interactive-authentication-api: stages are completed in a flow's order.
        if (stage === undefined || !isNextStage(request.flows, session.completed, type)) {
          throw this.#challenge(session, request, { errcode: "M_UNRECOGNIZED", error: `Authentication stage ${type} is not expected here` });
        }
        const failure = await stage.check(auth, session);
        // The session may have been used up by a concurrent request while the stage was checked.
        if (this.#sessions.get(session.id) !== session) throw unknownSession();
        if (failure !== undefined) throw this.#challenge(session, request, failure);
        if (!session.completed.includes(type)) session.completed.push(type);
      }
    }

    if (request.flows.some((flow) => flow.stages.every((s) => session.completed.includes(s)))) {
      this.#sessions.delete(session.id);
      this.#rememberUsedUp(session);
      return { completed: [...session.completed], registrationToken: session.registrationToken, threepid: session.threepid };
    }
    throw this.#challenge(session, request);
  }

  #create(request: UiaRequest, bodyHash: string): UiaSession {
    while (this.#sessions.size >= this.#maxSessions) {
      const oldest = this.#sessions.values().next();
      if (oldest.done === true) break;
      this.#drop(oldest.value);
    }
    const session: UiaSession = {
      id: randomBytes(18).toString("base64url"),
      endpoint: request.endpoint,
      userId: request.userId,
      bodyHash,
      completed: [],
      lastUsedTs: this.#now(),
      registrationToken: undefined,
      threepid: undefined,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  #bound(sessionId: string, request: UiaRequest, bodyHash: string): UiaSession {
    const session = this.#sessions.get(sessionId);
    if (session === undefined) {
      const usedUp = this.#usedUp.get(sessionId);
      if (usedUp === undefined) throw unknownSession();
      checkSameRequest(usedUp, request, bodyHash);
      throw this.#challenge(usedUp, request);
    }
    checkSameRequest(session, request, bodyHash);
    return session;
  }

  #rememberUsedUp(session: UiaSession): void {
    while (this.#usedUp.size >= this.#maxSessions) {
      const oldest = this.#usedUp.keys().next();
      if (oldest.done === true) break;
      this.#usedUp.delete(oldest.value);
    }
    session.lastUsedTs = this.#now();
    this.#usedUp.set(session.id, session);
  }

  #challenge(session: UiaSession, request: UiaRequest, failure?: StageFailure): UiaChallenge {
    const body: JsonObject = {
      flows: request.flows.map((f) => ({ stages: [...f.stages] })),
      params: request.params ?? {},
      session: session.id,
    };
    // client-server-api#user-interactive-authentication-api: a failed attempt answers "the same 401
    // response as above" (the one with `completed`), so it carries `completed` even when empty.
    if (session.completed.length > 0 || failure !== undefined) body["completed"] = [...session.completed];
    return new UiaChallenge(body, failure);
  }

  #sweep(): void {
    const cutoff = this.#now() - this.#lifetimeMs;
    for (const session of this.#sessions.values()) if (session.lastUsedTs <= cutoff) this.#drop(session);
    // Oldest first: the sweep stops at the first one still fresh.
    for (const session of this.#usedUp.values()) {
      if (session.lastUsedTs > cutoff) break;
      this.#usedUp.delete(session.id);
    }
  }

  #drop(session: UiaSession): void {
    this.#sessions.delete(session.id);
    this.#onAbandoned(session);
  }
}

/** A session authorises only the request it began with: the same endpoint, user and body. */
function checkSameRequest(session: UiaSession, request: UiaRequest, bodyHash: string): void {
  if (session.endpoint !== request.endpoint || session.userId !== request.userId || session.bodyHash !== bodyHash) {
    throw new MatrixError("M_FORBIDDEN", "Requested operation has changed during the UI authentication session", 403);
  }
}

function unknownSession(): MatrixError {
  return new MatrixError("M_UNKNOWN", "Unknown or expired user-interactive authentication session", 400);
}

/** Whether some flow has the completed stages as its start and `type` right after them. */
function isNextStage(flows: readonly UiaFlow[], completed: readonly string[], type: string): boolean {
  return flows.some(
    (flow) => flow.stages[completed.length] === type && completed.every((s, i) => flow.stages[i] === s),
  );
}
