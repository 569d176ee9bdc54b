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
      "Install",
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
      // As GitHub runs a `run:` step: bash --noprofile --norc -eo pipefail.
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

(haveTerraform ? test : test.skip)("redact-plan: a real plan's JSON holds the secret in clear; redacted, it holds it nowhere, and the rest stays", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-redact-"));
  try {
    fs.writeFileSync(
      path.join(dir, "main.tf"),
      'variable "token" {\n  type      = string\n  sensitive = true\n}\nresource "terraform_data" "secret" {\n  input = { value = var.token, name = "visible" }\n}\noutput "o" {\n  value     = terraform_data.secret.input\n  sensitive = true\n}\n',
    );
    const env = { PATH: process.env.PATH, HOME: dir, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_VAR_token: "canary-8c1f-not-for-artifacts" };
    const t = (...args: string[]) => spawnSync("terraform", [...args, "-no-color"], { cwd: dir, env, encoding: "utf8" });
    expect(t("init", "-input=false").status).toBe(0);
    expect(t("plan", "-input=false", "-out", "p.tfplan").status).toBe(0);
    const raw = spawnSync("terraform", ["show", "-json", "p.tfplan"], { cwd: dir, env, encoding: "utf8" }).stdout;
    expect(raw).toContain("canary-8c1f-not-for-artifacts");
    const r = spawnSync(process.execPath, [path.join(repo, "scripts", "redact-plan.cjs")], { input: raw, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain("canary-8c1f-not-for-artifacts");
    const plan = JSON.parse(r.stdout);
    expect(plan.variables.token.value).toBe("(sensitive)");
    expect(plan.resource_changes[0].change.after.input).toEqual({ name: "visible", value: "(sensitive)" });
    // Not a plan: refused, nothing passed through.
    const bad = spawnSync(process.execPath, [path.join(repo, "scripts", "redact-plan.cjs")], { input: '{"token":"x"}', encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe("");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

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
