/**
 * Terraform's own plan and apply, on mocked providers (`terraform test`, Terraform 1.7+), over every
 * synthesized stack: what `terraform validate` cannot see (help/validation.md, "Terraform's own
 * plan: `terraform test`"). For the default config and every examples/*.yaml, each stack gets a
 * `main.tftest.hcl` beside its `cdk.tf.json` (in a temporary directory) that applies the stack, then
 * plans it again: the second plan must change nothing. Then the day-2 moves of deployers
 * (`renamedFrom`, help/operations.md "Deployers"): a state applied from the config before, a plan of
 * the config after, the policy moved and not replaced. Needs terraform and the provider mirror
 * (ACR_GATE_TF_MIRROR or ../shared/terraform-mirror); skipped with a note without them (an error in
 * CI: ACR_GATE_REQUIRE_TOOLS=1). Offline: providers from the mirror only, as scripts/validate.sh.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCli } from "../app/cli";
import { DEFAULT_CONFIG_YAML } from "../lib/config";
import { requireTool } from "./support/go-render";
import { applyThenPlan, mockHeader } from "./support/tf-test";

const repo = path.join(__dirname, "..");
const mirror = [process.env.ACR_GATE_TF_MIRROR, path.join(repo, "..", "shared", "terraform-mirror")].find(
  (m) => m && fs.existsSync(path.join(m, "registry.terraform.io", "hashicorp", "azurerm", "terraform-provider-azurerm_4.81.0_linux_amd64.zip")),
);
const tfBin = process.env.ACR_GATE_TERRAFORM ?? "terraform";
const version = spawnSync(tfBin, ["version", "-json"], { encoding: "utf8" });
const tfVersion = version.status === 0 ? (JSON.parse(version.stdout).terraform_version as string) : "";
// `state_key` in run blocks (the day-2 cases) is Terraform 1.11.
const recent = /^(\d+)\.(\d+)\./.test(tfVersion) && Number(tfVersion.split(".")[0]) === 1 && Number(tfVersion.split(".")[1]) >= 11;
const ready = requireTool("terraform 1.11+ and the provider mirror (ACR_GATE_TF_MIRROR or ../shared/terraform-mirror) with azurerm 4.81.0 and time 0.13.1", recent && mirror !== undefined);

const work = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-tftest-"));
afterAll(() => {
  if (process.env.ACR_GATE_KEEP_WORK !== "1") fs.rmSync(work, { recursive: true, force: true });
});

function env(): NodeJS.ProcessEnv {
  const tfrc = path.join(work, "offline.tfrc");
  if (!fs.existsSync(tfrc)) {
    fs.writeFileSync(
      tfrc,
      `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(mirror)}\n    include = ["registry.terraform.io/hashicorp/*"]\n  }\n` +
        `  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n`,
    );
    fs.mkdirSync(path.join(work, "plugin-cache"));
  }
  return {
    PATH: process.env.PATH,
    HOME: work,
    TF_CLI_CONFIG_FILE: tfrc,
    // One unpacked copy of each provider for all the stacks (no lock file to check it against).
    TF_PLUGIN_CACHE_DIR: path.join(work, "plugin-cache"),
    TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE: "1",
    CHECKPOINT_DISABLE: "1",
    TF_IN_AUTOMATION: "1",
    TF_INPUT: "0",
  };
}

/** Synthesizes a config (a file, or the default) the way `npm run synth` does: { stack: JSON }. */
function synthesize(label: string, config: string | null): Map<string, any> {
  const out = path.join(work, "synth", label);
  const errors: string[] = [];
  const code = runCli([...(config === null ? [] : ["--config", config]), "--out", out], {}, { out: () => {}, err: (t) => errors.push(t) });
  expect({ label, code, errors }).toEqual({ label, code: 0, errors: [] });
  const stacks = new Map<string, any>();
  for (const s of fs.readdirSync(path.join(out, "stacks")).sort()) stacks.set(s, JSON.parse(fs.readFileSync(path.join(out, "stacks", s, "cdk.tf.json"), "utf8")));
  return stacks;
}

/**
 * The copy terraform test runs: no backend (test keeps its state in memory; a remote backend would
 * be configured by init) and no prevent_destroy (test destroys what it applied at the end).
 */
