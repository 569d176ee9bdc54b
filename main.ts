/**
 * Synthesizes the workflow of the config named by ACR_GATE_CONFIG (or the walkthrough's default)
 * into CDKTF_OUTDIR (default cdktf.out). Bad input exits 1 with one line per problem; nothing is
 * written unless the whole synth succeeds.
 */
import { loadConfig } from "./lib/config";
import { synthesize } from "./lib/synth";

try {
  const outdir = synthesize(loadConfig(), process.env.CDKTF_OUTDIR ?? "cdktf.out");
  console.log(`acr-gate: synthesized into ${outdir}`);
} catch (e) {
  console.error(`acr-gate: ${(e as Error).message}`);
  process.exit(1);
}
