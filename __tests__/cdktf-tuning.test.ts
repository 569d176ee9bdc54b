/**
 * app/cdktf-tuning.ts changes how cdktf runs (no per-token stack traces). It must not change what
 * cdktf writes: the same configs, synthesized in fresh processes with and without it, give
 * byte-identical JSON.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { scaledConfigYaml } from "./helpers";

const repo = path.resolve(__dirname, "..");
const examples = fs.readdirSync(path.join(repo, "examples")).filter((f) => f.endsWith(".yaml"));

/** Synthesizes each config in a fresh node process (dist/), with or without the tuning, and returns the JSON texts. */
function synthAll(tuned: boolean, configs: string[]): string[] {
  const script = `
    ${tuned ? 'require("./dist/app/cdktf-tuning").skipCdktfCreationTraces();' : ""}
    const { Testing } = require("cdktf");
    const { parseConfig } = require("./dist/lib/config");
    const { createStack } = require("./dist/app/synth");
    const configs = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const out = configs.map((text) => {
      const c = parseConfig(text);
      return Testing.synth(createStack(Testing.app(), c), true);
    });
    process.stdout.write(JSON.stringify(out));
  `;
  const r = spawnSync(process.execPath, ["-e", script], { cwd: repo, input: JSON.stringify(configs), encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

test("the JSON is byte-identical with and without skipping cdktf's creation stack traces", () => {
  const { DEFAULT_CONFIG_YAML } = require("../lib/config");
  const configs = [DEFAULT_CONFIG_YAML, ...examples.map((f) => fs.readFileSync(path.join(repo, "examples", f), "utf8")), scaledConfigYaml(20)];
  const plain = synthAll(false, configs);
  const tuned = synthAll(true, configs);
  expect(tuned).toHaveLength(configs.length);
  tuned.forEach((json, i) => expect(json).toBe(plain[i]));
});
