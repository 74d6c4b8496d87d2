#!/usr/bin/env node
// The compiled CLI; `npm ci` builds it through the package's prepare script.
import { runCli } from '../dist/cli/main.js';

// A reader that stops early (`kmesim run … | head`) is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2));
