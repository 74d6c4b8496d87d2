// argv → command. Usage errors print one line and exit 2.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';

function readVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  const program = new Command('kmesim')
    .description('Deterministic simulator, mock KME and black-box checker for ETSI GS QKD 014 key management')
    .version(readVersion())
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0 ? 0 : 2;
    }
    throw error;
  }
}
