// The target file the black-box checker reads: where the KMEs are and how each SAE identifies itself.
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { ReadyInfo } from './startServer.js';

export function describeTarget(info: ReadyInfo, authHeader = 'X-SAE-ID'): Record<string, unknown> {
  return {
    kmes: info.kmes.map((kme) => ({ id: kme.id, url: kme.url })),
    saes: info.saes.map((sae) => {
      const pair = info.certs?.saes[sae.id];
      const auth =
        info.auth === 'header' || pair === undefined
          ? { header: authHeader, value: sae.id }
          : { cert: pair.cert, key: pair.key, ca: info.certs?.ca };
      return { id: sae.id, kme: sae.kme, ...auth };
    }),
    profile: info.profile,
    // A repeated dec_keys within the grace gets the same keys again: the checker must not call it an I3.
    ...(info.retryGraceMs === undefined ? {} : { limits: { repeatGraceMs: info.retryGraceMs } }),
    // kmesim serves a slave's dec_keys at either KME of the link (decision 0004).
    decKeys: 'either-kme',
    // kmesim's own admin API: lets the checker restart KMEs and take the remote key manager offline.
    admin: info.admin,
    ...(info.adminToken === undefined ? {} : { adminToken: info.adminToken }),
  };
}

export async function writeTargetFile(path: string, info: ReadyInfo, authHeader?: string): Promise<void> {
  await writeFile(path, `# Written by kmesim serve (seed ${info.seed}); read by kmesim check --target.\n${stringify(describeTarget(info, authHeader))}`);
}
