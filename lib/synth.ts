import * as fs from "fs";
import * as path from "path";
import { App } from "cdktf";
import type { AcrGateConfig } from "./config";
import { AcrGateStack } from "../constructs/acr-gate-stack";
import { renderWorkflow } from "./diagram";

/** Builds the app for a config (no files written). */
export function buildApp(config: AcrGateConfig, outdir: string): { app: App; stack: AcrGateStack } {
  // No stack traces in the JSON: they carry paths of the synthesizing machine.
  const app = new App({ outdir, stackTraces: false });
  const stack = new AcrGateStack(app, config.stackName, config);
  return { app, stack };
}

/**
 * Synthesizes into a fresh sibling directory and swaps it into place only when everything,
 * including the policy check, succeeded: a failed synth never leaves a half-written outdir.
 */
export function synthesize(
  config: AcrGateConfig,
  outdir: string,
  /** Additions to the stack before synthesis (a user's own resources, or a test's). */
  customize?: (stack: AcrGateStack) => void,
): string {
  const target = path.resolve(outdir);
  const staging = `${target}.staging-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    const { app, stack } = buildApp(config, staging);
    customize?.(stack);
    app.synth();
    fs.writeFileSync(path.join(staging, "workflow.md"), renderWorkflow(stack));
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(staging, target);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return outdir;
}
