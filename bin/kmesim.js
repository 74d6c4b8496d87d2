#!/usr/bin/env node
// The compiled CLI; `npm ci` builds it through the package's prepare script.
import { runCli } from '../dist/cli/main.js';

process.exitCode = await runCli(process.argv.slice(2));
