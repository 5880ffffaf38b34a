// Media a server admin quarantined (Synapse's admin API .../media/quarantine): served to nobody,
// downloads and thumbnails answering 404 M_NOT_FOUND as for unknown media, here and over
// federation; a remote medium is not fetched either. The files stay, so that lifting the
// quarantine serves them again. The quarantined media are few and asked on every download: they are
// kept in memory, loaded at start.
import type { MediaRef, QuarantinedMediaStore } from "../../storage/stores/quarantined-media.ts";

export class MediaQuarantine {
  readonly #store: QuarantinedMediaStore;
  readonly #now: () => number;
  /** "server/mediaId" to the admin who quarantined it. */
  #quarantined = new Map<string, string>();

  constructor(store: QuarantinedMediaStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  async load(): Promise<void> {
    this.#quarantined = await this.#store.all();
  }

  /** The admin who quarantined the medium, if it is quarantined. */
  quarantinedBy(serverName: string, mediaId: string): string | undefined {
    return this.#quarantined.get(`${serverName}/${mediaId}`);
  }

  isQuarantined(serverName: string, mediaId: string): boolean {
    return this.#quarantined.has(`${serverName}/${mediaId}`);
  }

  /** Quarantines the media; answers how many were not quarantined before. */
  async quarantine(media: readonly MediaRef[], by: string): Promise<number> {
    const added = await this.#store.add(media, by, this.#now());
    for (const { serverName, mediaId } of added) this.#quarantined.set(`${serverName}/${mediaId}`, by);
    return added.length;
  }

  async lift(serverName: string, mediaId: string): Promise<void> {
    await this.#store.remove(serverName, mediaId);
    this.#quarantined.delete(`${serverName}/${mediaId}`);
  }
}
