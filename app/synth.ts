import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { App } from "cdktf";
import type { AcrGateConfig } from "../lib/config";
import { AcrGateStack } from "../constructs/acr-gate-stack";
import { renderWorkflow } from "./diagram";
import { WorkflowPolicy } from "./policy";
import { skipCdktfCreationTraces, skipCrossStackScan } from "./cdktf-tuning";
import { checkReplaceable, findProjectRoot, MARKER, MARKER_TEXT, replaceOutput, siblingName } from "./outdir";

/**
 * The workflow's stack in an app, with the access policy (app/policy.ts) as a validation: cdktf runs
 * it in `app.synth()`, so a violation fails the synth before anything is written.
 */
export function createStack(app: App, config: AcrGateConfig): AcrGateStack {
  const stack = new AcrGateStack(app, config.stackName, config);
  stack.node.addValidation(new WorkflowPolicy(stack));
  skipCrossStackScan(stack); // one stack: nothing to find
  return stack;
}

/** Builds the app for a config (no files written). */
export function buildApp(config: AcrGateConfig, outdir: string): { app: App; stack: AcrGateStack } {
  skipCdktfCreationTraces();
  // No stack traces in the JSON: they carry paths of the synthesizing machine.
  const app = new App({ outdir, stackTraces: false });
  return { app, stack: createStack(app, config) };
}

/**
 * Synthesizes into a fresh sibling directory and swaps it into place only when everything,
 * including the policy check, succeeded: a failed synth never leaves a half-written outdir, and
 * never touches the old one. The outdir must be one acr-gate may replace (app/outdir.ts), which is
 * checked before anything is written.
 */
export function synthesize(
  config: AcrGateConfig,
  outdir: string,
  /** Additions to the stack before synthesis (a user's own resources, or a test's). */
  customize?: (stack: AcrGateStack) => void,
): string {
  const target = path.resolve(outdir);
  // __dirname is lib/ from sources and dist/lib/ compiled: the root is searched for, not assumed.
  checkReplaceable(target, { cwd: process.cwd(), home: os.homedir(), projectRoot: findProjectRoot(__dirname) });
  const parent = path.dirname(target);
  const created = fs.mkdirSync(parent, { recursive: true });
  const staging = siblingName(target, "staging");
  // Not recursive, so it fails if the name exists: the directory removed on failure is always ours.
  fs.mkdirSync(staging);
  try {
    const { app, stack } = buildApp(config, staging);
    customize?.(stack);
    app.synth();
    // Drawn from the JSON just written, so the picture is what Terraform will create.
    const tf = JSON.parse(fs.readFileSync(path.join(staging, "stacks", stack.node.id, "cdk.tf.json"), "utf8"));
    fs.writeFileSync(path.join(staging, "workflow.md"), renderWorkflow(stack.node.id, tf));
    fs.writeFileSync(path.join(staging, MARKER), MARKER_TEXT);
    replaceOutput(staging, target);
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (created !== undefined) removeEmptyUpTo(parent, created);
    throw e;
  }
  return outdir;
}

/** Removes the parent directories this run created, if still empty: a failed synth writes nothing. */
function removeEmptyUpTo(dir: string, top: string): void {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      fs.rmdirSync(d);
    } catch {
      return; // not empty (the new output is in it) or not ours to remove
    }
    if (d === top || path.dirname(d) === d) return;
  }
}
