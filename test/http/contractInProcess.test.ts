// The ETSI 014 contract (test/http/contract/etsiContract.ts) against the Express apps driven in process, without
// a socket: each test gets a fresh two-KME world, identity in the X-SAE-ID header. No known gaps.
import { createInProcessClient } from './contract/kmeClient.js';
import { runEtsiContract } from './contract/etsiContract.js';

runEtsiContract(createInProcessClient);
