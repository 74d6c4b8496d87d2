// The library entry point for other projects' tests: a running mock KME, and a way to stop it.
import { isProfileName, PROFILE_NAMES } from '../model/profiles.js';
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
  // The type says 1 or 2; a caller from JavaScript (or through a cast) may say anything.
  const kmes: unknown = options.kmes;
  if (kmes !== undefined && kmes !== 1 && kmes !== 2) throw new RangeError(`startMockKme: kmes must be 1 or 2, got ${typeof kmes === 'string' ? JSON.stringify(kmes) : String(kmes)}`);
  const profile: unknown = options.profile;
  if (profile !== undefined && (typeof profile !== 'string' || !isProfileName(profile))) {
    throw new RangeError(`startMockKme: profile must be one of ${PROFILE_NAMES.join(', ')}, got ${JSON.stringify(profile)}`);
  }
  const server = await startServer({ port: 0, ...options });
  return { kmes: server.kmes, saes: server.saes, admin: server.admin, seed: server.seed, certs: server.certs, close: () => server.close() };
}
