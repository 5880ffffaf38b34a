// One application service and what it claims (application-service-api#registration): its sender,
// and the user IDs, room aliases and room IDs its namespaces match.
import type { AppserviceRegistration, Namespace } from "./registration.ts";

function matchesAny(namespaces: readonly Namespace[], value: string, exclusiveOnly = false): boolean {
  for (const ns of namespaces) if ((!exclusiveOnly || ns.exclusive) && ns.regex.test(value)) return true;
  return false;
}

export class Appservice {
  readonly registration: AppserviceRegistration;
  /** `@sender_localpart:server_name`. */
  readonly sender: string;
  readonly #serverSuffix: string;

  constructor(registration: AppserviceRegistration, serverName: string) {
    this.registration = registration;
    this.sender = `@${registration.senderLocalpart}:${serverName}`;
    this.#serverSuffix = `:${serverName}`;
  }

  get id(): string {
    return this.registration.id;
  }

  /**
   * The sender or a user of its user namespaces. Only local users (the note under the registration:
   * "application services can only register interest in local users").
   */
  isInterestedInUser(userId: string): boolean {
    if (userId === this.sender) return true;
    return userId.endsWith(this.#serverSuffix) && matchesAny(this.registration.namespaces.users, userId);
  }

  /** A user an exclusive namespace of this service claims: nobody else may register it. */
  claimsUserExclusively(userId: string): boolean {
    return userId === this.sender || matchesAny(this.registration.namespaces.users, userId, true);
  }

  isInterestedInAlias(roomAlias: string): boolean {
    return matchesAny(this.registration.namespaces.aliases, roomAlias);
  }

  claimsAliasExclusively(roomAlias: string): boolean {
    return matchesAny(this.registration.namespaces.aliases, roomAlias, true);
  }

  isInterestedInRoomId(roomId: string): boolean {
    return matchesAny(this.registration.namespaces.rooms, roomId);
  }

  /** Whether its user namespaces could match anyone (no membership lookups otherwise). */
  get hasUserNamespaces(): boolean {
    return this.registration.namespaces.users.length > 0;
  }
}
