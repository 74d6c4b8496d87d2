// `kmesim/testing`: property tests of a key consumer against a mock KME pair. Record the client's ETSI
// traffic, report which keys it sealed and opened each message with, and judge both the client (U1…U7) and
// the KMEs (I1…I16) after every run; arbitraries for messages across key boundaries and for requests.
// `fc` is the fast-check this kit's arbitraries are built with: use it, so that they are one library.
export { default as fc } from 'fast-check';
export { keyRequestArb, messageArb, type KeyRequestOptions, type MessageOptions } from './arbitraries.js';
export { clientCommands, runClientCommands, scheduledFetch, type ClientCommand, type ClientCommandOptions, type ClientModel, type ClientReal, type KeyConsumer, type RunClientCommandsOptions } from './clientCommands.js';
export { ClientKeyError, startClientHarness, type ClientHarness, type ClientHarnessOptions, type ClientRun } from './clientHarness.js';
export { CLIENT_INVARIANTS, createClientLedger, type ClientFinding, type ClientInvariantId, type ClientLedger } from './clientLedger.js';
export type { FaultInput } from '../http/startMockKme.js';
export { recordEtsiTraffic, type EtsiRecorder, type RecordedExchange, type RecordedRoute, type RecorderOptions } from './etsiRecorder.js';
export { startRecordingProxy, type ClientVerdict, type RecordingProxy, type RecordingProxyOptions } from './recordingProxy.js';
