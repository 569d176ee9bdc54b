import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { App, TerraformStack } from "cdktf";
import type { AcrGateConfig } from "../lib/config/schema";
import { AcrGateStack } from "../constructs/acr-gate-stack";
import { PlatformStack } from "../constructs/platform-stack";
import { TeamStack } from "../constructs/team-stack";
import { renderWorkflow } from "./diagram";
import { WorkflowPolicy } from "./policy";
import { skipCrossStackScan, tuneCdktf } from "./cdktf-tuning";
import { checkReplaceable, findProjectRoot, MARKER, MARKER_TEXT, replaceOutput, siblingName } from "./outdir";

/** The access policy (app/policy.ts) as a validation, which `app.synth()` runs before writing; no cross-stack scan. */
function guarded<T extends TerraformStack>(stack: T): T {
  stack.node.addValidation(new WorkflowPolicy(stack));
  // No stack reaches into another through cdktf's automatic cross-stack references (team stacks read
  // the platform's named outputs through remote state), so none needs cdktf's scan for them.
  skipCrossStackScan(stack);
  return stack;
}

/** The workflow's stack in an app (the single layout), guarded by the access policy. */
export function createStack(app: App, config: AcrGateConfig): AcrGateStack {
  return guarded(new AcrGateStack(app, config.stackName, config));
}

/**
 * Every stack of the config's layout: the one AcrGateStack, or the platform stack and a stack per
 * team registry (named <stackName>-<team>), each guarded by the access policy.
 */
export function createStacks(app: App, config: AcrGateConfig): TerraformStack[] {
  if (config.layout === "single") return [createStack(app, config)];
  const platform = guarded(new PlatformStack(app, config.stackName, config));
  return [platform, ...config.teamRegistries.map((t) => guarded(new TeamStack(app, `${config.stackName}-${t.name}`, config, t, platform)))];
}

/**
 * Synthesizes without writing: what `app.synth()` does (prepare, validate, render), in memory, for
 * every stack of the layout, by stack name in creation order (the platform or single stack first).
 */
export function synthesizeInMemory(config: AcrGateConfig): Map<string, Record<string, any>> {
  tuneCdktf();
  // cdktf's App creates its outdir unless it exists: the system temp directory always does, and
  // nothing is written into it (no app.synth()).
  const app = new App({ outdir: os.tmpdir(), stackTraces: false });
  const stacks = createStacks(app, config);
  stacks.forEach((s) => s.prepareStack());
  const out = new Map<string, Record<string, any>>();
  for (const s of stacks) {
    s.runAllValidations();
    out.set(s.node.id, JSON.parse(JSON.stringify(s.toTerraform())));
  }
  return out;
}

/** Builds the app for a config (no files written). */
export function buildApp(config: AcrGateConfig, outdir: string): { app: App; stacks: TerraformStack[] } {
  tuneCdktf();
  // No stack traces in the JSON: they carry paths of the synthesizing machine.
  const app = new App({ outdir, stackTraces: false });
  return { app, stacks: createStacks(app, config) };
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
  /** Additions to the stack before synthesis (a user's own resources, or a test's); single layout. */
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
    const { app, stacks } = buildApp(config, staging);
    if (customize) {
      if (!(stacks[0] instanceof AcrGateStack)) throw new Error("customize works on the single layout's stack");
      customize(stacks[0]);
    }
    app.synth();
    // Drawn from the JSON just written, so the picture is what Terraform will create.
    const tfs = stacks.map((s) => ({
      name: s.node.id,
      tf: JSON.parse(fs.readFileSync(path.join(staging, "stacks", s.node.id, "cdk.tf.json"), "utf8")),
    }));
    fs.writeFileSync(path.join(staging, "workflow.md"), renderWorkflow(tfs));
    fs.writeFileSync(path.join(staging, MARKER), MARKER_TEXT);
    // The cdktf CLI (which sets this variable for the app it runs) removes old stack directories itself.
    replaceOutput(staging, target, {}, { placeholdersForRemovedStacks: process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS !== undefined });
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
