// The ETSI GS QKD 014 contract of the strict profile, item by item from shared/ETSI014.md, written once against
// KmeClient and run against every implementation (Hono's runTest({ newRouter }) pattern). Method: every test
// opens its own fresh two-KME world (fixed seed, manual clock) and drives it only through the API and the admin
// API; every response it sees is checked against the zod wire schema for its kind on the way.
//
// The tests live by concept, registered in this order: identity and the basics of every answer
// (identityContract.ts), status (statusContract.ts), enc_keys (encKeysContract.ts), dec_keys
// (decKeysContract.ts), Error answers (errorsContract.ts), routing and transport (transportContract.ts) and the
// served OpenAPI document (openApiContract.ts); contractKit.ts holds what they share.
import { CHECKLIST, isChecklistItem, type ChecklistItem } from '../../../src/check/checklist.js';
import { it } from 'vitest';
import { wrap, type Contract, type World } from './contractKit.js';
import { decKeysContract } from './decKeysContract.js';
import { encKeysContract } from './encKeysContract.js';
import { errorsContract } from './errorsContract.js';
import { identityContract } from './identityContract.js';
import type { ContractWorldOptions, KmeClient, NewKmeClient } from './kmeClient.js';
import { openApiContract } from './openApiContract.js';
import { statusContract } from './statusContract.js';
import { transportContract } from './transportContract.js';

export interface ContractSkip {
  readonly reason: string;
  /** Test names, or checklist items ("C35") that stand for every test citing them. */
  readonly tests: readonly string[];
}

export function runEtsiContract(newClient: NewKmeClient, skip: readonly ContractSkip[] = []): void {
  const registered: string[] = [];
  const skipReason = (name: string): string | undefined =>
    skip.find((entry) => entry.tests.some((test) => test === name || name.startsWith(`${test} `)))?.reason;

  const contract: Contract = (name, run) => {
    registered.push(name);
    const reason = skipReason(name);
    if (reason !== undefined) {
      it.skip(`${name} (known gap: ${reason})`, () => undefined);
      return;
    }
    it(name, async () => {
      const opened: KmeClient[] = [];
      const open = async (options?: ContractWorldOptions): Promise<World> => {
        const client = await newClient(options);
        opened.push(client);
        return wrap(client);
      };
      try {
        await run(open);
      } finally {
        for (const client of opened.reverse()) await client.close();
      }
    });
  };

  identityContract(contract);
  statusContract(contract);
  encKeysContract(contract);
  decKeysContract(contract);
  errorsContract(contract);
  transportContract(contract);
  openApiContract(contract);

  // Every test that cites a checklist item cites one the checklist defines (src/check/checklist.ts), and
  // every item is held by a test here, or (C1 in mTLS mode) by the mTLS suite that runs this contract.
  const cited = new Set(registered.flatMap((name) => /^(C\d+) /.exec(name)?.[1] ?? []));
  const unknown = [...cited].filter((id) => !isChecklistItem(id));
  if (unknown.length > 0) throw new Error(`runEtsiContract: tests cite items the checklist does not define: ${unknown.join(', ')}`);
  const HELD_ELSEWHERE: readonly ChecklistItem[] = ['C1'];
  const uncovered = (Object.keys(CHECKLIST) as ChecklistItem[]).filter((item) => !cited.has(item) && !HELD_ELSEWHERE.includes(item));
  if (uncovered.length > 0) throw new Error(`runEtsiContract: no contract test holds ${uncovered.join(', ')}`);

  const unmatched = skip.flatMap((entry) => entry.tests).filter((test) => !registered.some((name) => name === test || name.startsWith(`${test} `)));
  if (unmatched.length > 0) throw new Error(`runEtsiContract: skip names no test: ${unmatched.join(', ')}`);
}
