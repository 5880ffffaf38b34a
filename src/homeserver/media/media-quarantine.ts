// Media a server admin quarantined (Synapse's admin API .../media/quarantine): served to nobody,
// downloads and thumbnails answering 404 M_NOT_FOUND as for unknown media, here and over
// federation; a remote medium is not fetched either. The files stay, so that lifting the
// quarantine serves them again. The quarantined media are few and asked on every download: they are
// kept in memory, loaded at start. Media of ours may be protected: quarantining a room's or a user's
// media all at once leaves them out (a single medium named is quarantined all the same).
import type { MediaRef, QuarantinedMediaStore } from "../../storage/stores/quarantined-media.ts";

export class MediaQuarantine {
  readonly #store: QuarantinedMediaStore;
  readonly #now: () => number;
  /** "server/mediaId" to the admin who quarantined it. */
  #quarantined = new Map<string, string>();
  /** Media IDs of ours protected from quarantining in bulk. */
  #protected = new Set<string>();

  constructor(store: QuarantinedMediaStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  async load(): Promise<void> {
    this.#quarantined = await this.#store.all();
    this.#protected = await this.#store.allProtected();
  }

  /** The admin who quarantined the medium, if it is quarantined. */
  quarantinedBy(serverName: string, mediaId: string): string | undefined {
    return this.#quarantined.get(`${serverName}/${mediaId}`);
  }

  isQuarantined(serverName: string, mediaId: string): boolean {
    return this.#quarantined.has(`${serverName}/${mediaId}`);
  }

  /**
   * Quarantines the media; answers how many were not quarantined before. In `bulk` (a room's, a
   * user's), the protected media of `ourServer` are left out.
   */
  async quarantine(media: readonly MediaRef[], by: string, bulk?: { ourServer: string }): Promise<number> {
    const wanted = bulk === undefined ? media : media.filter((m) => !(m.serverName === bulk.ourServer && this.#protected.has(m.mediaId)));
    const added = await this.#store.add(wanted, by, this.#now());
    for (const { serverName, mediaId } of added) this.#quarantined.set(`${serverName}/${mediaId}`, by);
    return added.length;
  }

  isProtected(mediaId: string): boolean {
    return this.#protected.has(mediaId);
  }

  async setProtected(mediaId: string, isProtected: boolean): Promise<void> {
    await this.#store.setProtected(mediaId, isProtected);
    if (isProtected) this.#protected.add(mediaId);
    else this.#protected.delete(mediaId);
  }

  async lift(serverName: string, mediaId: string): Promise<void> {
    await this.#store.remove(serverName, mediaId);
    this.#quarantined.delete(`${serverName}/${mediaId}`);
  }
}
