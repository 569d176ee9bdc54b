/**
 * The two changes to how cdktf runs, kept here and nowhere else, both for synth speed (issue 13:
 * 500 gated images and 500 apps in 5 s), neither changing a byte of the JSON
 * (__tests__/cdktf-tuning.test.ts synthesizes every example both ways and compares).
 *
 * 1. No JavaScript stack trace for every token and nested block cdktf creates.
 *
 * cdktf captures a full, unlimited-depth stack trace in the constructor of every token, lazy value
 * and nested-block object (`captureStackTrace` in cdktf/lib/tokens/private/stack-trace.js), only to
 * print it in its own error messages about unresolvable tokens. A 500-app synth creates ~36,000 of
 * them: a quarter of the whole synth (help/performance.md), and five times slower under jest,
 * whose source-map support formats every frame. acr-gate never shows those traces (its CLI prints
 * one line per problem), and the JSON does not depend on them: __tests__/cdktf-tuning.test.ts
 * checks that the JSON is byte-identical with and without this.
 *
 * If a later cdktf (or CDK Terrain) moves the function, this does nothing: synth gets slower, not
 * wrong.
 */
import type { TerraformStack } from "cdktf";

let applied = false;

export function skipCdktfCreationTraces(): void {
  if (applied) return;
  applied = true;
  let traces: { captureStackTrace?: unknown } | undefined;
  try {
    traces = require("cdktf/lib/tokens/private/stack-trace");
  } catch {
    return;
  }
  if (traces && typeof traces.captureStackTrace === "function") traces.captureStackTrace = () => [];
}

/**
 * 2. No cross-stack scan of a stack that references no other stack.
 *
 * Before writing a stack, cdktf's `prepareStack()` resolves every element of it once more, in
 * "preparing" mode, only to find references to other stacks and create the outputs and remote state
 * they need: a second full token resolution, 2.3 s of a 6,000-resource synth. A stack that refers to
 * no other stack (the single-stack layout; the platform stack of the split layout, which no
 * reference leaves) needs only what else prepareStack does: a default backend.
 */
export function skipCrossStackScan(stack: TerraformStack): void {
  stack.prepareStack = () => {
    stack.ensureBackendExists();
  };
}
