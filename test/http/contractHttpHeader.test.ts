// The ETSI 014 contract (test/http/contract/etsiContract.ts) against startServer on loopback with header identity,
// called with real fetch: each test starts a fresh two-KME server on free ports and closes it. No known gaps.
import { createHttpHeaderClient } from './contract/kmeClient.js';
import { runEtsiContract } from './contract/etsiContract.js';

runEtsiContract(createHttpHeaderClient);
