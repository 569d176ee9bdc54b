/**
 * Terraform's own plan and apply, on mocked providers (`terraform test`, Terraform 1.7+), over every
 * synthesized stack: what `terraform validate` cannot see (help/validation.md, "Terraform's own
 * plan: `terraform test`"). For the default config and every examples/*.yaml, each stack gets a
 * `main.tftest.hcl` beside its `cdk.tf.json` (in a temporary directory) that applies the stack, then
 * plans it again: the second plan must change nothing. Then the day-2 moves of deployers
 * (`renamedFrom`, help/operations.md "Deployers"): a state applied from the config before, a plan of
 * the config after, the policy moved and not replaced; and day-2 config changes (a deployer, an
 * app, a team, rotations) planned the same way, their changes exactly help/operations.md's. Needs
 * terraform and the provider mirror (ACR_GATE_TF_MIRROR or ../shared/terraform-mirror); skipped with a note without them (an error in
 * CI: ACR_GATE_REQUIRE_TOOLS=1). Offline: providers from the mirror only, as scripts/validate.sh.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { DEFAULT_CONFIG_YAML } from "../lib/config";
import { TERRAFORM_FLOOR } from "../lib/provider-versions";
import { requireTool } from "./support/go-render";
import { diffAgainstPlan } from "./support/diff-agreement";
import { applyThenPlan, clientConfigIn, mockHeader, variableValues } from "./support/tf-test";
import { atLeast, changesOf, engine, exampleConfigs, expectApplyThenEmptyReplan, MIRROR, REPO as repo, runTest, synthesize as synth, testable, workDir } from "./support/tf-runner";

const tf = engine(process.env.ACR_GATE_TERRAFORM ?? "terraform");
// `state_key` in run blocks (the day-2 cases) is Terraform 1.11.
const ready = requireTool(
  "terraform 1.11+ and the provider mirror (ACR_GATE_TF_MIRROR or ../shared/terraform-mirror) with azurerm 4.81.0 and time 0.13.1",
  tf.name === "terraform" && atLeast(tf.version, "1.11") && MIRROR !== undefined,
);
const work = workDir("tftest");
const synthesize = (label: string, config: string | null) => synth(work, label, config);
const terraformTest = (dir: string) => runTest(work, tf, dir);
const configs = exampleConfigs();

/**
 * `npm run diff` on the same two JSONs (in-process, support/diff-agreement.ts) says what the plan
 * shows, through exactly the known differences with mocks listed here by case (none if absent).
 */
const PAUSE_FORCENEW = "time_sleep.grants_propagation: replace (ForceNew triggers) => update (1)";
const DIFF_MAPPED: Record<string, string[]> = {
  "remove an app (shop), locks kept": [PAUSE_FORCENEW],
  "remove an app (shop), its team registry's lock lifted (protection.liftLocks)": [PAUSE_FORCENEW],
  // The credential set's grant is gone: the pause after the grants is replaced (a mock plans an update).
  "move a gated image from Docker Hub's cache to MCR's (upstream docker.io -> mcr.microsoft.com)": [PAUSE_FORCENEW],
  // The twins' passwords: replaced by the real provider (their expiry reads the renewed start time),
  // no change under mocks, whose updated time_static keeps its time.
  "rotate with an overlap (tokenRotation 0 -> 1)": [
    ...["contoso", "contosobaseartifacts", "publicregistry"].map(
      (r) => `azurerm_container_registry_token_password.token_password_${r}_registry_${r}_user_alt: replace (ForceNew password1.expiry from time_static.token_created_${r}_registry_${r}_user_alt) => no change (4)`,
    ),
    ...["contoso", "contosobaseartifacts", "publicregistry"].map((r) => `time_static.token_created_${r}_registry_${r}_user_alt: replace (ForceNew triggers) => update (1)`),
  ],
};
function diffAgrees(label: string, before: any, after: any, plan: any): void {
  const a = diffAgainstPlan(before, after, plan, variableValues(after));
  expect({ label, diff: a.diff, mapped: a.mapped }).toEqual({ label, diff: a.terraform, mapped: DIFF_MAPPED[label] ?? [] });
}

