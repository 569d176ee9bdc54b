/**
 * The pipeline to copy (examples/ci/acr-gate-plan.yml, help/ci.md): what it may do, and its
 * offline steps run for real: the diff step's own command on two synthesized JSONs, the plan
 * redaction on a real `terraform show -json` of a plan holding a secret, and actionlint.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { parseConfig } from "../lib/config";
import { synth } from "./helpers";
import { requireTool } from "./support/go-render";

const repo = path.join(__dirname, "..");
const file = path.join(repo, "examples", "ci", "acr-gate-plan.yml");
const workflow = YAML.parse(fs.readFileSync(file, "utf8"));
const steps: any[] = workflow.jobs.plan.steps;
const step = (name: string) => steps.find((s) => s.name === name);

describe("what the pipeline may do", () => {
  test("only read the code and ask for the OIDC token: no write permission, no client secret", () => {
    expect(workflow.permissions).toEqual({ contents: "read", "id-token": "write" });
    expect(workflow.jobs.plan.env).toMatchObject({ ARM_USE_OIDC: "true" });
    expect(JSON.stringify(workflow)).not.toMatch(/ARM_CLIENT_SECRET|client-secret/);
    expect(steps[0].with["persist-credentials"]).toBe(false);
  });

  test("every action is pinned to a commit, with its version said", () => {
    const text = fs.readFileSync(file, "utf8");
    const uses = [...text.matchAll(/uses: (\S+)@(\S+)(?: # (\S+))?/g)];
    expect(uses.length).toBeGreaterThanOrEqual(4);
    for (const [, action, ref, version] of uses) expect(`${action}@${ref} # ${version}`).toMatch(/^[\w-]+\/[\w-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
  });

  test("no expression inside a script: values from the event reach the shell through env only", () => {
    for (const s of steps.filter((x) => x.run)) expect(`${s.name}: ${s.run}`).not.toMatch(/\$\{\{/);
  });

  test("check, synthesize both sides, preview with --fail-on-durable, init, plan; the evidence kept even when a step failed", () => {
    expect(steps.map((s) => s.name ?? s.uses.split("@")[0])).toEqual([
      "actions/checkout",
      "actions/setup-node",
      "Install and build",
      "Check the config",
      "Synthesize this branch",
      "Synthesize the target branch",
      "What Terraform would replace (fails on durable content)",
      "hashicorp/setup-terraform",
      "terraform init",
      "terraform plan",
      "Keep the preview and the plan",
    ]);
    expect(step("What Terraform would replace (fails on durable content)").run).toMatch(/npm run --silent diff -- [\s\S]* --json --fail-on-durable --fail-on-refused/);
    expect(step("terraform plan").run).toMatch(/terraform show -json .* \| node "\$GITHUB_WORKSPACE\/scripts\/redact-plan\.cjs"/);
    expect(step("Keep the preview and the plan").if).toBe("always()");
    expect(workflow.defaults).toEqual({ run: { shell: "bash" } });
  });

  test("acr-gate runs from dist/: every checkout that runs npx acr-gate builds after npm ci", () => {
    // dist/ is not in git, and npm ci builds nothing: `npx acr-gate` would find no dist/main.js.
    const scripts = steps.filter((s) => s.run).map((s) => s.run as string);
    const all = scripts.join("\n");
    expect((all.match(/npm ci /g) ?? []).length).toBe((all.match(/npm run build/g) ?? []).length);
    for (const run of scripts.filter((r) => r.includes("npm ci "))) expect(run.indexOf("npm run build")).toBeGreaterThan(run.indexOf("npm ci "));
    const gitignore = fs.readFileSync(path.join(repo, ".gitignore"), "utf8");
    expect(gitignore).toMatch(/^\/?dist\/?$/m);
  });
});

describe("the diff step, run offline as the pipeline runs it", () => {
  /** The step's script with `npm run --silent diff --` as the compiled command it names (package.json). */
  const script = step("What Terraform would replace (fails on durable content)").run.replace("npm run --silent diff --", `node ${path.join(repo, "dist", "app", "diff-cli.js")}`);
  const run = (base: object, head: object) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-ci-diff-"));
    try {
      const write = (p: string, tf: object) => {
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, JSON.stringify(tf));
      };
      write(path.join(dir, "runner", "base-out", "stacks", "acr-gate", "cdk.tf.json"), base);
      write(path.join(dir, "work", "cdktf.out", "stacks", "acr-gate", "cdk.tf.json"), head);
      // As GitHub runs a `run:` step with `shell: bash`: bash --noprofile --norc -eo pipefail.
      const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
        cwd: path.join(dir, "work"),
        env: { PATH: process.env.PATH, RUNNER_TEMP: path.join(dir, "runner"), STACK: "acr-gate" },
        encoding: "utf8",
      });
      const out = path.join(dir, "runner", "evidence", "diff.json");
      return { status: r.status, stderr: r.stderr, diff: fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, "utf8")) : undefined };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  const yaml = (extra: string) => synth(parseConfig(require("../lib/config").DEFAULT_CONFIG_YAML + extra)).tf;

  test("a routine change passes, and the preview is kept as JSON", () => {
    const r = run(synth().tf, yaml("\ntags: { team: platform }\n"));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.diff.changes.filter((c: any) => c.action === "update").length).toBeGreaterThan(0);
  });

  /** The step with nothing synthesized for the target branch, or another stack than STACK there. */
  const runWithBase = (baseStacks: string[] | undefined) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-ci-first-"));
    try {
      fs.mkdirSync(path.join(dir, "work"));
      for (const st of baseStacks ?? []) fs.mkdirSync(path.join(dir, "runner", "base-out", "stacks", st), { recursive: true });
      return spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
        cwd: path.join(dir, "work"),
        env: { PATH: process.env.PATH, RUNNER_TEMP: path.join(dir, "runner"), STACK: "acr-gate" },
        encoding: "utf8",
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  test("a target branch without acr-gate (the first pull request): the step says so and passes", () => {
    const r = runWithBase(undefined);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("::notice::the target branch has no acr-gate config");
  });

  test("a target branch whose stack has another name: the check is not skipped, the step fails and names what it found", () => {
    const r = runWithBase(["gate-old"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("::error::the target branch synthesized no stack acr-gate (it has: gate-old );");
  });

  test("a change that replaces a registry fails the step (exit 2), and the preview still says why", () => {
    const renamed = yaml("").resource; // the same stack with one registry renamed by hand below
    const head = { ...synth().tf, resource: JSON.parse(JSON.stringify(renamed).replace(/"name":"contoso"/, '"name":"contosonew"')) };
    const r = run(synth().tf, head);
    expect(r.status).toBe(2);
    expect(r.diff.changes.find((c: any) => c.address === "azurerm_container_registry.registry_contoso")).toMatchObject({ action: "replace", durable: true });
  });
});

const tf = spawnSync("terraform", ["version"], { encoding: "utf8" });
const haveTerraform = requireTool("terraform", !tf.error && tf.status === 0);

(haveTerraform ? test : test.skip)(
  "redact-plan: a real plan over a real state holds the secrets in clear; redacted, it holds them nowhere, and the rest stays",
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-redact-"));
    try {
      // The shapes acr-gate's stacks have: a sensitive variable, a secret-derived digest in a
      // terraform_data (secret_github_token_revision), nested values, a sensitive default, an output.
      fs.writeFileSync(
        path.join(dir, "main.tf"),
        `variable "token" {
  type      = string
  sensitive = true
}
variable "fallback" {
  type      = string
  sensitive = true
  default   = "canary-default-9e2"
}
resource "terraform_data" "revision" {
  input = { value_sha1 = sha1(var.token) }
}
resource "terraform_data" "nested" {
  input = { name = "visible", list = [var.token, "plain"], obj = { inner = var.fallback } }
}
output "o" {
  value     = terraform_data.nested.input
  sensitive = true
}
`,
      );
      const base = { PATH: process.env.PATH, HOME: dir, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" };
      const t = (token: string, ...args: string[]) =>
        spawnSync("terraform", [...args, "-no-color"], { cwd: dir, env: { ...base, TF_VAR_token: token }, encoding: "utf8" });
      const OLD = "canary-old-4d1c";
      const NEW = "canary-new-77ab";
      const sha1 = (s: string) => require("crypto").createHash("sha1").update(s).digest("hex");
      expect(t(OLD, "init", "-input=false").status).toBe(0);
      expect(t(OLD, "apply", "-auto-approve", "-input=false").status).toBe(0);
      expect(t(NEW, "plan", "-input=false", "-out", "p.tfplan").status).toBe(0);
      const raw = spawnSync("terraform", ["show", "-json", "p.tfplan"], { cwd: dir, env: base, encoding: "utf8" }).stdout;
      const secrets = [OLD, NEW, "canary-default-9e2", sha1(OLD), sha1(NEW)];
      // Unredacted, the plan's JSON carries them: the test would catch a redaction that did nothing.
      for (const x of [OLD, NEW, "canary-default-9e2", sha1(OLD)]) expect(raw).toContain(x);
      const r = spawnSync(process.execPath, [path.join(repo, "scripts", "redact-plan.cjs")], { input: raw, encoding: "utf8" });
      expect(r.status).toBe(0);
      for (const x of secrets) expect(r.stdout).not.toContain(x);
      const plan = JSON.parse(r.stdout);
      expect(plan.variables.token.value).toBe("(sensitive)");
      const nested = plan.resource_changes.find((c: any) => c.address === "terraform_data.nested");
      expect(nested.change.after.input).toEqual({ name: "visible", list: ["(sensitive)", "plain"], obj: { inner: "(sensitive)" } });
      // A mask Terraform puts on a terraform_data's output itself is kept, beside the input's.
      const { redactPlan } = require("../scripts/redact-plan.cjs");
      const merged = redactPlan({
        format_version: "1.2",
        planned_values: { root_module: { resources: [{ type: "terraform_data", values: { input: { k: "x" }, output: { a: "canary-own-mask" } }, sensitive_values: { input: {}, output: { a: true } } }] } },
        resource_changes: [],
      });
      expect(JSON.stringify(merged)).not.toContain("canary-own-mask");
      // Not a plan: refused, nothing passed through.
      const bad = spawnSync(process.execPath, [path.join(repo, "scripts", "redact-plan.cjs")], { input: '{"token":"x"}', encoding: "utf8" });
      expect(bad.status).toBe(1);
      expect(bad.stdout).toBe("");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  60_000,
);

const go = spawnSync("go", ["version"], { encoding: "utf8" });
(requireTool("go (to build actionlint)", !go.error && go.status === 0) ? test : test.skip)(
  "actionlint finds nothing in the pipeline",
  () => {
    const r = spawnSync("bash", [path.join(repo, "scripts", "lint-ci.sh")], { encoding: "utf8", timeout: 300_000 });
    expect(r.stdout).toMatch(/^lint-ci: 1 workflows, 0 problems/m);
    expect(r.status).toBe(0);
  },
  300_000,
);
