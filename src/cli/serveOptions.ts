// `kmesim serve`'s options, each also read from an environment variable `KMESIM_<OPTION>` (flags win), so a
// CI in any language can configure the mock KME without a scenario file or a command line to build.
import { Option, type Command } from 'commander';
import type { ServeCommandOptions } from './serveCommand.js';
import { UsageError } from './usageError.js';

/** `--max-waiting-keys` → `KMESIM_MAX_WAITING_KEYS`. */
export function envNameOf(flag: string): string {
  return `KMESIM_${flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

/** A repeatable option: each use adds its values; a comma-separated list (the environment's form) adds each. */
function collectList(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((item) => item.trim()).filter((item) => item.length > 0)];
}

interface ValueOption {
  readonly flags: string;
  readonly help: string;
  readonly fallback?: string;
  readonly list?: true;
}

const VALUE_OPTIONS: readonly ValueOption[] = [
  { flags: '--port <n>', help: 'port of the first KME (0: any free port)', fallback: '0' },
  { flags: '--host <address>', help: 'address to bind', fallback: '127.0.0.1' },
  { flags: '--seed <n>', help: 'seed of the key material and key IDs (default: random, printed)' },
  { flags: '--kmes <n>', help: "1 or 2 KMEs (enc_keys on the master's KME, dec_keys on the slave's; default: the scenario's, or 1)" },
  { flags: '--kme-id <id>', help: 'the ID of the first KME, then of the second (repeatable or comma-separated; default KME_A, KME_B)', list: true },
  { flags: '--sae <id@kme>', help: 'an SAE and the KME it is attached to, e.g. SAE_1@KME_A (repeatable or comma-separated; default SAE_A1, SAE_A2 on the first KME, SAE_B1, SAE_B2 on the second)', list: true },
  { flags: '--profile <name>', help: "strict, per-user-pool, next-door or lenient (default: the scenario's, or strict)" },
  { flags: '--retry <mode>', help: 'what a repeated dec_keys gets after a lost answer: burn (refused; the default) or idempotent (the same keys again within --retry-grace)' },
  { flags: '--retry-grace <ms>', help: 'how long a slave may repeat a dec_keys under --retry idempotent (default 30000)' },
  { flags: '--auth <mode>', help: 'header (X-SAE-ID) or mtls (certificates made on first start)', fallback: 'header' },
  { flags: '--auth-header <name>', help: 'the header that names the caller in header mode', fallback: 'X-SAE-ID' },
  { flags: '--db <file>', help: 'keep the world in this SQLite file (survives restarts and SIGKILL; needs the optional package better-sqlite3)' },
  { flags: '--scenario <file>', help: 'take users, pools and faults from a scenario file' },
  { flags: '--bug <name>', help: 'switch on a catalogue bug (repeatable or comma-separated)', list: true },
  { flags: '--write-target <file>', help: 'write the target file for kmesim check' },
  { flags: '--ready-file <file>', help: 'also write the ready line to this file once every port listens (written whole: a reader never sees half of it)' },
  { flags: '--clock <mode>', help: 'real, or manual (time moves only through the admin API)', fallback: 'real' },
  { flags: '--max-waiting-keys <n>', help: 'delivered keys that may wait for their slave per pool before enc_keys gets 503 (default: the pool capacity; 0: no bound)' },
  { flags: '--pool-capacity <n>', help: "keys per pool (a small world for property tests: exhaustion in a few requests; default: the profile's)" },
  { flags: '--key-size <bits>', help: "the key size in bits, a multiple of 8 (default: the profile's)" },
  { flags: '--max-keys-per-request <n>', help: "the most keys one enc_keys may ask for (default: the profile's)" },
  { flags: '--sync-latency <ms>', help: "how long the remote key manager takes to answer a sync (default: the scenario's, or 1000)" },
  { flags: '--cert-dir <dir>', help: 'where mTLS certificates are kept: ca.pem, <SAE ID>.pem and <SAE ID>-key.pem', fallback: '.kmesim/certs' },
  { flags: '--admin-token <token>', help: 'admin API token for callers beyond loopback (default: random)' },
  { flags: '--log-level <level>', help: 'log JSON lines from this level on: fatal, error, warn, info (a line per request), debug, trace or silent', fallback: 'warn' },
  { flags: '--log-file <file>', help: 'append the log to this file instead of stderr' },
];

/** The switches, read from the environment by serveCommand (commander would take any value, even 0, as on). */
export const SWITCH_ENV = { allowHeaderAuth: envNameOf('--allow-header-auth'), exitWithParent: envNameOf('--exit-with-parent'), judgeClients: envNameOf('--judge-clients') } as const;

/** Every environment variable serve reads, for the help and the documentation. */
export const SERVE_ENV_NAMES: readonly string[] = [...VALUE_OPTIONS.map((option) => envNameOf(option.flags.split(' ')[0] as string)), ...Object.values(SWITCH_ENV)];

export function declareServe(program: Command, action: (options: ServeCommandOptions) => Promise<void>): void {
  const command = program.command('serve').description('serve the model as ETSI GS QKD 014 KMEs: a mock KME for CI (every option also from KMESIM_<OPTION>; flags win)');
  for (const spec of VALUE_OPTIONS) {
    const option = new Option(spec.flags, spec.help).env(envNameOf(spec.flags.split(' ')[0] as string));
    if (spec.list === true) option.argParser(collectList);
    if (spec.fallback !== undefined) option.default(spec.fallback);
    command.addOption(option);
  }
  command
    .option('--allow-header-auth', `allow header mode on a non-loopback address (env: ${SWITCH_ENV.allowHeaderAuth}=1)`)
    .option('--exit-with-parent', `stop when the process that started serve is gone (default: on when stdin is not a terminal; env: ${SWITCH_ENV.exitWithParent}=1 or 0)`)
    .option('--no-exit-with-parent', 'keep serving after the process that started serve is gone')
    .option('--judge-clients', `put a recording proxy in front of each KME and judge the clients' use of keys (U1…U7) at {ledger}/verdict; the ready line's kmes are the proxies (env: ${SWITCH_ENV.judgeClients}=1)`)
    .action(async (options: ServeCommandOptions, self: Command) => {
      try {
        await action(options);
      } catch (error) {
        throw error instanceof UsageError ? new UsageError(namingTheVariable(error.message, self)) : error;
      }
    });
}

/**
 * A refusal of an option that came from the environment says so: a CI configured by variables looks for
 * KMESIM_PORT, not for a --port it never wrote.
 */
function namingTheVariable(message: string, command: Command): string {
  const flag = /^(--[a-z][a-z-]*)/.exec(message)?.[1];
  const option = flag === undefined ? undefined : command.options.find((candidate) => candidate.long === flag);
  if (option === undefined || command.getOptionValueSource(option.attributeName()) !== 'env') return message;
  return `${message} (from ${envNameOf(flag as string)})`;
}

/**
 * Serve's variables as a CI sets them: surrounding spaces dropped, and an empty one taken as unset (a
 * `KMESIM_DB=${DB:-}` line must not ask for an unnamed database).
 */
export function normalizeServeEnvironment(env: NodeJS.ProcessEnv): void {
  for (const name of SERVE_ENV_NAMES) {
    const value = env[name];
    if (value === undefined) continue;
    const trimmed = value.trim();
    if (trimmed === '') delete env[name];
    else env[name] = trimmed;
  }
}

/** A switch from the environment: 1/true/yes/on or 0/false/no/off; anything else is a usage error. */
export function readSwitch(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(value)) return false;
  throw new UsageError(`${name} must be 1, true, yes, on or 0, false, no, off, got ${JSON.stringify(raw)}`);
}
