/**
 * app/cdktf-tuning.ts changes how cdktf runs (no per-token stack traces; no cross-stack scan of a
 * stack that references no other). It must not change what cdktf writes: the same configs,
 * synthesized with `app.synth()` in fresh processes with and without it, give byte-identical files.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_CONFIG_YAML } from "../lib/config";
import { scaledConfigYaml } from "./helpers";

const repo = path.resolve(__dirname, "..");
const examples = fs.readdirSync(path.join(repo, "examples")).filter((f) => f.endsWith(".yaml"));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-tuning-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Synthesizes each config with app.synth() in a fresh node process (dist/), tuned or not; returns the files written. */
function synthAll(tuned: boolean, configs: string[]): Record<string, string>[] {
  const out = path.join(tmp, tuned ? "tuned" : "plain");
  const script = `
    const fs = require("fs"), path = require("path");
    const { App } = require("cdktf");
    const { parseConfig } = require("./dist/lib/config");
    const { AcrGateStack } = require("./dist/constructs/acr-gate-stack");
    const tuning = require("./dist/app/cdktf-tuning");
    const configs = JSON.parse(fs.readFileSync(0, "utf8"));
    configs.forEach((text, i) => {
      ${tuned ? "tuning.skipCdktfCreationTraces();" : ""}
      const outdir = path.join(${JSON.stringify(out)}, String(i));
      fs.mkdirSync(outdir, { recursive: true });
      const app = new App({ outdir, stackTraces: false });
      const c = parseConfig(text);
      const stack = new AcrGateStack(app, c.stackName, c);
      ${tuned ? "tuning.skipCrossStackScan(stack);" : ""}
      app.synth();
    });
  `;
  const r = spawnSync(process.execPath, ["-e", script], { cwd: repo, input: JSON.stringify(configs), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(r.stderr);
  return configs.map((_, i) => {
    const files: Record<string, string> = {};
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else files[path.relative(path.join(out, String(i)), p)] = fs.readFileSync(p, "utf8");
      }
    };
    walk(path.join(out, String(i)));
    return files;
  });
}

test("cdk.tf.json and the manifest are byte-identical with and without the tuning", () => {
  const configs = [DEFAULT_CONFIG_YAML, ...examples.map((f) => fs.readFileSync(path.join(repo, "examples", f), "utf8")), scaledConfigYaml(20)];
  const plain = synthAll(false, configs);
  const tuned = synthAll(true, configs);
  expect(tuned).toHaveLength(configs.length);
  tuned.forEach((files, i) => {
    expect(Object.keys(files).sort()).toEqual(Object.keys(plain[i]).sort());
    expect(Object.keys(files)).toContain("stacks/acr-gate/cdk.tf.json");
    for (const [name, text] of Object.entries(files)) expect(`${name}:\n${text}`).toBe(`${name}:\n${plain[i][name]}`);
  });
});