describe("the Terraform floor is the Terraform this suite runs on", () => {
  // required_version claims what is planned and applied here, no older (lib/provider-versions.ts).
  (ready ? test : test.skip)("required_version's minor version is this Terraform's", () => {
    const floor = /^>= (\d+\.\d+)\.0$/.exec(TERRAFORM_FLOOR)![1];
    expect({ terraform: tf.version, floor: TERRAFORM_FLOOR }).toEqual({ terraform: expect.stringMatching(new RegExp(`^${floor.replace(".", "\\.")}\\.`)), floor: TERRAFORM_FLOOR });
    for (const [, stacks] of [["default", synthesize("floor", null)]] as const) for (const t of stacks.values()) expect(t.terraform.required_version).toBe(TERRAFORM_FLOOR);
  });
});

describe("apply, then a plan that changes nothing, on mocked providers: every stack of the default config and every example", () => {
  (ready ? test.each(configs) : test.skip.each(configs))(
    "%s",
    (label, config) => {
      const stacks = synthesize(label, config);
      for (const [name, json] of stacks) expectApplyThenEmptyReplan(work, tf, path.join(work, "apply", label, name), `${label}/${name}`, json, applyThenPlan);
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
      diffAgrees(label, beforeTf, afterTf, plan);
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

/**
 * Day-2 config changes (help/operations.md): the config before applied, the config after planned on
 * the same state. The plan must succeed and change exactly what the doc promises, as far as mocks can
 * show it; nothing durable (registry, vault, secret, resource group) is deleted or replaced beyond
 * what the doc says. The base is lifecycle.test.ts's (the walkthrough plus a second token-mode app,
 * shop, on contoso) with two named deployers.
 *
 * What the mocks cannot show (help/validation.md): a replacement the provider itself plans
 * (ForceNew). A `time_sleep`'s or `time_static`'s `triggers` are ForceNew in the time provider, so
 * the replacement of the grants pause and of a token's start time shows here as an update; the
 * token password the new start time replaces (its expiry, ForceNew) shows as nothing (with
 * overlap) or an update (-replace), and with it the tasks' credentials and secret revisions that
 * follow the new password. lifecycle.test.ts pins those from the provider's ForceNew map.
 */
describe("day-2 config changes: plan succeeds and changes exactly what help/operations.md promises", () => {
  const [A, B, C] = ["11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222", "33333333-3333-3333-3333-333333333333"];
  const base = (): any => {
    const d = YAML.parse(DEFAULT_CONFIG_YAML);
    d.apps.push({ name: "shop", registry: "contoso", repository: "https://github.com/x/shop.git#main", baseImage: "node:15-alpine" });
    d.deployers = [
      { name: "alice", objectId: A },
      { name: "ci", objectId: B },
    ];
    return d;
  };
  const DURABLE = new Set(["azurerm_container_registry", "azurerm_key_vault", "azurerm_key_vault_secret", "azurerm_resource_group", "azurerm_container_registry_token", "azurerm_container_registry_scope_map"]);
  const RUN = (t: string) => `azurerm_container_registry_task_schedule_run_now.first_run_${t}: delete+create`;
  const TASK = (t: string) => `azurerm_container_registry_task.task_${t}: update`;
  const SECRETS = (r: string) => [`azurerm_key_vault_secret.secret_registry_${r}_password: update`, `azurerm_key_vault_secret.secret_registry_${r}_user: update`];
  const REVISIONS = (r: string) => [`terraform_data.secret_registry_${r}_password_revision: update`, `terraform_data.secret_registry_${r}_user_revision: update`];
  // "remove an app": its group, task, run, grants, role are deleted; the pause (replaced by the
  // provider: shown as an update) and its team token's scope map updated.
  const SHOP_REMOVED = [
    "azurerm_container_group.container_group_shop_aci: delete",
    "azurerm_container_registry_scope_map.scope_map_contoso_registry_contoso_user: update",
    "azurerm_container_registry_task.task_contoso_build_shop: delete",
    "azurerm_container_registry_task_schedule_run_now.first_run_contoso_build_shop: delete",
    "azurerm_key_vault_access_policy.kv_policy_acr_task_credentials_contoso_build_shop: delete",
    "azurerm_resource_group.rg_shop_aci_rg: delete",
    "azurerm_role_assignment.deploy_shop_aci_contoso_build_shop: delete",
    "azurerm_role_assignment.subscription_reader_contoso_build_shop: delete",
    "azurerm_role_definition.deploy_role_shop_aci: delete",
    "output.app_fqdn_shop_aci: delete",
    "output.app_ip_shop_aci: delete",
    "terraform_data.aci_shape_shop_aci: delete",
    "time_sleep.grants_propagation: update",
  ];
  // [case, mutate before, mutate after, changes expected ("address: actions"), durable deletes the
  // doc promises, addresses replaced as `apply -replace` would]
  type Mutation = (d: any) => void;
  const cases: [string, Mutation | Mutation[], Mutation, string[], string[], string[]][] = [
    // "Deployers": adding a deployer is one create; nothing else changes.
    ["add a deployer", () => {}, (d) => d.deployers.push({ name: "ops", objectId: C }), ['azurerm_key_vault_access_policy.kv_policy_acr_task_credentials_deployer["ops"]: create'], [], []],
    // Without liftLocks the plan is the same; Azure refuses the task's delete at apply (LOCKED,
    // "Locks"): a plan cannot show that, npm run diff does.
    ["remove an app (shop), locks kept", () => {}, (d) => d.apps.pop(), SHOP_REMOVED, ["azurerm_resource_group.rg_shop_aci_rg: delete"], []],
    // "Locks", step 1: the lifted lock is deleted in the same apply (first: it depends on what it covers).
    [
      "remove an app (shop), its team registry's lock lifted (protection.liftLocks)",
      () => {},
      (d) => {
        d.apps.pop();
        d.protection = { liftLocks: ["contoso-rg"] };
      },
      [...SHOP_REMOVED, "azurerm_management_lock.lock_contoso_rg: delete"],
      ["azurerm_resource_group.rg_shop_aci_rg: delete"],
      [],
    ],
    // "Locks", step 2: `liftLocks` emptied after that apply: the lock comes back, nothing else changes.
    [
      "remove an app, then liftLocks emptied again: the lock is created again",
      [
        () => {},
        (d) => {
          d.apps.pop();
          d.protection = { liftLocks: ["contoso-rg"] };
        },
      ],
      (d) => (d.protection = { liftLocks: [] }),
      ["azurerm_management_lock.lock_contoso_rg: create"],
      [],
      [],
    ],
    // "add a team": a registry, its group and lock are created; nothing else.
    [
      "add a team registry (single layout)",
      () => {},
      (d) => d.teamRegistries.push({ name: "fabrikam" }),
      ["azurerm_container_registry.registry_fabrikam: create", "azurerm_management_lock.lock_fabrikam_rg: create", "azurerm_resource_group.rg_fabrikam_rg: create", "output.login_server_fabrikam: create"],
      [],
      [],
    ],
    // "Registry network access": restricting a registry, and opening it again, updates it in place.
    [
      "restrict a team registry's network (public access disabled)",
      (d) => d.teamRegistries.push({ name: "fabrikam" }),
      (d) => (d.teamRegistries[1].network = { publicAccess: "disabled" }),
      ["azurerm_container_registry.registry_fabrikam: update"],
      [],
      [],
    ],
    [
      "open a restricted registry again (network: {})",
      [(d) => d.teamRegistries.push({ name: "fabrikam" }), (d) => (d.teamRegistries[1].network = { allowIps: ["203.0.113.0/24"] })],
      (d) => (d.teamRegistries[1].network = {}),
      ["azurerm_container_registry.registry_fabrikam: update"],
      [],
      [],
    ],
    // help/artifact-cache.md, "Names that cannot collide": an image moved to another upstream keeps its
    // task (updated) and address; the old cache rule, credential set and its policy go, the new rule
    // comes, the gate's first run runs again. Nothing durable.
    [
      "move a gated image from Docker Hub's cache to MCR's (upstream docker.io -> mcr.microsoft.com)",
      (d) => {
        d.upstream = { dockerHubCredentials: true };
        d.gatedImages.push({ source: "nginx:1.27", upstream: "docker.io", via: "cache", test: { enabled: false } });
      },
      (d) => {
        d.gatedImages[1].upstream = "mcr.microsoft.com";
        delete d.gatedImages[1].via;
      },
      [
        TASK("contosobaseartifacts_base_import_nginx"),
        RUN("contosobaseartifacts_base_import_nginx"),
        "azurerm_container_registry_cache_rule.cache_rule_contosobaseartifacts_dockerhub_nginx: delete",
        "azurerm_container_registry_cache_rule.cache_rule_contosobaseartifacts_mcr_nginx: create",
        "azurerm_container_registry_credential_set.credential_set_contosobaseartifacts_dockerhub: delete",
        "azurerm_key_vault_access_policy.kv_policy_acr_task_credentials_contosobaseartifacts_credential_set_dockerhub: delete",
        "time_sleep.grants_propagation: update",
      ],
      [],
      [],
    ],
    // "Rotation", with an overlap: the twins' start times (and, by the provider, passwords) renewed,
    // the secrets hold the twins' logins, the tasks' credentials follow, the runs that read them run
    // again; the tokens in use and the container groups untouched.
    [
      "rotate with an overlap (tokenRotation 0 -> 1)",
      (d) => (d.tokenRotation = 0),
      (d) => (d.tokenRotation = 1),
      [
        ...["contoso_build_shop", "contoso_hello_world", "contosobaseartifacts_base_import_node"].flatMap((t) => [TASK(t), RUN(t)]),
        ...["contoso", "contosobaseartifacts", "publicregistry"].flatMap((r) => [...SECRETS(r), ...REVISIONS(r), `time_static.token_created_${r}_registry_${r}_user_alt: update`]),
      ],
      [],
      [],
    ],
    // "Rotation", one token (`terraform apply -replace=time_static.token_created_...`): a new start and
    // password, a new secret version, the runs that read it (the apps' runs deploy with contoso's
    // token); no container group. The password's replacement (ForceNew expiry) shows as an update.
    [
      "rotate the team token (apply -replace of its time_static)",
      () => {},
      () => {},
      [
        RUN("contoso_build_shop"),
        RUN("contoso_hello_world"),
        "azurerm_container_registry_token_password.token_password_contoso_registry_contoso_user: update",
        ...SECRETS("contoso"),
        "time_static.token_created_contoso_registry_contoso_user: delete+create",
      ],
      [],
      ["time_static.token_created_contoso_registry_contoso_user"],
    ],
    // The base artifacts' token (which the tasks pull with: contoso's serves the container groups and
    // the app runs, which deploy with it), with the password replaced as the real provider plans it
    // (ForceNew expiry): then the secret revision and the tasks' credentials follow in this plan,
    // not the next, as "Rotation" promises.
    [
      "rotate the base artifacts token, the password replaced as the provider plans it (ForceNew expiry)",
      () => {},
      () => {},
      [
        ...["contoso_build_shop", "contoso_hello_world"].flatMap((t) => [TASK(t), RUN(t)]),
        "azurerm_container_registry_token_password.token_password_contosobaseartifacts_registry_contosobaseartifacts_user: delete+create",
        "terraform_data.secret_registry_contosobaseartifacts_password_revision: update",
        ...SECRETS("contosobaseartifacts"),
        "time_static.token_created_contosobaseartifacts_registry_contosobaseartifacts_user: delete+create",
      ],
      [],
      ["time_static.token_created_contosobaseartifacts_registry_contosobaseartifacts_user", "azurerm_container_registry_token_password.token_password_contosobaseartifacts_registry_contosobaseartifacts_user"],
    ],
  ];
  (ready ? test.each(cases) : test.skip.each(cases))(
    "%s",
    (label, mutateBefore, mutateAfter, expected, durableGone, replace) => {
      const dir = path.join(work, "day2", label.replace(/[^a-z0-9]+/gi, "-"));
      fs.mkdirSync(dir, { recursive: true });
      // Each config before is applied in turn (the mutations accumulate), then the after one planned.
      const steps = Array.isArray(mutateBefore) ? mutateBefore : [mutateBefore];
      const synthOf = (which: string, mutations: ((d: any) => void)[]) => {
        const d = base();
        for (const m of mutations) m(d);
        const file = path.join(dir, `${which}.yaml`);
        fs.writeFileSync(file, YAML.stringify(d));
        return testable([...synthesize(`day2-${path.basename(dir)}-${which}`, file).entries()].find(([n]) => n === "acr-gate")![1]);
      };
      const runs: string[] = [];
      steps.forEach((_, i) => {
        const which = i === 0 ? "before" : `before${i + 1}`;
        fs.mkdirSync(path.join(dir, which), { recursive: true });
        fs.writeFileSync(path.join(dir, which, "cdk.tf.json"), JSON.stringify(synthOf(which, steps.slice(0, i + 1)), null, 2));
        runs.push(`run "${which}" {\n  command   = apply\n  state_key = "stack"\n  module {\n    source = "./${which}"\n  }\n}\n`);
      });
      const afterTf = synthOf("after", [...steps, mutateAfter]);
      fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(afterTf, null, 2));
      fs.writeFileSync(
        path.join(dir, "main.tftest.hcl"),
        `${mockHeader(afterTf)}\n${runs.join("\n")}\n` +
          `run "after" {\n  command   = plan\n  state_key = "stack"\n` +
          (replace.length ? `  plan_options {\n    replace = [${replace.join(", ")}]\n  }\n` : "") +
          `}\n`,
      );
      const r = terraformTest(dir);
      expect({ summary: r.summary, diagnostics: r.diagnostics }).toEqual({ summary: expect.objectContaining({ status: "pass", passed: steps.length + 1, failed: 0, errored: 0 }), diagnostics: [] });
      const changes = changesOf(r.plans.get("after")).sort();
      expect(changes).toEqual([...expected].sort());
      // A forced -replace is not in the JSON: npm run diff compares configs (help/validation.md).
      if (!replace.length) diffAgrees(label, JSON.parse(fs.readFileSync(path.join(dir, runs.length > 1 ? `before${runs.length}` : "before", "cdk.tf.json"), "utf8")), afterTf, r.plans.get("after"));
      // Nothing durable deleted or replaced but what the doc promises; no container group touched
      // but the removed app's.
      expect(changes.filter((c) => DURABLE.has(c.split(".")[0]) && /delete/.test(c))).toEqual(durableGone);
      expect(changes.filter((c) => c.startsWith("azurerm_container_group.") && !c.includes("shop_aci: delete"))).toEqual([]);
    },
    120_000,
  );
});

/**
 * "A second environment" (help/operations.md): the split layout in three environments (dev, test,
 * prod), each stack applied in its own subscription; then each environment's JSON planned on the
 * next one's state from another subscription (a CI identity pointed at the wrong subscription, or a
 * state key mixed up). The guard's postcondition must stop that plan (`expect_failures`), on the
 * platform stack and on a team stack; the same plan in the state's own subscription changes nothing.
 */
describe("the environment guard: three environments, a plan in a foreign subscription refused", () => {
  const subscription = (i: number) => `00000000-0000-0000-0000-00000000000${"abc"[i]}`;
  const envs = ["dev", "test", "prod"];
  const stackCases = ["acr-gate", "acr-gate-splitweb"];
  (ready ? test.each(stackCases) : test.skip.each(stackCases))(
    "%s",
    (stackName) => {
      const split = fs.readFileSync(path.join(repo, "examples", "split.yaml"), "utf8");
      envs.forEach((env, i) => {
        const dir = path.join(work, "guard", stackName, env);
        fs.mkdirSync(path.join(dir, "state-of-next"), { recursive: true });
        const jsonOf = (e: string) => {
          const file = path.join(work, "guard", `${e}.yaml`);
          fs.writeFileSync(file, `${split}\nenvironment: ${e}\n`);
          return testable(synthesize(`guard-${stackName}-${e}`, file).get(stackName));
        };
        const own = jsonOf(env);
        const next = jsonOf(envs[(i + 1) % envs.length]);
        expect(own.resource.terraform_data.environment.input.environment).toBe(env);
        fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(own, null, 2));
        fs.writeFileSync(path.join(dir, "state-of-next", "cdk.tf.json"), JSON.stringify(next, null, 2));
        const client = (sub: string) => clientConfigIn(sub);
        fs.writeFileSync(
          path.join(dir, "main.tftest.hcl"),
          `${mockHeader(own)}\n` +
            // This environment, in its own subscription: applied, then planned again (no change).
            `run "apply" {\n  command = apply\n${client(subscription(i))}}\n\n` +
            `run "replan" {\n  command = plan\n${client(subscription(i))}}\n\n` +
            // The next environment's stack, applied in its subscription (its own state, by module).
            `run "next" {\n  command   = apply\n  state_key = "next"\n  module {\n    source = "./state-of-next"\n  }\n${client(subscription((i + 1) % 3))}}\n\n` +
            // This environment's JSON on the next one's state, from this environment's subscription: refused.
            `run "foreign" {\n  command         = plan\n  state_key       = "next"\n  expect_failures = [terraform_data.environment]\n${client(subscription(i))}}\n\n` +
            // The control: the same plan on that state from the state's own subscription passes, so
            // the refusal above is the subscription's, not another error the expectation would hide.
            `run "foreign_json_home_subscription" {\n  command   = plan\n  state_key = "next"\n${client(subscription((i + 1) % 3))}}\n`,
        );
        const r = terraformTest(dir);
        expect({ env, summary: r.summary, diagnostics: r.diagnostics }).toEqual({ env, summary: expect.objectContaining({ status: "pass", passed: 5, failed: 0, errored: 0 }), diagnostics: [] });
        expect({ env, changes: changesOf(r.plans.get("replan")) }).toEqual({ env, changes: [] });
      });
    },
    240_000,
  );
});
