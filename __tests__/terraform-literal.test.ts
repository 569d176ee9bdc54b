/**
 * Config text that acr-gate accepts comes back from Terraform as the same text: proven with
 * Terraform itself, the way an attacker would try it. The synthesized strings are applied with
 * Terraform's built-in `terraform_data` resource (no provider, no network) and read back from
 * state. A control group of strings the config refuses shows that the probe would see evaluation.
 */
import { spawnSync } from "child_process";
import * as fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { checkName } from "../lib/rules";
import { DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import { untrustedTextProblem } from "../lib/config/untrusted-text";
import { synth } from "./helpers";
import { requireTool } from "./support/go-render";

const terraform = spawnSync("terraform", ["version"], { encoding: "utf8" });
const haveTerraform = requireTool("terraform (for the literal-text probe)", !terraform.error && terraform.status === 0);
const testTf = haveTerraform ? test : test.skip;

/** Applies `input` with terraform_data in a throwaway directory and returns what Terraform stored. */
function roundTrip(input: Record<string, string>): Record<string, string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-literal-"));
  try {
    fs.writeFileSync(path.join(dir, "empty.tfrc"), "");
    fs.writeFileSync(
      path.join(dir, "main.tf.json"),
      JSON.stringify({
        resource: { terraform_data: { probe: { input } } },
        output: { probe: { value: "${terraform_data.probe.output}" } },
      }),
    );
    const env = { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0", TF_CLI_CONFIG_FILE: path.join(dir, "empty.tfrc") };
    for (const args of [["init", "-input=false", "-no-color"], ["apply", "-auto-approve", "-input=false", "-no-color"]]) {
      const r = spawnSync("terraform", args, { cwd: dir, env, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`terraform ${args[0]} failed:\n${r.stdout}\n${r.stderr}`);
    }
    const out = spawnSync("terraform", ["output", "-json", "probe"], { cwd: dir, env, encoding: "utf8" });
    if (out.status !== 0) throw new Error(out.stderr);
    return JSON.parse(out.stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const HANDPICKED = [
  "100% of $5 {a} $ { % {",
  "}$",
  "{%",
  "$$",
  "%%",
  "$ {x}",
  "% {x}",
  "$\\{x}",
  "a\\b \"quoted\" 'single'",
  "{\"json\": [1, 2]}",
  "$}{%",
  "ümlaut 日本 🚀",
  "",
  "trailing $",
  "trailing %",
];

/** Random text the config accepts as a tag value (seeded, so CI sees the same strings). */
const generated = fc
  .sample(
    fc.string({ unit: fc.constantFrom("$", "%", "{", "}", "\\", '"', "'", " ", "a", "1", "é", "/", ":", "#"), maxLength: 16 }),
    { seed: 424242, numRuns: 400 },
  )
  .filter((s) => untrustedTextProblem(s) === undefined && checkName("tagValue", s) === undefined)
  .slice(0, 60);

testTf("every accepted tag text comes back from terraform apply unchanged", () => {
  const texts = [...new Set([...HANDPICKED, ...generated])];
  // Keys are templates too in Terraform's JSON syntax: some texts as keys ('%' is not allowed in Azure tag names).
  const keyed = ["a$", "b{", "c}", "d$$", "e$}{", "f {$ }"];
  const entries: [string, string][] = [...texts.map((t, i): [string, string] => [`t${i}`, t]), ...keyed.map((k): [string, string] => [k, k])];
  // Azure allows 50 tags a resource: synthesize in batches of 40, then apply everything at once.
  const synthesized: Record<string, string> = {};
  for (let i = 0; i < entries.length; i += 40) {
    const tags = Object.fromEntries(entries.slice(i, i + 40));
    const doc = YAML.parse(DEFAULT_CONFIG_YAML);
    doc.tags = tags;
    const { tf } = synth(parseConfig(YAML.stringify(doc)));
    const got = tf.resource.azurerm_resource_group.rg_contoso_rg.tags as Record<string, string>;
    expect(got).toEqual({ ...tags, "managed-by": "acr-gate" });
    Object.assign(synthesized, got);
  }
  expect(Object.keys(synthesized)).toHaveLength(entries.length + 1);
  expect(roundTrip(synthesized)).toEqual(synthesized);
  expect(generated.length).toBeGreaterThan(20);
});

testTf("control group: the texts the config refuses would be evaluated or changed by Terraform", () => {
  const refused = { expression: '${upper("x")}', escaped: "$${x}", directive: "%{ if true }y%{ endif }", escapedDirective: "%%{x}" };
  for (const text of Object.values(refused)) expect(untrustedTextProblem(text)).toBeDefined();
  expect(roundTrip(refused)).toEqual({ expression: "X", escaped: "${x}", directive: "y", escapedDirective: "%{x}" });
});
