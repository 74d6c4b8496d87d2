// The library entry point for other projects' tests: a running mock KME, and a way to stop it.
import { startServer, type RunningServer, type ServerOptions } from './startServer.js';

export interface MockKme {
  readonly kmes: RunningServer['kmes'];
  readonly saes: RunningServer['saes'];
  readonly admin: string;
  readonly seed: number;
  readonly certs: RunningServer['certs'];
  close(): Promise<void>;
}

/** Starts a mock KME on 127.0.0.1 at free ports (defaults: one KME, header identity, strict profile). */
export async function startMockKme(options: ServerOptions = {}): Promise<MockKme> {
  const server = await startServer({ port: 0, ...options });
  return { kmes: server.kmes, saes: server.saes, admin: server.admin, seed: server.seed, certs: server.certs, close: () => server.close() };
}
