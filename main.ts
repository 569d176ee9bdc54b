#!/usr/bin/env node
/**
 * The acr-gate command (`npm start`, `npx acr-gate`, and what cdktf.json runs for `cdktf synth`):
 * see app/cli.ts, or run it with --help.
 */
import { enableCompileCache } from "./app/compile-cache";

// Both before anything loads cdktf or zod: a V8 code cache of the modules, and three dependencies
// of dependencies loaded only if used. Together about half the default synth (help/performance.md).
enableCompileCache();
// eslint-disable-next-line @typescript-eslint/no-require-imports
(require("./app/deferred-modules") as typeof import("./app/deferred-modules")).deferUnusedModules();
// Required, not imported, so that it loads after both (imports are hoisted above them).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { runCli } = require("./app/cli") as typeof import("./app/cli");

// process.exitCode, not process.exit(): stderr written to a pipe must reach it whole.
process.exitCode = runCli(process.argv.slice(2), process.env, {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
});
