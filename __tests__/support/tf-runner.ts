/**
 * Running `terraform test` (or `tofu test`) on synthesized stacks, offline, from the shared
 * provider mirror: the engine, its environment, the synthesis, the testable copy, the run and the
 * reading of its plans. The mocks themselves are in ./tf-test.ts. Used by tf-test.test.ts and the
 * suites beside it (help/validation.md, "Terraform's own plan: `terraform test`").
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCli } from "../../app/cli";

export const REPO = path.join(__dirname, "..", "..");

/** The shared mirror with the exact providers (ACR_GATE_TF_MIRROR or ../shared/terraform-mirror). */
export const MIRROR = [process.env.ACR_GATE_TF_MIRROR, path.join(REPO, "..", "shared", "terraform-mirror")].find(
  (m) => m && fs.existsSync(path.join(m, "registry.terraform.io", "hashicorp", "azurerm", "terraform-provider-azurerm_4.81.0_linux_amd64.zip")),
);

/** A Terraform-compatible engine: its binary, name and version ("" when it does not run). */
export interface Engine {
  readonly bin: string;
  readonly name: "terraform" | "tofu";
  readonly version: string;
}

export function engine(bin: string): Engine {
  // Without this machine's CLI config: OpenTofu prints a missing one's warning on stdout.
  const v = spawnSync(bin, ["version", "-json"], { encoding: "utf8", env: { PATH: process.env.PATH, HOME: os.tmpdir(), CHECKPOINT_DISABLE: "1" } });
  if (v.status !== 0) return { bin, name: path.basename(bin).startsWith("tofu") ? "tofu" : "terraform", version: "" };
  const j = JSON.parse(v.stdout.slice(v.stdout.indexOf("{")));
  // tofu answers with the same field names as terraform.
  const name = /opentofu|tofu/i.test(`${bin} ${v.stdout}`) || path.basename(bin).startsWith("tofu") ? "tofu" : "terraform";
  return { bin, name, version: j.terraform_version as string };
}

/** "1.11.2" >= "1.11"? */
export function atLeast(version: string, floor: string): boolean {
  const a = version.split(/[.-]/).map(Number);
  const b = floor.split(".").map(Number);
  for (let i = 0; i < b.length; i++) {
    if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > b[i];
  }
  return true;
}

/** A temporary work directory, removed after the file's tests (kept with ACR_GATE_KEEP_WORK=1). */
export function workDir(prefix: string): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `acr-gate-${prefix}-`));
  afterAll(() => {
    if (process.env.ACR_GATE_KEEP_WORK !== "1") fs.rmSync(work, { recursive: true, force: true });
  });
  return work;
}

/**
 * The environment of an offline run: providers from the mirror only (as scripts/validate.sh), one
 * unpacked copy of each for all the stacks. OpenTofu reads `hashicorp/azurerm` from its own
 * registry's host name, so its mirror is the same zips under that name (links).
 */
export function offlineEnv(work: string, e: Engine): NodeJS.ProcessEnv {
  const tfrc = path.join(work, `offline-${e.name}.tfrc`);
  if (!fs.existsSync(tfrc)) {
    let mirror = MIRROR!;
    if (e.name === "tofu") {
      mirror = path.join(work, "tofu-mirror");
      // Links to each zip (OpenTofu does not follow a linked directory in a mirror).
      const from = path.join(MIRROR!, "registry.terraform.io", "hashicorp");
      for (const p of fs.readdirSync(from)) {
        fs.mkdirSync(path.join(mirror, "registry.opentofu.org", "hashicorp", p), { recursive: true });
        for (const z of fs.readdirSync(path.join(from, p))) fs.symlinkSync(path.join(from, p, z), path.join(mirror, "registry.opentofu.org", "hashicorp", p, z));
      }
    }
    const host = e.name === "tofu" ? "registry.opentofu.org" : "registry.terraform.io";
    fs.writeFileSync(
      tfrc,
      `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(mirror)}\n    include = ["${host}/hashicorp/*"]\n  }\n` +
        `  direct {\n    exclude = ["${host}/hashicorp/*"]\n  }\n}\n`,
    );
    fs.mkdirSync(path.join(work, `plugin-cache-${e.name}`));
  }
  return {
    PATH: process.env.PATH,
    HOME: work,
    TF_CLI_CONFIG_FILE: tfrc,
    TF_PLUGIN_CACHE_DIR: path.join(work, `plugin-cache-${e.name}`),
    TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE: "1",
    CHECKPOINT_DISABLE: "1",
    TF_IN_AUTOMATION: "1",
    TF_INPUT: "0",
  };
}

