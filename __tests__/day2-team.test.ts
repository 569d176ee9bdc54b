/**
 * Day 2 for a team (help/operations.md): rotations that run nothing, and what real Terraform does
 * with the lifecycle rules acr-gate relies on. One `describe` per point.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import { problemsOf, synthStacks } from "./helpers";
import { previewReplacements } from "../app/diff-rules";
import { requireTool } from "./support/go-render";

const repo = path.resolve(__dirname, "..");
const EXAMPLES = fs.readdirSync(path.join(repo, "examples")).filter((f) => f.endsWith(".yaml"));
const configs: [string, string][] = [
  ["default", DEFAULT_CONFIG_YAML],
  ...EXAMPLES.map((f): [string, string] => [f, fs.readFileSync(path.join(repo, "examples", f), "utf8")]),
];
const tfv = spawnSync("terraform", ["version"], { encoding: "utf8" });
const haveTerraform = requireTool("terraform (for the lifecycle semantics it is asked to apply)", !tfv.error && tfv.status === 0);

/** Runs terraform in `dir` with no network and no user CLI config. */
function terraform(dir: string, ...args: string[]) {
  const env = { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0", TF_CLI_CONFIG_FILE: "/dev/null" };
  return spawnSync("terraform", [...args, "-no-color"], { cwd: dir, env, encoding: "utf8" });
}

describe("a Git token rotation runs no task", () => {
  test.each(configs)("no first run re-runs on the step's Git token: %s", (_n, yaml) => {
    for (const s of synthStacks(parseConfig(yaml))) {
      for (const run of Object.values<any>(s.tf.resource.azurerm_container_registry_task_schedule_run_now ?? {})) {
        const triggers: string[] = run.lifecycle.replace_triggered_by;
        // Each trigger on the task's step names one argument, and never the token.
        for (const t of triggers.filter((x) => /\.(encoded|file)_step/.test(x))) {
          expect(t).toMatch(/\.(encoded_step|file_step)\[0\]\.(task_content|task_file_path|values|context_path)$/);
        }
        expect(triggers.filter((x) => /\.(encoded|file)_step/.test(x))).toHaveLength(3);
      }
    }
  });

  // Terraform's own rule, on stand-ins that need no provider: a run triggered by one argument of a
  // step block is not replaced when only another argument (the token) changes, and is replaced when
  // the triggering argument changes. `input` plays the task's arguments: known at plan, as the
  // provider's are.
  (haveTerraform ? test : test.skip)("terraform: replace_triggered_by on task_content ignores a new token and follows new content", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-rotation-"));
    try {
      fs.writeFileSync(
        path.join(dir, "main.tf.json"),
        JSON.stringify({
          variable: { token: { type: "string", sensitive: true }, content: { type: "string" } },
          resource: {
            terraform_data: {
              task: { input: { encoded_step: [{ task_content: "${var.content}", context_access_token: "${var.token}" }] } },
              first_run: {
                input: "run",
                lifecycle: { replace_triggered_by: ["terraform_data.task.input.encoded_step[0].task_content"] },
              },
              // Control: the whole step block, as acr-gate triggered before, re-runs on a new token.
              whole_step_run: { input: "run", lifecycle: { replace_triggered_by: ["terraform_data.task.input.encoded_step"] } },
            },
          },
        }),
      );
      expect(terraform(dir, "init", "-input=false").status).toBe(0);
      expect(terraform(dir, "apply", "-auto-approve", "-var", "token=one", "-var", "content=v1").status).toBe(0);
      const plan = (token: string, content: string) => {
        expect(terraform(dir, "plan", "-out", "p.tfplan", "-var", `token=${token}`, "-var", `content=${content}`).status).toBe(0);
        const show = JSON.parse(terraform(dir, "show", "-json", "p.tfplan").stdout);
        return Object.fromEntries(show.resource_changes.map((c: any) => [c.address, c.change.actions.join("+")]));
      };
      expect(plan("two", "v1")).toEqual({
        "terraform_data.task": "update",
        "terraform_data.first_run": "no-op",
        "terraform_data.whole_step_run": "delete+create",
      });
      expect(plan("one", "v2")).toEqual({
        "terraform_data.task": "update",
        "terraform_data.first_run": "delete+create",
        "terraform_data.whole_step_run": "delete+create",
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("environments cannot cross: a state remembers its subscription", () => {
  const stack = synthStacks(parseConfig(DEFAULT_CONFIG_YAML))[0].tf;

  test("every stack records the subscription and tenant once, and checks them on every plan", () => {
    for (const [, yaml] of configs) {
      for (const s of synthStacks(parseConfig(yaml))) {
        const g = s.tf.resource.terraform_data.environment;
        expect(g.input).toMatchObject({
          subscription_id: "${data.azurerm_client_config.current.subscription_id}",
          tenant_id: "${data.azurerm_client_config.current.tenant_id}",
        });
        expect(g.lifecycle.ignore_changes).toEqual(["input"]);
        expect(g.lifecycle.postcondition).toHaveLength(1);
      }
    }
  });

  test("config environment is recorded and names the default state file", () => {
    const s = synthStacks(parseConfig(`${DEFAULT_CONFIG_YAML}environment: prod\n`))[0].tf;
    expect(s.resource.terraform_data.environment.input.environment).toBe("prod");
    expect(s.terraform.backend.local.path).toBe("../../../acr-gate-prod.tfstate");
    const az = synthStacks(
      parseConfig(`${DEFAULT_CONFIG_YAML}environment: prod\nbackend: { type: azurerm, resourceGroupName: tfstate-rg, storageAccountName: acrgatestate }\n`),
    )[0].tf;
    expect(az.terraform.backend.azurerm.key).toBe("acr-gate-prod.tfstate");
    // And its own container: no role on another environment's reaches it (help/operations.md).
    expect(az.terraform.backend.azurerm.container_name).toBe("tfstate-prod");
  });

  // The stack's own guard resource, with the caller data source (which needs Azure) played by two
  // variables: a state made in subscription A, planned in B, stops before any change.
  (haveTerraform ? test : test.skip)("terraform: a state made for subscription A, planned for B, fails with the guard's message", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-env-"));
    try {
      const guard = JSON.stringify(stack.resource.terraform_data.environment)
        .replace(/data\.azurerm_client_config\.current\.subscription_id/g, "var.subscription")
        .replace(/data\.azurerm_client_config\.current\.tenant_id/g, "var.tenant");
      fs.writeFileSync(
        path.join(dir, "main.tf.json"),
        JSON.stringify({
          terraform: { required_version: stack.terraform.required_version },
          variable: { subscription: { type: "string" }, tenant: { type: "string" } },
          resource: { terraform_data: { environment: JSON.parse(guard) }, ...{} },
        }),
      );
      const A = "00000000-0000-0000-0000-00000000000a";
      const B = "00000000-0000-0000-0000-00000000000b";
      const T = "11111111-1111-1111-1111-111111111111";
      expect(terraform(dir, "init", "-input=false").status).toBe(0);
      expect(terraform(dir, "apply", "-auto-approve", "-var", `subscription=${A}`, "-var", `tenant=${T}`).status).toBe(0);
      const same = terraform(dir, "plan", "-detailed-exitcode", "-var", `subscription=${A}`, "-var", `tenant=${T}`);
      expect(same.status).toBe(0); // no changes: the record is never updated
      const other = terraform(dir, "plan", "-var", `subscription=${B}`, "-var", `tenant=${T}`);
      expect(other.status).toBe(1);
      const message = other.stderr.replace(/[│╷╵]/g, "").replace(/\s+/g, " ");
      expect(message).toContain(
        `This state was made for subscription ${A} (tenant ${T}), but the provider now runs in subscription ${B} (tenant ${T}). Nothing was changed.`,
      );
      // The deliberate move: -replace takes the new subscription.
      expect(terraform(dir, "apply", "-auto-approve", "-replace=terraform_data.environment", "-var", `subscription=${B}`, "-var", `tenant=${T}`).status).toBe(0);
      expect(terraform(dir, "plan", "-detailed-exitcode", "-var", `subscription=${B}`, "-var", `tenant=${T}`).status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("deployers are named, not inferred", () => {
  const DEPLOYERS = "deployers:\n  - { name: alice, objectId: 11111111-1111-1111-1111-111111111111 }\n  - { name: ci, objectId: 22222222-2222-2222-2222-222222222222 }\n";
  const named = synthStacks(parseConfig(`${DEFAULT_CONFIG_YAML}${DEPLOYERS}`))[0].tf;
  const unnamed = synthStacks(parseConfig(DEFAULT_CONFIG_YAML))[0].tf;
  const POLICY = "kv_policy_acr_task_credentials_deployer";

  test("no grant, no value anywhere depends on who runs terraform", () => {
    for (const [, yaml] of configs) {
      for (const s of synthStacks(parseConfig(yaml))) expect(JSON.stringify(s.tf)).not.toContain("client_config.current.object_id");
    }
    const p = unnamed.resource.azurerm_key_vault_access_policy[POLICY];
    expect(p.for_each).toBe("${var.deployers}");
    expect(p.object_id).toBe("${each.value}");
  });

  test("the config's deployers are the variable's default, and the old single policy moves to the first", () => {
    expect(named.variable.deployers.default).toEqual({ alice: "11111111-1111-1111-1111-111111111111", ci: "22222222-2222-2222-2222-222222222222" });
    expect(named.moved).toEqual([
      { from: `azurerm_key_vault_access_policy.${POLICY}`, to: `azurerm_key_vault_access_policy.${POLICY}["alice"]` },
    ]);
    expect(unnamed.variable.deployers.default).toBeUndefined(); // required at plan time
    expect(unnamed.moved).toBeUndefined();
  });

  test("the config refuses a bad object id and a deployer named twice, naming the field", () => {
    const bad = problemsOf(
      `${DEFAULT_CONFIG_YAML}deployers:\n  - { name: alice, objectId: not-a-guid }\n  - { name: alice, objectId: 33333333-3333-3333-3333-333333333333 }\n  - { name: bob, objectId: 33333333-3333-3333-3333-333333333333 }\n`,
    );
    expect(bad).toMatch(/deployers\[0\]\.objectId: "not-a-guid" is not a valid Entra ID object id/);
    expect(bad).toMatch(/deployers\[1\]\.name: "alice" is also the deployer name at deployers\[0\]\.name/);
    expect(bad).toMatch(/deployers\[2\]\.objectId: "33333333-3333-3333-3333-333333333333" is also the deployer object id at deployers\[1\]\.objectId/);
  });

  test("the preview: a second deployer is one create, a removed one one delete, a changed object id one replacement", () => {
    const one = synthStacks(parseConfig(`${DEFAULT_CONFIG_YAML}deployers:\n  - { name: alice, objectId: 11111111-1111-1111-1111-111111111111 }\n`))[0].tf;
    const actions = (a: any, b: any) => previewReplacements(a, b).changes.map((c) => [c.action, c.address]);
    expect(actions(one, named)).toEqual([["create", `azurerm_key_vault_access_policy.${POLICY}["ci"]`]]);
    expect(actions(named, one)).toEqual([["delete", `azurerm_key_vault_access_policy.${POLICY}["ci"]`]]);
    const moved = synthStacks(parseConfig(`${DEFAULT_CONFIG_YAML}deployers:\n  - { name: alice, objectId: 44444444-4444-4444-4444-444444444444 }\n`))[0].tf;
    expect(actions(one, moved)).toEqual([["replace", `azurerm_key_vault_access_policy.${POLICY}["alice"]`]]);
  });

  // The stack's own variable and moved block, with a terraform_data standing in for the access policy
  // (same for_each, same object id): what terraform plans for a team's day 2.
  (haveTerraform ? test : test.skip)(
    "terraform: the old policy moves to the first deployer, adding a deployer is one create, a bad id stops the plan",
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-deployers-"));
      try {
        const at = `terraform_data.${POLICY}`;
        const write = (withDeployers: boolean) =>
          fs.writeFileSync(
            path.join(dir, "main.tf.json"),
            JSON.stringify(
              withDeployers
                ? {
                    variable: { deployers: named.variable.deployers },
                    resource: { terraform_data: { [POLICY]: { for_each: "${var.deployers}", input: "${each.value}" } } },
                    moved: named.moved.map((m: any) => ({ from: m.from.replace(/^azurerm_key_vault_access_policy/, "terraform_data"), to: m.to.replace(/^azurerm_key_vault_access_policy/, "terraform_data") })),
                  }
                : { resource: { terraform_data: { [POLICY]: { input: "11111111-1111-1111-1111-111111111111" } } } },
            ),
          );
        const actions = (...args: string[]) => {
          const r = terraform(dir, "plan", "-out", "p.tfplan", ...args);
          expect(r.stderr).toBe("");
          const show = JSON.parse(terraform(dir, "show", "-json", "p.tfplan").stdout);
          return Object.fromEntries(show.resource_changes.map((c: any) => [c.address, c.change.actions.join("+")]));
        };
        // Before named deployers: one policy, for whoever applied (alice).
        write(false);
        expect(terraform(dir, "init", "-input=false").status).toBe(0);
        expect(terraform(dir, "apply", "-auto-approve").status).toBe(0);
        // Now: alice's policy is the old one, moved (no delete, no create); ci's is one create.
        write(true);
        expect(actions()).toEqual({ [`${at}["alice"]`]: "no-op", [`${at}["ci"]`]: "create" });
        expect(terraform(dir, "apply", "-auto-approve").status).toBe(0);
        // A third deployer (a second operator) from the variable: one create, nothing replaced.
        const three = JSON.stringify({ ...named.variable.deployers.default, bob: "33333333-3333-3333-3333-333333333333" });
        expect(actions("-var", `deployers=${three}`)).toEqual({ [`${at}["alice"]`]: "no-op", [`${at}["ci"]`]: "no-op", [`${at}["bob"]`]: "create" });
        // A bad object id stops the plan with the variable's message.
        const bad = terraform(dir, "plan", "-var", 'deployers={"eve":"not-a-guid"}');
        expect(bad.status).toBe(1);
        expect(bad.stderr.replace(/[│╷╵]/g, "").replace(/\s+/g, " ")).toContain("deployers: list at least one, each an Entra ID object id (a GUID)");
        // One object id under two names would be two policies for one Key Vault entry: refused too.
        const twice = terraform(dir, "plan", "-var", 'deployers={"a":"33333333-3333-3333-3333-333333333333","b":"33333333-3333-3333-3333-333333333333"}');
        expect(twice.status).toBe(1);
        expect(twice.stderr.replace(/[│╷╵]/g, "").replace(/\s+/g, " ")).toContain("under one name only");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});

describe("removing something under the locks: lift, apply, restore, apply", () => {
  const APP = "  - name: shop\n    registry: contoso\n    repository: https://github.com/x/shop.git#main\n    baseImage: node:15-alpine\n";
  const withShop = DEFAULT_CONFIG_YAML.replace(/\napps:\n/, `\napps:\n${APP}`);
  const deployed = synthStacks(parseConfig(withShop))[0].tf;
  const TASK = "azurerm_container_registry_task.task_contoso_build_shop";
  const LOCK = "azurerm_management_lock.lock_contoso_rg";

  test("each lock depends on what it covers in its group", () => {
    expect(deployed.resource.azurerm_management_lock.lock_contoso_rg.depends_on).toEqual(
      expect.arrayContaining(["azurerm_container_registry.registry_contoso", TASK, "azurerm_container_registry_token.token_contoso_registry_contoso_user"]),
    );
    // Not what a lock does not stop (access policies, secrets) and not what lives elsewhere.
    const all = Object.values<any>(deployed.resource.azurerm_management_lock).flatMap((l) => l.depends_on);
    expect(all.filter((a: string) => /key_vault_access_policy|key_vault_secret|container_group|token_password/.test(a))).toEqual([]);
  });

  test("the preview: plain removal is LOCKED; with the group's lock lifted, nothing is; restoring creates the lock", () => {
    const removed = DEFAULT_CONFIG_YAML;
    const plain = previewReplacements(deployed, synthStacks(parseConfig(removed))[0].tf);
    expect(plain.changes.filter((c) => c.locked).map((c) => c.address)).toEqual([TASK]);
    // Step 1: the change with the lock of that group lifted.
    const lifted = synthStacks(parseConfig(`${removed}protection: { liftLocks: [contoso-rg] }\n`))[0].tf;
    const step1 = previewReplacements(deployed, lifted);
    expect(step1.changes.filter((c) => c.locked)).toEqual([]);
    expect(step1.changes.filter((c) => c.action === "delete").map((c) => c.address)).toEqual(expect.arrayContaining([TASK, LOCK]));
    // Only that group's lock: the others stay.
    expect(Object.keys(lifted.resource.azurerm_management_lock).sort()).toEqual(["lock_acr_task_credentials_rg", "lock_contosobaseartifacts_rg", "lock_publicregistry_rg"]);
    // Step 2: liftLocks emptied again.
    const step2 = previewReplacements(lifted, synthStacks(parseConfig(removed))[0].tf);
    expect(step2.changes.map((c) => [c.action, c.address])).toEqual([["create", LOCK]]);
  });

  test("liftLocks takes only durable groups of the config, naming them", () => {
    expect(problemsOf(`${DEFAULT_CONFIG_YAML}protection: { liftLocks: [hello-world-aci-rg] }\n`)).toMatch(
      /protection\.liftLocks\[0\]: "hello-world-aci-rg" is not a durable resource group of this config \(those are: acr-task-credentials-rg, contoso-rg, contosobaseartifacts-rg, publicregistry-rg\)/,
    );
  });

  // Terraform's order for two resources removed in one apply, on stand-ins: with the lock depending
  // on the task in the state, the lock is destroyed before the task's destroy starts.
  (haveTerraform ? test : test.skip)("terraform: a removed lock that depends on a removed task is destroyed first", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-locks-"));
    try {
      const write = (tf: object) => fs.writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify(tf));
      write({ resource: { terraform_data: { task: { input: "t" }, lock: { input: "l", depends_on: ["terraform_data.task"] } } } });
      expect(terraform(dir, "init", "-input=false").status).toBe(0);
      expect(terraform(dir, "apply", "-auto-approve").status).toBe(0);
      write({ resource: { terraform_data: { other: { input: "o" } } } });
      const r = terraform(dir, "apply", "-auto-approve");
      expect(r.status).toBe(0);
      const order = [...r.stdout.matchAll(/terraform_data\.(task|lock): (Destroying|Destruction complete)/g)].map((m) => `${m[1]} ${m[2]}`);
      expect(order).toEqual(["lock Destroying", "lock Destruction complete", "task Destroying", "task Destruction complete"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("a token rotation with an overlap (tokenRotation): readers that apply later keep pulling", () => {
  const split = fs.readFileSync(path.join(repo, "examples", "split.yaml"), "utf8");
  const at = (n: number) => synthStacks(parseConfig(`${split}tokenRotation: ${n}\n`));
  const BASE = "splitbaseartifacts_registry_splitbaseartifacts_user";

  test("two tokens per registry on one scope map; the vault holds the active one's login", () => {
    const [platform] = at(1);
    const tokens = platform.tf.resource.azurerm_container_registry_token;
    expect(Object.keys(tokens).filter((k) => k.includes("splitbaseartifacts")).sort()).toEqual([`token_${BASE}`, `token_${BASE}_alt`]);
    expect(tokens[`token_${BASE}_alt`].name).toBe("registry-splitbaseartifacts-alt");
    expect(tokens[`token_${BASE}_alt`].scope_map_id).toBe(tokens[`token_${BASE}`].scope_map_id);
    const secrets = platform.tf.resource.azurerm_key_vault_secret;
    expect(secrets.secret_registry_splitbaseartifacts_user.value).toBe("registry-splitbaseartifacts-alt");
    expect(secrets.secret_registry_splitbaseartifacts_password.value).toContain(`token_password_${BASE}_alt`);
  });

  test.each([1, 2, 3])("rotation %i, raised by one, renews only the slot becoming active; the one teams still use is untouched", (n) => {
    const [before] = at(n);
    const [after] = at(n + 1);
    const p = previewReplacements(before.tf, after.tf);
    const replaced = p.changes.filter((c) => c.action === "replace").map((c) => c.address);
    const renewed = (n + 1) % 2 === 0 ? "" : "_alt";
    const kept = (n + 1) % 2 === 0 ? "_alt" : "";
    expect(replaced).toContain(`azurerm_container_registry_token_password.token_password_${BASE}${renewed}`);
    expect(replaced).not.toContain(`azurerm_container_registry_token_password.token_password_${BASE}${kept}`);
    expect(p.changes.filter((c) => c.action === "delete")).toEqual([]);
    expect(p.changes.filter((c) => c.action === "replace" && c.durable)).toEqual([]);
    // The secrets move to the renewed slot (new versions); the previous versions keep the kept
    // slot's login, which is still valid: a team stack that has not applied yet still pulls.
    expect(p.changes.find((c) => c.address === "azurerm_key_vault_secret.secret_registry_splitbaseartifacts_password")!.action).toBe("update");
  });

  test("setting tokenRotation for the first time touches no existing password", () => {
    const single = synthStacks(parseConfig(split));
    const p = previewReplacements(single[0].tf, at(0)[0].tf);
    expect(p.changes.filter((c) => c.action !== "create").map((c) => c.address)).toEqual([]);
  });
});

describe("review findings: what a team would hit", () => {
  test("deployer names are the variable's map keys as written (cdktf rewrites hyphens, so they are refused)", () => {
    const ok = synthStacks(parseConfig(`${DEFAULT_CONFIG_YAML}deployers:\n  - { name: ops_group, objectId: 11111111-1111-1111-1111-111111111111 }\n  - { name: ci2, objectId: 22222222-2222-2222-2222-222222222222 }\n`))[0].tf;
    expect(Object.keys(ok.variable.deployers.default)).toEqual(["ops_group", "ci2"]);
    expect(ok.moved[0].to).toMatch(/\["ops_group"\]$/);
    for (const bad of ["ops-group", "a__b", "abc_", "Ops"]) {
      expect(problemsOf(`${DEFAULT_CONFIG_YAML}deployers:\n  - { name: ${JSON.stringify(bad)}, objectId: 11111111-1111-1111-1111-111111111111 }\n`)).toMatch(
        /deployers\[0\]\.name: .* is not a valid deployer name/,
      );
    }
  });

  test("options that would do nothing are refused: liftLocks without locks, deployers with an existing vault; environments are lowercase", () => {
    expect(problemsOf(`${DEFAULT_CONFIG_YAML}protection: { locks: false, liftLocks: [contoso-rg] }\n`)).toMatch(/protection\.liftLocks: .* has no effect: protection\.locks is false/);
    expect(
      problemsOf(
        DEFAULT_CONFIG_YAML.replace("  name: acr-task-credentials\n", "  name: acr-task-credentials\n  existing: true\n") +
          "deployers:\n  - { name: alice, objectId: 11111111-1111-1111-1111-111111111111 }\n",
      ),
    ).toMatch(/deployers: .* has no effect with keyVault\.existing/);
    expect(problemsOf(`${DEFAULT_CONFIG_YAML}environment: PROD\n`)).toMatch(/environment: "PROD" is not a valid environment name/);
  });

  test("the preview: a deployer renamed with its object id is REFUSED, with the state mv that avoids the race", () => {
    const with_ = (name: string) => synthStacks(parseConfig(`${DEFAULT_CONFIG_YAML}deployers:\n  - { name: ${name}, objectId: 11111111-1111-1111-1111-111111111111 }\n`))[0].tf;
    const p = previewReplacements(with_("alice"), with_("alice_admin"));
    const created = p.changes.find((c) => c.action === "create")!;
    expect(created.address).toMatch(/\["alice_admin"\]$/);
    expect(created.refused![0]).toMatch(/the value key "alice" holds until now.*deployers\[\]\.renamedFrom/);
    expect(p.counts.refused).toBe(1);
    // Every other reuse of an object id: a key changing to one another key loses, a swap, a case change.
    const map = (m: Record<string, string>) =>
      synthStacks(parseConfig(`${DEFAULT_CONFIG_YAML}deployers:\n${Object.entries(m).map(([n, id]) => `  - { name: ${n}, objectId: ${id} }\n`).join("")}`))[0].tf;
    const [X, Y] = ["11111111-1111-1111-1111-11111111111a", "22222222-2222-2222-2222-22222222222b"];
    const flagged = (a: Record<string, string>, b: Record<string, string>) => previewReplacements(map(a), map(b)).changes.filter((c) => c.refused).length;
    expect(flagged({ alice: X, ci: Y }, { alice: X, ci_old: Y, ci: "33333333-3333-3333-3333-333333333333" })).toBeGreaterThan(0);
    expect(flagged({ alice: X, ci: Y }, { alice: Y, ci: X })).toBeGreaterThan(0);
    expect(flagged({ alice: X, ci: Y }, { ci: X })).toBeGreaterThan(0);
    expect(flagged({ alice: X }, { alice2: X.toUpperCase() })).toBeGreaterThan(0);
    expect(flagged({ alice: X }, { alice: X, ci: Y })).toBe(0);
  });

  test("a rename through renamedFrom: a moved block, and the preview sees a move, not a race", () => {
    const renamed = synthStacks(
      parseConfig(`${DEFAULT_CONFIG_YAML}deployers:\n  - { name: alice_admin, objectId: 11111111-1111-1111-1111-111111111111, renamedFrom: alice }\n`),
    )[0].tf;
    const at = "azurerm_key_vault_access_policy.kv_policy_acr_task_credentials_deployer";
    expect(renamed.moved).toEqual(expect.arrayContaining([{ from: `${at}["alice"]`, to: `${at}["alice_admin"]` }]));
    const before = synthStacks(parseConfig(`${DEFAULT_CONFIG_YAML}deployers:\n  - { name: alice, objectId: 11111111-1111-1111-1111-111111111111 }\n`))[0].tf;
    expect(previewReplacements(before, renamed).changes).toEqual([]);
    expect(problemsOf(`${DEFAULT_CONFIG_YAML}deployers:\n  - { name: a, objectId: 11111111-1111-1111-1111-111111111111 }\n  - { name: b, objectId: 22222222-2222-2222-2222-222222222222, renamedFrom: a }\n`)).toMatch(
      /deployers\[1\]\.renamedFrom: "a" is the name of a deployer listed now/,
    );
  });

  test("renaming the first-listed deployer: one move into each instance (a chain), not two (every plan would fail: Ambiguous move statements)", () => {
    const at = "azurerm_key_vault_access_policy.kv_policy_acr_task_credentials_deployer";
    const key = (k: string) => `${at}[${JSON.stringify(k)}]`;
    const moves = (base: string, list: string) => synthStacks(parseConfig(`${base}deployers:\n${list}`)).flatMap((s) => s.tf.moved ?? []);
    const [A, C] = ["11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"];
    const first = moves(DEFAULT_CONFIG_YAML, `  - { name: alice_admin, objectId: ${A}, renamedFrom: alice }\n  - { name: ci, objectId: ${C} }\n`);
    expect(first).toEqual([
      { from: at, to: key("alice") },
      { from: key("alice"), to: key("alice_admin") },
    ]);
    const later = moves(DEFAULT_CONFIG_YAML, `  - { name: alice, objectId: ${A} }\n  - { name: ci, objectId: ${C}, renamedFrom: ci_old }\n`);
    expect(later).toEqual([
      { from: at, to: key("alice") },
      { from: key("ci_old"), to: key("ci") },
    ]);
    // The split layout (help/operations.md's example, on examples/split.yaml): the platform stack moves.
    const split = fs.readFileSync(path.join(repo, "examples", "split.yaml"), "utf8");
    const both = moves(split, `  - { name: alice_admin, objectId: ${A}, renamedFrom: alice }\n  - { name: ci, objectId: ${C}, renamedFrom: ci_old }\n`);
    // Three in the platform's vault, and the two renames in each team's own vault (split.yaml's three teams
    // store their token's secrets; a rename moved into a vault's first policy is a no-op).
    expect(both).toHaveLength(3 + 2 * 3);
    for (const m of [first, later, both]) expect(new Set(m.map((x: { to: string }) => x.to)).size).toBe(m.length);
  });

  test("the preview: renewing or removing the token whose login the vault holds, with twins about, is REFUSED", () => {
    const at = (n?: number) => synthStacks(parseConfig(`${DEFAULT_CONFIG_YAML}${n === undefined ? "" : `tokenRotation: ${n}\n`}`))[0].tf;
    const refused = (a: any, b: any) => previewReplacements(a, b).changes.filter((c) => c.refused).map((c) => c.address).length;
    expect(refused(at(2), at(4))).toBe(3); // a jump by two renews the three tokens in use
    expect(refused(at(2), at(3))).toBe(0); // by one: only the twins
    expect(refused(at(undefined), at(3))).toBe(3); // first set above 1
    expect(refused(at(2), at(undefined))).toBe(3); // unset once past 1
    expect(refused(at(undefined), at(0))).toBe(0);
    expect(refused(at(1), at(undefined))).toBe(3); // the twins in use are deleted
    expect(refused(at(0), at(undefined))).toBe(0); // only from 0 is the way back clean
  });

  test("the preview: in split, the AcrPull on the platform's registry is the platform's (team identity), under its own lock: no cross-state note", () => {
    const split = fs.readFileSync(path.join(repo, "examples", "split.yaml"), "utf8").replace(/baseArtifactsRegistry:\n/, "baseArtifactsRegistry:\n  taskCredential: identity\n");
    const stacks = synthStacks(parseConfig(split));
    const team = stacks.find((s) => s.name === "acr-gate-splitdata")!.tf;
    // The team grants nothing on base artifacts any more (help/split.md, "Team identities").
    expect(Object.keys(team.resource.azurerm_role_assignment ?? {}).filter((k) => k.startsWith("acr_pull_splitbaseartifacts"))).toEqual([]);
    const before = stacks[0].tf;
    const pull = "acr_pull_splitbaseartifacts_splitdata_tasks";
    expect(before.resource.azurerm_role_assignment[pull].principal_id).toBe("${azurerm_user_assigned_identity.team_identity_splitdata.principal_id}");
    // Removing the team's pull (the team gone, or off identity pulls) is a platform change, where the lock is.
    const after = JSON.parse(JSON.stringify(before));
    delete after.resource.azurerm_role_assignment[pull];
    const p = previewReplacements(before, after);
    expect(p.changes.find((c) => c.address === `azurerm_role_assignment.${pull}`)!.action).toBe("delete");
    expect(p.notes.find((n) => n.includes("data.terraform_remote_state"))).toBeUndefined();
  });
});