function testable(tf: any): any {
  const copy = JSON.parse(JSON.stringify(tf));
  delete copy.terraform.backend;
  for (const byName of Object.values<any>(copy.resource ?? {})) for (const r of Object.values<any>(byName)) if (r.lifecycle) delete r.lifecycle.prevent_destroy;
  return copy;
}

interface Outcome {
  summary: { status: string; passed: number; failed: number; errored: number };
  diagnostics: string[];
  /** The plan of each run, by run name (`-verbose`). */
  plans: Map<string, any>;
}

/** init (offline) and `terraform test -json -verbose` in dir. */
function terraformTest(dir: string): Outcome {
  const e = env();
  const init = spawnSync(tfBin, ["init", "-backend=false", "-input=false", "-no-color"], { cwd: dir, env: e, encoding: "utf8" });
  expect({ dir, init: init.status, stderr: init.stderr }).toEqual({ dir, init: 0, stderr: "" });
  const t = spawnSync(tfBin, ["test", "-json", "-verbose", "-no-color"], { cwd: dir, env: e, encoding: "utf8", maxBuffer: 1 << 30 });
  const lines = t.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const summary = lines.find((l) => l.type === "test_summary")?.test_summary;
  const diagnostics = lines.filter((l) => l.type === "diagnostic" && l["@level"] === "error").map((l) => `${l.diagnostic.summary}: ${l.diagnostic.detail}`);
  const plans = new Map(lines.filter((l) => l.type === "test_plan").map((l) => [l["@testrun"] as string, l.test_plan]));
  return { summary: summary ?? { status: `no summary (exit ${t.status}): ${t.stderr}`, passed: 0, failed: 0, errored: 0 }, diagnostics, plans };
}

/** Every change of a plan that is not a no-op: "address: actions", and outputs. */
function changesOf(plan: any): string[] {
  const resources = (plan.resource_changes ?? [])
    .filter((r: any) => r.change.actions.join() !== "no-op")
    .map((r: any) => `${r.address}: ${r.change.actions.join("+")}`);
  const outputs = Object.entries<any>(plan.output_changes ?? {})
    .filter(([, c]) => c.actions.join() !== "no-op")
    .map(([n, c]) => `output.${n}: ${c.actions.join("+")}`);
  return [...resources, ...outputs];
}

const configs: [string, string | null][] = [
  ["default", null],
  ...fs
    .readdirSync(path.join(repo, "examples"))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f): [string, string] => [f.replace(/\.yaml$/, ""), path.join(repo, "examples", f)]),
];

describe("apply, then a plan that changes nothing, on mocked providers: every stack of the default config and every example", () => {
  (ready ? test.each(configs) : test.skip.each(configs))(
    "%s",
    (label, config) => {
      const stacks = synthesize(label, config);
      for (const [name, tf] of stacks) {
        const dir = path.join(work, "apply", label, name);
        fs.mkdirSync(dir, { recursive: true });
        const copy = testable(tf);
        fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(copy, null, 2));
        fs.writeFileSync(path.join(dir, "main.tftest.hcl"), applyThenPlan(copy));
        const r = terraformTest(dir);
        expect({ stack: `${label}/${name}`, summary: r.summary, diagnostics: r.diagnostics }).toEqual({
          stack: `${label}/${name}`,
          summary: expect.objectContaining({ status: "pass", passed: 2, failed: 0, errored: 0 }),
          diagnostics: [],
        });
        const replan = r.plans.get("replan");
        expect(replan?.resource_changes?.length).toBeGreaterThan(0);
        expect({ stack: `${label}/${name}`, changes: changesOf(replan) }).toEqual({ stack: `${label}/${name}`, changes: [] });
      }
    },
    240_000,
  );
});

