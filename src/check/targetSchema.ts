// The target file of `kmesim check` (YAML): the KMEs to drive and how each SAE identifies itself.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

const saeSchema = z
  .strictObject({
    id: z.string().min(1),
    kme: z.string().min(1),
    /** Header identity: the header name and the value that names this SAE. */
    header: z.string().min(1).optional(),
    value: z.string().optional(),
    /** mTLS identity: client certificate, key and the CA that signed the KME's certificate. */
    cert: z.string().optional(),
    key: z.string().optional(),
    ca: z.string().optional(),
    insecure: z.boolean().default(false),
  })
  .refine((sae) => (sae.header !== undefined) !== (sae.cert !== undefined), { message: 'give either header (with value) or cert and key' })
  .refine((sae) => sae.cert === undefined || sae.key !== undefined, { message: 'cert needs key' });

const keysPathSchema = z.string().regex(/^\/[^?#]*[^/?#]$/, 'a path such as /api/v1/keys (leading slash, no trailing slash)');

export const targetSchema = z.strictObject({
  /**
   * The KMEs. A path in the URL is a prefix under which the KME serves everything (http://host/qkd →
   * http://host/qkd/api/v1/keys/…); `keysPath` replaces `/api/v1/keys` for a KME whose ETSI routes sit
   * elsewhere beside other route sets.
   */
  kmes: z.array(z.strictObject({ id: z.string().min(1), url: z.url(), keysPath: keysPathSchema.optional() })).min(1).max(2),
  /** Where the ETSI routes are on every KME that does not say otherwise. */
  keysPath: keysPathSchema.default('/api/v1/keys'),
  /**
   * Which KMEs serve a slave's dec_keys: only the KME it is attached to, or either KME of the link. The
   * spec leaves it open; unknown means a refusal anywhere but the slave's own KME is not judged.
   */
  decKeys: z.enum(['slave-kme', 'either-kme']).optional(),
  saes: z.array(saeSchema).min(2),
  /** The profile the target claims; `lenient` targets keep keys after dec_keys, so I3 is not judged. */
  profile: z.string().default('strict'),
  /** What the target's operators say about it, so the checker judges only what the target promises. */
  limits: z
    .strictObject({
      keyTtlMs: z.number().int().min(1).optional(),
      requestTimeoutMs: z.number().int().min(1).default(5_000),
      /**
       * How long the target answers a repeated dec_keys idempotently, giving a slave the key it already
       * retrieved (a lost answer's retry). Absent or 0: the target burns the delivery, and a second
       * retrieval is an I3.
       */
      repeatGraceMs: z.number().int().min(0).optional(),
    })
    .default({ requestTimeoutMs: 5_000 }),
  /** The kmesim admin API, when the target has one: lets the checker restart KMEs and take the remote offline. */
  admin: z.url().optional(),
  adminToken: z.string().optional(),
});

export type Target = z.output<typeof targetSchema>;
export type TargetSae = Target['saes'][number];

export class TargetError extends Error {}

export async function loadTarget(file: string): Promise<Target> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new TargetError(`${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new TargetError(`${file}: not YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = targetSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TargetError(`${file}: ${issue?.path.join('.') || '(file)'}: ${issue?.message ?? 'invalid'}`);
  }
  const target = parsed.data;
  const kmeIds = new Set(target.kmes.map((kme) => kme.id));
  const strange = target.saes.find((sae) => !kmeIds.has(sae.kme));
  if (strange !== undefined) throw new TargetError(`${file}: saes: ${strange.id} names KME ${strange.kme}, which is not listed`);
  // Certificate paths are relative to the target file.
  const base = dirname(resolve(file));
  const at = (path: string | undefined): string | undefined => (path === undefined ? undefined : resolve(base, path));
  return {
    ...target,
    saes: target.saes.map((sae) => {
      const cert = at(sae.cert);
      const key = at(sae.key);
      const ca = at(sae.ca);
      return { ...sae, ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }), ...(ca === undefined ? {} : { ca }) };
    }),
  };
}
