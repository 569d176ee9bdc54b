#!/usr/bin/env node
/**
 * The acr-gate command (`npm start`, `npx acr-gate`, and what cdktf.json runs for `cdktf synth`):
 * see app/cli.ts, or run it with --help.
 */
import { enableCompileCache } from "./app/compile-cache";

// Before anything loads cdktf or zod: Node's compile cache of the modules (app/compile-cache.ts).
enableCompileCache();
// Required, not imported, so that it loads after that (imports are hoisted above it).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { runCli } = require("./app/cli") as typeof import("./app/cli");

// process.exitCode, not process.exit(): stderr written to a pipe must reach it whole.
process.exitCode = runCli(process.argv.slice(2), process.env, {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
});