describe("day-2 moves of deployers (renamedFrom): plan succeeds, the policy moves, nothing is replaced", () => {
  const [A, B] = ["11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"];
  const list = (...d: string[]) => `deployers:\n${d.map((x) => `  - { ${x} }\n`).join("")}`;
  const split = fs.readFileSync(path.join(repo, "examples", "split.yaml"), "utf8");
  // [case, base config, deployers before, deployers after, moves expected "from -> to" (keys)]
  const cases: [string, string, string | null, string, string[]][] = [
    ["the first-listed renamed", DEFAULT_CONFIG_YAML, list(`name: alice, objectId: ${A}`, `name: ci, objectId: ${B}`), list(`name: alice_admin, objectId: ${A}, renamedFrom: alice`, `name: ci, objectId: ${B}`), ['"alice" -> "alice_admin"']],
    ["a later one renamed", DEFAULT_CONFIG_YAML, list(`name: alice, objectId: ${A}`, `name: ci_old, objectId: ${B}`), list(`name: alice, objectId: ${A}`, `name: ci, objectId: ${B}, renamedFrom: ci_old`), ['"ci_old" -> "ci"']],
    ["split: both renamed", split, list(`name: alice, objectId: ${A}`, `name: ci_old, objectId: ${B}`), list(`name: alice_admin, objectId: ${A}, renamedFrom: alice`, `name: ci, objectId: ${B}, renamedFrom: ci_old`), ['"alice" -> "alice_admin"', '"ci_old" -> "ci"']],
    // A state from before named deployers (one policy, no key), the first renamed at once: a chain of two moves.
    ["from before named deployers, the first renamed", DEFAULT_CONFIG_YAML, null, list(`name: alice_admin, objectId: ${A}, renamedFrom: alice`, `name: ci, objectId: ${B}`), [' -> "alice_admin"']],
  ];
  (ready ? test.each(cases) : test.skip.each(cases))(
    "%s",
    (label, base, before, after, moves) => {
      const dir = path.join(work, "moves", label.replace(/[^a-z0-9]+/g, "-"));
      fs.mkdirSync(path.join(dir, "before"), { recursive: true });
      const synthOf = (which: string, deployers: string) => {
        const file = path.join(dir, `${which}.yaml`);
        fs.writeFileSync(file, `${base}${deployers}`);
        // The platform (or single) stack holds the vault and the deployers' policies.
        return [...synthesize(`${path.basename(dir)}-${which}`, file).entries()].find(([n]) => n === "acr-gate")![1];
      };
      const afterTf = testable(synthOf("after", after));
      let beforeTf: any;
      const policy = Object.keys(afterTf.resource.azurerm_key_vault_access_policy).find((k) => k.endsWith("_deployer"))!;
      const at = `azurerm_key_vault_access_policy.${policy}`;
      if (before === null) {
        // What acr-gate wrote before named deployers: the same stack with one unkeyed policy for A.
        beforeTf = testable(synthOf("before", list(`name: alice, objectId: ${A}`)));
        const p = beforeTf.resource.azurerm_key_vault_access_policy[policy];
        delete p.for_each;
        p.object_id = A;
        delete beforeTf.moved;
      } else {
        beforeTf = testable(synthOf("before", before));
      }
      fs.writeFileSync(path.join(dir, "before", "cdk.tf.json"), JSON.stringify(beforeTf, null, 2));
      fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(afterTf, null, 2));
      fs.writeFileSync(
        path.join(dir, "main.tftest.hcl"),
        `${mockHeader(afterTf)}\nrun "before" {\n  command   = apply\n  state_key = "stack"\n  module {\n    source = "./before"\n  }\n}\n\n` +
          `run "after" {\n  command   = plan\n  state_key = "stack"\n}\n`,
      );
      const r = terraformTest(dir);
      expect({ summary: r.summary, diagnostics: r.diagnostics }).toEqual({ summary: expect.objectContaining({ status: "pass", passed: 2, failed: 0, errored: 0 }), diagnostics: [] });
      const plan = r.plans.get("after");
      const key = (a: string) => a.slice(at.length).replace(/^\[(.*)\]$/, "$1");
      const moved = (plan.resource_changes as any[]).filter((c) => c.previous_address).map((c) => `${key(c.previous_address)} -> ${key(c.address)}`);
      expect(moved).toEqual(moves);
      // The moved policies are left as they are; in the case from before named deployers, ci is new.
      const expected = before === null ? [`${at}["ci"]: create`] : [];
      expect(changesOf(plan)).toEqual(expected);
    },
    120_000,
  );
});
