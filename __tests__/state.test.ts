/**
 * Day 2: Terraform's state and working files survive the next synth, and every backend mode gives
 * Terraform exactly one backend block.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import { synthesize } from "../app/synth";
import { requireTool } from "./support/go-render";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-state-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const terraform = spawnSync("terraform", ["version"], { encoding: "utf8" });
const haveTerraform = requireTool("terraform (to read the backend blocks)", !terraform.error && terraform.status === 0);

const configWith = (backend: string) => parseConfig(`${DEFAULT_CONFIG_YAML}${backend}`);
const stackJson = (out: string) => JSON.parse(fs.readFileSync(path.join(out, "stacks", "acr-gate", "cdk.tf.json"), "utf8"));

describe("local state lives where the next synth keeps it", () => {
  test("a state file where Terraform writes it, the lock file and .terraform/ survive a second synth", () => {
    const project = path.join(tmp, "project");
    fs.mkdirSync(project);
    const out = path.join(project, "cdktf.out");
    synthesize(parseConfig(DEFAULT_CONFIG_YAML), out);
    const stackDir = path.join(out, "stacks", "acr-gate");
    // Where terraform, run in the stack directory as cdktf deploy and the docs do, writes the state.
    const statePath = path.resolve(stackDir, stackJson(out).terraform.backend.local.path);
    expect(statePath).toBe(path.join(project, "acr-gate.tfstate"));
    fs.writeFileSync(statePath, '{"version": 4, "serial": 7}');
    fs.writeFileSync(path.join(stackDir, ".terraform.lock.hcl"), "# provider locks\n");
    fs.mkdirSync(path.join(stackDir, ".terraform"));
    fs.writeFileSync(path.join(stackDir, ".terraform", "terraform.tfstate"), '{"backend": {}}');

    synthesize(parseConfig(DEFAULT_CONFIG_YAML), out);

    expect(fs.readFileSync(statePath, "utf8")).toBe('{"version": 4, "serial": 7}');
    expect(fs.readFileSync(path.join(stackDir, ".terraform.lock.hcl"), "utf8")).toBe("# provider locks\n");
    expect(fs.existsSync(path.join(stackDir, ".terraform", "terraform.tfstate"))).toBe(true);
  });
});

describe("every backend mode: one backend block, which terraform init accepts", () => {
  const MODES: [string, string, object][] = [
    ["local (default)", "", { local: { path: "../../../acr-gate.tfstate" } }],
    ["local, own file", "backend: { type: local, path: ../../../state/prod.tfstate }\n", { local: { path: "../../../state/prod.tfstate" } }],
    [
      "azurerm",
      "backend: { type: azurerm, resourceGroupName: tfstate-rg, storageAccountName: acrgatestate }\n",
      { azurerm: { resource_group_name: "tfstate-rg", storage_account_name: "acrgatestate", container_name: "tfstate", key: "acr-gate.tfstate", use_azuread_auth: true } },
    ],
    ["partial", "backend: { type: partial }\n", { azurerm: { use_azuread_auth: true } }],
  ];

  test.each(MODES)("%s", (name, yaml, expected) => {
    // Through synthesize(), like the CLI: cdktf adds a default local backend when it sees none.
    const out = path.join(tmp, `backend-${name.replace(/\W+/g, "-")}`);
    synthesize(configWith(yaml), out);
    const backend = stackJson(out).terraform.backend;
    expect(backend).toEqual(expected);
    if (!haveTerraform) return;
    // The terraform block alone (no providers to install): Terraform rejects a second backend here.
    const dir = path.join(out, "init-check");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify({ terraform: { backend } }));
    const env = { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_CLI_CONFIG_FILE: "/dev/null" };
    const r = spawnSync("terraform", ["init", "-backend=false", "-input=false", "-no-color"], { cwd: dir, env, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  (haveTerraform ? test : test.skip)("control: terraform init refuses two backend blocks (what a partial backend used to give)", () => {
    const dir = path.join(tmp, "two-backends");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify({ terraform: { backend: { azurerm: {}, local: { path: "/x/terraform.tfstate" } } } }));
    const env = { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_CLI_CONFIG_FILE: "/dev/null" };
    const r = spawnSync("terraform", ["init", "-backend=false", "-input=false", "-no-color"], { cwd: dir, env, encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("Duplicate backend configuration");
  });
});