/** Synthesizes a config (a file, or the default) the way `npm run synth` does: { stack: JSON }. */
export function synthesize(work: string, label: string, config: string | null): Map<string, any> {
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
export function testable(tf: any): any {
  const copy = JSON.parse(JSON.stringify(tf));
  delete copy.terraform.backend;
  for (const byName of Object.values<any>(copy.resource ?? {})) for (const r of Object.values<any>(byName)) if (r.lifecycle) delete r.lifecycle.prevent_destroy;
  return copy;
}

export interface Outcome {
  summary: { status: string; passed: number; failed: number; errored: number };
  diagnostics: string[];
  /** The plan of each run, by run name (`-verbose`). */
  plans: Map<string, any>;
  /** Each run's final status ("pass", "fail", "error", "skip"), by run name. */
  runs: Map<string, string>;
  /** The error diagnostics of each run, by run name: for runs that are meant to fail. */
  errorsByRun: Map<string, string[]>;
}

/** init (offline) and `test -json -verbose` in dir. */
export function runTest(work: string, e: Engine, dir: string): Outcome {
  const env = offlineEnv(work, e);
  const init = spawnSync(e.bin, ["init", "-backend=false", "-input=false", "-no-color"], { cwd: dir, env, encoding: "utf8" });
  expect({ dir, init: init.status, stderr: init.stderr }).toEqual({ dir, init: 0, stderr: "" });
  const t = spawnSync(e.bin, ["test", "-json", "-verbose", "-no-color"], { cwd: dir, env, encoding: "utf8", maxBuffer: 1 << 30 });
  const lines = t.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
  const summary = lines.find((l) => l.type === "test_summary")?.test_summary;
  const diagnostics = lines.filter((l) => l.type === "diagnostic" && l["@level"] === "error").map((l) => `${l.diagnostic.summary}: ${l.diagnostic.detail}`);
  const plans = new Map(lines.filter((l) => l.type === "test_plan").map((l) => [l["@testrun"] as string, l.test_plan]));
  const runs = new Map(lines.filter((l) => l.type === "test_run" && l.test_run.progress === "complete").map((l) => [l.test_run.run as string, l.test_run.status as string]));
  const errorsByRun = new Map<string, string[]>();
  for (const l of lines.filter((x) => x.type === "diagnostic" && x["@level"] === "error" && x["@testrun"])) {
    errorsByRun.set(l["@testrun"], [...(errorsByRun.get(l["@testrun"]) ?? []), `${l.diagnostic.summary}: ${l.diagnostic.detail}`]);
  }
  return {
    summary: summary ?? { status: `no summary (exit ${t.status}): ${t.stderr}${t.stdout.slice(0, 2000)}`, passed: 0, failed: 0, errored: 0 },
    diagnostics,
    plans,
    runs,
    errorsByRun,
  };
}

/**
 * An update whose only difference is `timeouts`: a mocked provider plans it, the real one plans the
 * prior state (its plugin SDK keeps timeouts out of the diff; provider-plan.test.ts shows it with
 * azurerm itself), so it counts as no change here.
 */
export function timeoutsOnly(r: any): boolean {
  if (r.change.actions.join() !== "update" || !String(r.type).startsWith("azurerm_")) return false;
  const { timeouts: a, ...before } = r.change.before ?? {};
  const { timeouts: b, ...after } = r.change.after ?? {};
  return JSON.stringify(a) !== JSON.stringify(b) && JSON.stringify(before) === JSON.stringify(after) && !JSON.stringify(r.change.after_unknown ?? {}).includes("true");
}

/** Every change of a plan that is not a no-op: "address: actions", and outputs. */
export function changesOf(plan: any): string[] {
  const resources = (plan.resource_changes ?? [])
    .filter((r: any) => r.change.actions.join() !== "no-op" && !timeoutsOnly(r))
    .map((r: any) => `${r.address}: ${r.change.actions.join("+")}`);
  const outputs = Object.entries<any>(plan.output_changes ?? {})
    .filter(([, c]) => c.actions.join() !== "no-op")
    .map(([n, c]) => `output.${n}: ${c.actions.join("+")}`);
  return [...resources, ...outputs];
}

/**
 * Writes one stack's testable copy and its apply-then-plan test file into dir, runs them, and
 * expects both runs to pass and the second plan to change nothing (the stack's first apply, and an
 * empty re-plan). `header` writes the test file (./tf-test.ts applyThenPlan).
 */
export function expectApplyThenEmptyReplan(work: string, e: Engine, dir: string, stack: string, tf: any, header: (copy: any) => string): Outcome {
  fs.mkdirSync(dir, { recursive: true });
  const copy = testable(tf);
  fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(copy, null, 2));
  fs.writeFileSync(path.join(dir, "main.tftest.hcl"), header(copy));
  const r = runTest(work, e, dir);
  expect({ stack, summary: r.summary, diagnostics: r.diagnostics }).toEqual({
    stack,
    summary: expect.objectContaining({ status: "pass", passed: 2, failed: 0, errored: 0 }),
    diagnostics: [],
  });
  const replan = r.plans.get("replan");
  expect(replan?.resource_changes?.length).toBeGreaterThan(0);
  expect({ stack, changes: changesOf(replan) }).toEqual({ stack, changes: [] });
  return r;
}

/** The default config and every examples/*.yaml: [label, path or null for the default]. */
export function exampleConfigs(): [string, string | null][] {
  return [
    ["default", null],
    ...fs
      .readdirSync(path.join(REPO, "examples"))
      .filter((f) => f.endsWith(".yaml"))
      .sort()
      .map((f): [string, string] => [f.replace(/\.yaml$/, ""), path.join(REPO, "examples", f)]),
  ];
}
