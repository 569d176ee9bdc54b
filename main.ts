#!/usr/bin/env node
/**
 * The acr-gate command (`npm start`, `npx acr-gate`, and what cdktf.json runs for `cdktf synth`):
 * see app/cli.ts, or run it with --help.
 */
import { runCli } from "./app/cli";

// process.exitCode, not process.exit(): stderr written to a pipe must reach it whole.
process.exitCode = runCli(process.argv.slice(2), process.env, {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
});
