// The public surface of kmesim. Named exports only, grouped by concern.

// Wire schema (ETSI GS QKD 014 §6)
export {
  SPEC_ERROR,
  errorSchema,
  keyContainerSchema,
  keyIdsSchema,
  keyRequestSchema,
  statusSchema,
  type ErrorBody,
  type KeyContainer,
  type KeyIds,
  type KeyRequest,
  type Status,
} from './model/wireSchema.js';

// Profiles and bug switches
export { PROFILES, PROFILE_NAMES, RETRY_MODES, lenientProfile, nextDoorProfile, perUserPoolProfile, resolveProfile, strictProfile, type Profile, type ProfileName, type RetryMode } from './model/profiles.js';
export { BUG_DESCRIPTIONS, BUG_NAMES, parseBugNames, type BugName } from './model/bugs.js';

// The model: world, core, service
export { cloneWorld, createWorld, linkIdOf, poolIdOf, type World, type WorldOptions } from './model/world.js';
export { executeCommand, type KmeCommand, type KmeResult, type StepOutcome } from './model/kmeCore.js';
export type { DeliveredKey } from './model/encKeys.js';
export type { KmeEffect } from './model/poolOps.js';
export { toEtsiError, type EtsiErrorResponse, type KmeError, type KmeErrorKind } from './model/kmeError.js';
export { createKmeService, type KmeService, type KmeServiceOptions } from './engine/kmeService.js';

// Machines
export { keyMachine, type KeyState } from './model/keyMachine.js';
export { computeBackoffMs, poolMachine, type PoolLevel, type SyncReason } from './model/poolMachine.js';

// Key material, IDs and the OTP envelope
export { deriveKeyBytes, hashKeyBytes, materialOf } from './model/keyMaterial.js';
export { deriveKeyId, isCanonicalUuid } from './model/keyIds.js';
export { OtpError, countKeysNeeded, decodeEnvelope, encodeEnvelope, openOtp, sealOtp, type OtpEnvelope, type OtpKey } from './model/otpEnvelope.js';

// Invariants
export { INVARIANT_IDS, INVARIANT_NAMES, type InvariantId, type Violation } from './model/violation.js';
export { createHistoryChecker, type Exchange, type HistoryChecker, type ObservedKey } from './model/historyChecker.js';
export { checkStep, checkWorld, snapshotCounts, type CountsSnapshot } from './model/worldInvariants.js';
export { describeWorldState, worldDigest } from './model/worldDigest.js';

// Faults and a server's setup (the engine both drivers share)
export { faultSchema, type Fault } from './engine/faults.js';
export { SERVER_KME_IDS, type SaeSpec, type ServerSetup, type SetupRequest, type SetupResolver } from './engine/serverSetup.js';

// The simulator
export { runScenario, type RunOptions } from './sim/runScenario.js';
export { loadScenarios, parseScenario, ScenarioError } from './sim/loadScenario.js';
export { scenarioSchema, type Scenario } from './sim/scenarioSchema.js';
export { createScenarioSetup } from './sim/scenarioSetup.js';
export type { RunReport } from './sim/runReport.js';
export { writeReports } from './sim/report/writeReports.js';

// The mock KME over HTTP
export { expectInvariantsHold, MockKmeAdminError, startMockKme, type FaultInput, type InvariantVerdict, type MockKme, type PlannedFault } from './http/startMockKme.js';
export type { EtsiRoute, RequestQuery, RequestRecord } from './http/requestJournal.js';
export { startServer, type ReadyInfo, type RunningServer, type ServerOptions } from './http/startServer.js';
export { createKmeHost, type KmeHost, type KmeHostOptions } from './http/kmeHost.js';
export { createHostClock, type HostClock } from './http/hostClock.js';
export { LOG_LEVELS, createLogger, type LogLevel, type Logger } from './http/logging.js';
export { buildOpenApiDocument } from './http/routeTable.js';
