import type { FastifyInstance } from "fastify";
import { buildHttpApp, type HttpDeps, type ListenerOptions } from "./app.ts";

export interface ListenerSpec extends ListenerOptions {
  readonly port: number;
  readonly bindAddresses: readonly string[];
}

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
}

export interface RunningListeners {
  readonly addresses: readonly BoundAddress[];
  /** Stops accepting connections and resolves once every accepted request has been answered. */
  close(): Promise<void>;
}

/** Starts every listener of the config: one HTTP application per bound address. */
export async function startListeners(deps: HttpDeps, specs: readonly ListenerSpec[]): Promise<RunningListeners> {
  const apps: FastifyInstance[] = [];
  const addresses: BoundAddress[] = [];
  try {
    for (const spec of specs) {
      let boundDualStack = false;
      for (const host of spec.bindAddresses) {
        const app = buildHttpApp(deps, spec);
        try {
          await app.listen({ port: spec.port, host });
        } catch (error) {
          // '::' usually accepts IPv4 too, so a following '0.0.0.0' on the same port is already served.
          if ((error as NodeJS.ErrnoException).code === "EADDRINUSE" && host === "0.0.0.0" && boundDualStack) {
            await app.close();
            continue;
          }
          await app.close();
          throw error;
        }
        if (host === "::") boundDualStack = true;
        apps.push(app);
        const address = app.server.address();
        const port = typeof address === "object" && address !== null ? address.port : spec.port;
        addresses.push({ host, port, tls: spec.tls !== undefined });
      }
    }
  } catch (error) {
    await Promise.all(apps.map((a) => a.close()));
    throw error;
  }
  return {
    addresses,
    close: async () => {
      await Promise.all(apps.map((a) => a.close()));
    },
  };
}
