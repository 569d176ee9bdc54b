/**
 * Synthesizes the workflow of the config named by ACR_GATE_CONFIG (or the walkthrough's default)
 * into CDKTF_OUTDIR (default cdktf.out; set but empty is an error, not the default). Bad input exits
 * 1 with one line per problem; nothing is written unless the whole synth succeeds, and an outdir
 * acr-gate may not replace (lib/outdir.ts) is refused before anything is touched.
 */
import { loadConfig } from "./lib/config";
import { resolveOutdir } from "./lib/outdir";
import { synthesize } from "./lib/synth";

try {
  const outdir = resolveOutdir(process.env.CDKTF_OUTDIR);
  console.log(`acr-gate: synthesized into ${synthesize(loadConfig(), outdir)}`);
} catch (e) {
  console.error(`acr-gate: ${(e as Error).message}`);
  // Not process.exit(): it could cut stderr written to a pipe short (writes there are asynchronous).
  process.exitCode = 1;
}
