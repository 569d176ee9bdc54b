/**
 * One change to how cdktf runs, kept here and nowhere else: it does not record a JavaScript stack
 * trace for every token and nested block it creates.
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
