/**
 * `npm run diff` (app/plan-model.ts, app/diff-rules.ts): what `terraform apply` would do between two
 * synthesized stacks. Small handcrafted configs pin one planning rule each; two real synths check
 * the whole chain; the compiled CLI is checked for its exit codes and one-line errors.
 * `npm test` compiles dist/ with tsc before jest runs, which the CLI tests need.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import { durableAddresses, Preview, previewReplacements, ResourceChange } from "../app/diff-rules";
import { renderText } from "../app/diff-cli";
import { synthesizeInMemory } from "../app/synth";
import { forceNewMap, vendoredVersions } from "../app/provider-facts";
import { AZURERM_VERSIONS, BINDINGS_AZURERM_VERSION, DEFAULT_AZURERM_VERSION } from "../lib/provider-versions";
import { synth } from "./helpers";

const vendor = require("../scripts/vendor-forcenew.js");

const repo = path.resolve(__dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-diff-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A stack with just these resources (and data sources). */
function stack(resource: Record<string, Record<string, object>>, data?: Record<string, Record<string, object>>): object {
  return {
    terraform: { required_providers: { azurerm: { source: "azurerm", version: DEFAULT_AZURERM_VERSION } } },
    resource,
    ...(data ? { data } : {}),
  };
}
const change = (p: Preview, address: string): ResourceChange | undefined => p.changes.find((c) => c.address === address);
const actions = (p: Preview) => Object.fromEntries(p.changes.map((c) => [c.address, c.action]));

const rg = (name: string, location = "eastus") => ({ name, location });
const registry = (rgRef: string, extra: object = {}) => ({
  name: "contoso",
  location: "eastus",
  sku: "Premium",
  resource_group_name: rgRef,
  ...extra,
});

describe("app/forcenew.json, the vendored ForceNew facts", () => {
  const research = vendor.readResearch();
  const vendored = JSON.parse(fs.readFileSync(path.join(repo, "app", "forcenew.json"), "utf8"));

  // The research dumps live outside the repository (../shared/research); a user's clone lacks them.
  (research ? test : test.skip)(
    "equals what scripts/vendor-forcenew.js writes from the research files (skipped where they are absent)",
    () => {
      const expected = vendor.buildForceNew(research, vendor.wantedTypes());
      // On failure: run `node scripts/vendor-forcenew.js` (a construct imports a new type, or a dump changed).
      expect(vendored).toEqual(expected);
    }
  );

  test("names the pinned version first, then every other version CI proves, then the bindings' own", () => {
    expect(vendored._pinned).toBe(DEFAULT_AZURERM_VERSION);
    expect(vendoredVersions()).toEqual([DEFAULT_AZURERM_VERSION, ...AZURERM_VERSIONS.filter((v) => v !== DEFAULT_AZURERM_VERSION), BINDINGS_AZURERM_VERSION]);
    expect(vendor.VERSIONS).toEqual(vendoredVersions());
  });

  test("covers, for each version, every type the constructs import, the planned ones, time and terraform_data", () => {
    for (const v of vendoredVersions()) {
      for (const t of [...vendor.wantedTypes(), "terraform_data"]) expect(Object.keys(vendored.versions[v])).toContain(t);
      expect(vendored.versions[v].terraform_data).toEqual(["triggers_replace"]);
    }
    expect(vendored._source).toMatch(/vendor-forcenew/);
  });

  test.each([
    ["default config", DEFAULT_CONFIG_YAML],
    ...fs
      .readdirSync(path.join(repo, "examples")).filter((f) => f.endsWith(".yaml"))
      .map((f) => [`examples/${f}`, fs.readFileSync(path.join(repo, "examples", f), "utf8")]),
  ])("every resource type of a synthesized stack is covered: %s", (_name, yaml) => {
    const tf = synth(parseConfig(yaml)).tf;
    const types = Object.keys(tf.resource);
    expect(types.length).toBeGreaterThan(5);
    expect(types.filter((t) => !forceNewMap()[t])).toEqual([]);
  });
});

describe("planning rules", () => {
  test("a changed ForceNew leaf replaces; a durable resource is flagged", () => {
    const before = stack({
      azurerm_key_vault: { kv: { name: "kv-a", location: "eastus", resource_group_name: "rg", sku_name: "standard" } },
    });
    const after = stack({
      azurerm_key_vault: { kv: { name: "kv-b", location: "eastus", resource_group_name: "rg", sku_name: "standard" } },
    });
    const p = previewReplacements(before, after);
    expect(change(p, "azurerm_key_vault.kv")).toMatchObject({ action: "replace", durable: true });
    expect(change(p, "azurerm_key_vault.kv")!.reasons[0]).toBe('name changed ("kv-a" -> "kv-b"): forces replacement');
    expect(p.counts).toMatchObject({ replaceDurable: 1, replace: 0 });
  });

  test("a change under a ForceNew ancestor replaces (container.cpu_limit is not listed, container is)", () => {
    expect(forceNewMap().azurerm_container_group.has("container.cpu_limit")).toBe(false);
    const group = (cpuLimit: number) =>
      stack({
        azurerm_container_group: {
          g: { name: "g", os_type: "Linux", container: [{ name: "c", image: "i", cpu: 1, memory: 1, cpu_limit: cpuLimit }] },
        },
      });
    const p = previewReplacements(group(1), group(2));
    expect(change(p, "azurerm_container_group.g")!.action).toBe("replace");
    expect(change(p, "azurerm_container_group.g")!.reasons[0]).toBe(
      "container.cpu_limit changed (1 -> 2): forces replacement via container"
    );
  });

  test("timeouts alone change nothing (the provider plans the prior state), beside a change that does", () => {
    const run = (timeouts?: object, task = "t") =>
      stack({ azurerm_container_registry_task_schedule_run_now: { r: { container_registry_task_id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/a/tasks/${task}`, ...(timeouts ? { timeouts } : {}) } } });
    expect(actions(previewReplacements(run(), run({ create: "90m" })))).toEqual({});
    expect(actions(previewReplacements(run({ create: "90m" }), run({ create: "95m" })))).toEqual({});
    expect(actions(previewReplacements(run(), run({ create: "90m" }, "u")))).toEqual({ "azurerm_container_registry_task_schedule_run_now.r": "replace" });
    // A provider on the plugin framework (time) plans `timeouts` like any attribute.
    const sleep = (timeouts?: object) => stack({ time_sleep: { s: { create_duration: "30s", ...(timeouts ? { timeouts } : {}) } } });
    expect(actions(previewReplacements(sleep(), sleep({ create: "5m" })))).toEqual({ "time_sleep.s": "update" });
  });

  test("a non-ForceNew change is an in-place update", () => {
    const p = previewReplacements(
      stack({ azurerm_container_registry: { r: registry("rg", { tags: { a: "1" } }) } }),
      stack({ azurerm_container_registry: { r: registry("rg", { tags: { a: "2" } }) } })
    );
    expect(change(p, "azurerm_container_registry.r")).toMatchObject({
      action: "update",
      durable: true,
      reasons: ['tags.a changed ("1" -> "2")'],
    });
    expect(p.counts).toMatchObject({ update: 1, replace: 0, replaceDurable: 0 });
  });

  test("cdktf's two spellings of a MaxItems-1 block (object, one-element array) are the same; metadata is not compared", () => {
    const asObject = {
      network_acls: { bypass: "AzureServices", default_action: "Allow" },
      "//": { metadata: { path: "a" } },
      depends_on: ["x.y"],
    };
    const asArray = { network_acls: [{ bypass: "AzureServices", default_action: "Allow" }], "//": { metadata: { path: "b" } } };
    const p = previewReplacements(
      stack({ azurerm_container_registry: { r: registry("rg", asObject) } }),
      stack({ azurerm_container_registry: { r: registry("rg", asArray) } })
    );
    expect(p.changes).toEqual([]);
  });

  test("lifecycle.ignore_changes of the new config hides those attributes, not others", () => {
    const group = (image: string, port: number) => ({
      name: "g",
      os_type: "Linux",
      container: [{ name: "c", image, cpu: 1, memory: 1 }],
      exposed_port: [{ port, protocol: "TCP" }],
      lifecycle: { ignore_changes: ["container", "tags"] },
    });
    const imageOnly = previewReplacements(
      stack({ azurerm_container_group: { g: group("a", 80) } }),
      stack({ azurerm_container_group: { g: group("b", 80) } })
    );
    expect(imageOnly.changes).toEqual([]);
    const port = previewReplacements(
      stack({ azurerm_container_group: { g: group("a", 80) } }),
      stack({ azurerm_container_group: { g: group("b", 8080) } })
    );
    expect(change(port, "azurerm_container_group.g")!.reasons).toEqual([
      "exposed_port.port changed (80 -> 8080): forces replacement",
    ]);
    // HCL-style paths with indices name the same attribute.
    const indexed = { ...group("b", 80), lifecycle: { ignore_changes: ["container[0].image"] } };
    expect(
      previewReplacements(
        stack({ azurerm_container_group: { g: group("a", 80) } }),
        stack({ azurerm_container_group: { g: indexed } })
      ).changes
    ).toEqual([]);
  });

  describe("replace_triggered_by", () => {
    const withTrigger = (input: string, trigger: string) =>
      stack({
        terraform_data: { version: { input } },
        azurerm_container_registry_task: {
          t: { name: "t", container_registry_id: "/r", lifecycle: { replace_triggered_by: [trigger] } },
        },
      });

    test("an input change updates terraform_data in place and replaces what it triggers, naming it", () => {
      const p = previewReplacements(withTrigger("1", "terraform_data.version"), withTrigger("2", "terraform_data.version"));
      expect(change(p, "terraform_data.version")!.action).toBe("update");
      expect(change(p, "azurerm_container_registry_task.t")!.action).toBe("replace");
      expect(change(p, "azurerm_container_registry_task.t")!.reasons[0]).toBe(
        "replace_triggered_by terraform_data.version: terraform_data.version updated"
      );
    });

    test("with an attribute: `output` changes with `input` (and cdktf's ${} spelling is read), `id` does not", () => {
      const out = previewReplacements(
        withTrigger("1", "${terraform_data.version.output}"),
        withTrigger("2", "${terraform_data.version.output}")
      );
      expect(change(out, "azurerm_container_registry_task.t")!.action).toBe("replace");
      const id = previewReplacements(
        withTrigger("1", "terraform_data.version.id"),
        withTrigger("2", "terraform_data.version.id")
      );
      expect(change(id, "azurerm_container_registry_task.t")).toBeUndefined();
    });

    test("triggers_replace replaces terraform_data itself", () => {
      const d = (v: string) => stack({ terraform_data: { version: { triggers_replace: [v] } } });
      expect(actions(previewReplacements(d("1"), d("2")))).toEqual({ "terraform_data.version": "replace" });
    });
  });

  describe("references cascade", () => {
    const locked = (rgLocation: string, rgName = "contoso-rg") =>
      stack({
        azurerm_resource_group: { rg: rg(rgName, rgLocation) },
        azurerm_container_registry: { r: registry("${azurerm_resource_group.rg.name}") },
        azurerm_management_lock: {
          lock: { name: "no-delete", lock_level: "CanNotDelete", scope: "${azurerm_resource_group.rg.id}" },
        },
      });

    test("through the computed `id` of a replaced resource: ForceNew `scope` replaces the lock", () => {
      const p = previewReplacements(locked("eastus"), locked("westus"));
      expect(change(p, "azurerm_resource_group.rg")).toMatchObject({ action: "replace", durable: true });
      expect(change(p, "azurerm_management_lock.lock")!.reasons[0]).toBe(
        "scope references azurerm_resource_group.rg (replaced): forces replacement"
      );
    });

    test("not through `name`, an argument the replaced group sets literally and keeps", () => {
      const p = previewReplacements(locked("eastus"), locked("westus"));
      expect(change(p, "azurerm_container_registry.r")).toBeUndefined();
    });

    test("through `name` when that name changes", () => {
      const p = previewReplacements(locked("eastus"), locked("eastus", "contoso-rg2"));
      expect(change(p, "azurerm_container_registry.r")!.reasons[0]).toBe(
        "resource_group_name references azurerm_resource_group.rg (replaced): forces replacement"
      );
    });

    test("a secret's new value: the task using its versioned id is updated in place, on the next apply, not replaced", () => {
      const chain = (expiry: string) =>
        stack({
          azurerm_container_registry_token_password: { pw: { container_registry_token_id: "/t", password1: { expiry } } },
          azurerm_key_vault_secret: {
            s: { name: "pw", key_vault_id: "/kv", value: "${azurerm_container_registry_token_password.pw.password1[0].value}" },
          },
          azurerm_container_registry_task: {
            task: {
              name: "t",
              container_registry_id: "/r",
              registry_credential: {
                custom: [{ login_server: "x.azurecr.io", identity: "[system]", password: "${azurerm_key_vault_secret.s.id}" }],
              },
            },
          },
          azurerm_container_registry_task_schedule_run_now: {
            run: { container_registry_task_id: "${azurerm_container_registry_task.task.id}" },
          },
        });
      const p = previewReplacements(chain("2027-01-01T00:00:00Z"), chain("2028-01-01T00:00:00Z"));
      expect(actions(p)).toEqual({
        "azurerm_container_registry_token_password.pw": "replace",
        "azurerm_key_vault_secret.s": "update",
        "azurerm_container_registry_task.task": "update",
        // an in-place update keeps the task's id: the run-now resource is untouched
      });
      expect(change(p, "azurerm_key_vault_secret.s")!.nextApply).toBe(false);
      expect(change(p, "azurerm_container_registry_task.task")).toMatchObject({
        nextApply: true,
        reasons: [
          "registry_credential.custom.password references azurerm_key_vault_secret.s (updated: new id after apply) [next apply]",
        ],
      });
      expect(p.notes.join("\n")).toMatch(/FOLLOWING plan\/apply/);
    });
  });

  test("data sources are reported apart; a changed one cascades into what references it", () => {
    const existing = (name: string) =>
      stack(
        { azurerm_key_vault_secret: { s: { name: "s", key_vault_id: "${data.azurerm_key_vault.kv.id}", value: "${var.v}" } } },
        { azurerm_key_vault: { kv: { name, resource_group_name: "rg" } } }
      );
    const p = previewReplacements(existing("kv-a"), existing("kv-b"));
    expect(p.dataSources).toEqual([{ address: "data.azurerm_key_vault.kv", reason: "config changed (name)" }]);
    expect(p.changes.map((c) => c.address)).toEqual(["azurerm_key_vault_secret.s"]);
    expect(change(p, "azurerm_key_vault_secret.s")!.reasons[0]).toMatch(
      /^key_vault_id references data\.azurerm_key_vault\.kv .*forces replacement$/
    );
  });

  // A team stack's read of the platform gained `use_azuread_auth` (the upgrade from 4.55.0): Terraform
  // reads the same state during the plan, the outputs keep their values, nothing that references
  // them changes. The diff said REPLACE DURABLE for the team's secrets (their key_vault_id is
  // ForceNew), and --fail-on-durable blocked the documented upgrade.
  describe("a data source whose config changes only in how it signs in", () => {
    const teamStack = (backend: string, config: object) =>
      stack(
        {
          azurerm_key_vault_secret: {
            s: { name: "s", key_vault_id: "${data.terraform_remote_state.platform.outputs.key_vault_id}", value: "${var.v}" },
          },
        },
        { terraform_remote_state: { platform: { backend, config } } },
      );
    const where = { container_name: "tfstate", key: "acr-gate.tfstate", resource_group_name: "tfstate-rg", storage_account_name: "st" };

    test("reads the same state: nothing that references it changes; the data source is listed as read again, its results unchanged", () => {
      const p = previewReplacements(teamStack("azurerm", where), teamStack("azurerm", { ...where, use_azuread_auth: true }));
      expect(p.changes).toEqual([]);
      expect(p.dataSources).toEqual([
        {
          address: "data.terraform_remote_state.platform",
          reason: "config changed (config.use_azuread_auth): only how it signs in; it reads the same object, its results do not change",
        },
      ]);
    });

    test.each([
      ["another state (key)", "azurerm", { ...where, use_azuread_auth: true, key: "other.tfstate" }, "config changed (config.key)"],
      ["another storage account, with the sign-in change", "azurerm", { ...where, use_azuread_auth: true, storage_account_name: "st2" }, "config changed (config.storage_account_name)"],
      // The sign-in names are the azurerm backend's: under another backend they are not known to be harmless.
      ["the same key under another backend", "local", { path: "x", use_azuread_auth: true }, "config changed (config.use_azuread_auth)"],
    ])("%s: still a change of the results, so the secret's ForceNew key_vault_id replaces it (durable)", (_label, backend, config, reason) => {
      const p = previewReplacements(teamStack(backend, backend === "azurerm" ? where : { path: "x" }), teamStack(backend, config));
      expect(p.dataSources).toEqual([{ address: "data.terraform_remote_state.platform", reason }]);
      expect(p.changes.map((c) => [c.address, c.action, c.durable])).toEqual([["azurerm_key_vault_secret.s", "replace", true]]);
    });

    test("the upgrade of a team stack from 4.55.0 with an azurerm backend: nothing durable replaced but the token's secrets moving to the team's vault", () => {
      const fixture = path.join(__dirname, "fixtures", "azurerm-4.55.0", "split-azurerm-backend", "acr-gate-splitweb", "cdk.tf.json");
      const old = JSON.parse(fs.readFileSync(fixture, "utf8"));
      const yaml = fs.readFileSync(path.join(repo, "examples", "split.yaml"), "utf8") + "backend:\n  type: azurerm\n  resourceGroupName: tfstate-rg\n  storageAccountName: splittfstate\n";
      const now = [...synthesizeInMemory(parseConfig(yaml))].find(([name]) => name === "acr-gate-splitweb")![1];
      const p = previewReplacements(old, now);
      expect(p.dataSources.map((d) => d.address)).toEqual(["data.terraform_remote_state.platform"]);
      // Durable: only the team's token's two secrets, which move to the team's own vault (created here):
      // a one-time replacement, their values regenerated from the token password in state
      // (help/split.md, "the team token's secrets"); --fail-on-durable flags them, as it should.
      expect(p.changes.filter((c) => c.durable && c.action !== "update").map((c) => `${c.address}: ${c.action}`)).toEqual([
        "azurerm_key_vault_secret.secret_registry_splitweb_password: replace",
        "azurerm_key_vault_secret.secret_registry_splitweb_user: replace",
        "azurerm_key_vault.key_vault_splitweb_kv: create",
      ]);
      // What references the platform's outputs (the base token's secrets, the tasks' credentials) is left alone; what
      // changes is the tasks' switch to the team identity the platform made (help/split.md, "Team
      // identities"): tasks updated in place, their runs and deploy grants replaced, the grants
      // outside the team's groups deleted here (the platform holds the new ones).
      expect(p.changes.map((c) => `${c.address}: ${c.action}`)).toEqual([
        "azurerm_key_vault_secret.secret_registry_splitweb_password: replace",
        "azurerm_key_vault_secret.secret_registry_splitweb_user: replace",
        "azurerm_container_registry_task_schedule_run_now.first_run_splitweb_catalog: replace",
        "azurerm_container_registry_task_schedule_run_now.first_run_splitweb_storefront: replace",
        "azurerm_role_assignment.deploy_catalog_aci_splitweb_catalog: replace",
        "azurerm_role_assignment.deploy_storefront_aci_splitweb_storefront: replace",
        "azurerm_role_assignment.identity_operator_catalog_aci_splitweb_catalog: replace",
        "time_sleep.grants_propagation: replace",
        "azurerm_container_registry.registry_splitweb: update",
        "azurerm_container_registry_task.task_splitweb_catalog: update",
        "azurerm_container_registry_task.task_splitweb_storefront: update",
        "azurerm_key_vault.key_vault_splitweb_kv: create",
        "azurerm_key_vault_access_policy.kv_policy_splitweb_kv_deployer: create",
        "azurerm_key_vault_access_policy.kv_policy_splitweb_kv_splitweb_tasks: create",
        "terraform_data.environment: create",
        "azurerm_key_vault_access_policy.kv_policy_split_task_creds_splitweb_catalog: delete",
        "azurerm_key_vault_access_policy.kv_policy_split_task_creds_splitweb_storefront: delete",
      ]);
    });
  });

  // State containers per environment (help/operations.md): a team's read of the platform moves from
  // `tfstate` to `tfstate-<environment>` with the blob unchanged. Once the platform's state is
  // migrated there (the documented step before any team plans), the read returns the same outputs;
  // the diff said REPLACE DURABLE for the team's secrets, and --fail-on-durable blocked the move.
  describe("a team's read of the platform state moved to its environment's container", () => {
    const teamStack = (config: object) =>
      stack(
        {
          azurerm_key_vault_secret: {
            s: { name: "s", key_vault_id: "${data.terraform_remote_state.platform.outputs.key_vault_id}", value: "${var.v}" },
          },
        },
        { terraform_remote_state: { platform: { backend: "azurerm", config } } },
      );
    const where = { container_name: "tfstate", key: "acr-gate-dev.tfstate", resource_group_name: "tfstate-rg", storage_account_name: "st", use_azuread_auth: true };

    test("tfstate -> tfstate-dev, blob acr-gate-dev.tfstate: the same state once migrated; nothing that references it changes, and the note says to migrate first", () => {
      const p = previewReplacements(teamStack(where), teamStack({ ...where, container_name: "tfstate-dev" }));
      expect(p.changes).toEqual([]);
      expect(p.dataSources).toEqual([
        {
          address: "data.terraform_remote_state.platform",
          reason:
            "config changed (config.container_name): the platform state moved to its environment's container (tfstate -> tfstate-dev, blob acr-gate-dev.tfstate): the same state once migrated, its results do not change; migrate it (terraform init -migrate-state) before this stack's plan",
        },
      ]);
    });

    test.each([
      ["another environment's container", { container_name: "tfstate-prod" }, "config changed (config.container_name)"],
      ["from one environment's container to another's", { container_name: "tfstate-prod" }, "config changed (config.container_name)", "tfstate-dev"],
      ["the environment's container but another blob", { container_name: "tfstate-dev", key: "acr-gate-prod.tfstate" }, "config changed (config.container_name)"],
      ["a container that only starts like the old one", { container_name: "tfstate-devx" }, "config changed (config.container_name)"],
      ["another storage account with it", { container_name: "tfstate-dev", storage_account_name: "st2" }, "config changed (config.storage_account_name)"],
    ])("%s: a different state, so the secret's ForceNew key_vault_id replaces it (durable)", (_label, change, reason, from = "tfstate") => {
      const p = previewReplacements(teamStack({ ...where, container_name: from }), teamStack({ ...where, ...change }));
      expect(p.dataSources).toEqual([{ address: "data.terraform_remote_state.platform", reason }]);
      expect(p.changes.map((c) => [c.address, c.action, c.durable])).toEqual([["azurerm_key_vault_secret.s", "replace", true]]);
    });

    test("examples/split.yaml on azurerm with environment: dev, before and after: no stack changes any resource", () => {
      const yaml = `${fs.readFileSync(path.join(repo, "examples", "split.yaml"), "utf8")}environment: dev\nbackend: { type: azurerm, resourceGroupName: tfstate-rg, storageAccountName: splittfstate }\n`;
      const now = synthesizeInMemory(parseConfig(yaml));
      for (const [name, tf] of now) {
        // Before: the same JSON with the containers of the release before (no environment in them).
        const old = JSON.parse(JSON.stringify(tf).replace(/"container_name":"tfstate-dev(-[a-z0-9]+)?"/g, '"container_name":"tfstate$1"'));
        expect(JSON.stringify(old)).not.toContain("tfstate-dev");
        const p = previewReplacements(old, tf);
        expect({ name, changes: p.changes }).toEqual({ name, changes: [] });
        expect(p.dataSources.map((d) => d.address)).toEqual(name === "acr-gate" ? [] : ["data.terraform_remote_state.platform"]);
        // The stack's own state moves: the note says how to answer the next init.
        const [from, to] = [old, tf].map((j: any) => j.terraform.backend.azurerm.container_name);
        expect(p.notes).toContain(
          `backend: the state moves (azurerm: container_name ${JSON.stringify(from)} -> ${JSON.stringify(to)}): run terraform init -migrate-state before any plan, never -reconfigure, which leaves the state behind and plans to create every resource (help/operations.md, "State containers per environment")`,
        );
      }
    });

    test("a backend that only signs in otherwise: the same state, -reconfigure; an unchanged backend: no note", () => {
      const b = { container_name: "tfstate", key: "k.tfstate", resource_group_name: "rg", storage_account_name: "st" };
      const withBackend = (backend: object) => ({ ...(teamStack(where) as any), terraform: { backend: { azurerm: backend } } });
      expect(previewReplacements(withBackend(b), withBackend({ ...b, use_azuread_auth: true })).notes).toContain(
        'backend: only how it signs in changed (use_azuread_auth null -> true): the same state; its next terraform init needs -reconfigure',
      );
      expect(previewReplacements(withBackend(b), withBackend(b)).notes.filter((n) => n.startsWith("backend:"))).toEqual([]);
      expect(previewReplacements(withBackend(b), withBackend({ ...b, key: "other.tfstate" })).notes.filter((n) => n.startsWith("backend:"))).toEqual([
        'backend: the state moves (azurerm: key "k.tfstate" -> "other.tfstate"): run terraform init -migrate-state before any plan, never -reconfigure, which leaves the state behind and plans to create every resource (help/operations.md, "State containers per environment")',
      ]);
    });
  });

  // help/versions.md step 4: the 4.55.0 stack's one deployer policy (no for_each) moves into the
  // first named deployer's instance; Terraform plans per instance, and so does the preview now (it
  // listed the resource as one replacement and no create for the other keys).
  test.each([
    ["the first named", "  - { name: alice, objectId: 11111111-1111-1111-1111-111111111111 }\n", "alice"],
    ["the first named, renamed at once (a chain of moves)", "  - { name: alice_admin, objectId: 11111111-1111-1111-1111-111111111111, renamedFrom: alice }\n", "alice_admin"],
  ])("a policy from before named deployers moved into an instance (%s): that instance and a create per other key", (_label, first, key) => {
    const fixture = path.join(__dirname, "fixtures", "azurerm-4.55.0", "default", "acr-gate", "cdk.tf.json");
    const old = JSON.parse(fs.readFileSync(fixture, "utf8"));
    const now = synth(parseConfig(`${DEFAULT_CONFIG_YAML}deployers:\n${first}  - { name: ci, objectId: 22222222-2222-2222-2222-222222222222 }\n`)).tf;
    const at = "azurerm_key_vault_access_policy.kv_policy_acr_task_credentials_deployer";
    const p = previewReplacements(old, now);
    expect(p.changes.filter((c) => c.address.startsWith(at)).map((c) => [c.address, c.action, c.reasons[0]])).toEqual([
      // object_id: the applier's id before, a literal now; the preview cannot compare them (ForceNew).
      [`${at}["${key}"]`, "replace", `for_each added: the existing instance moves to ["${key}"] (moved block${key === "alice" ? "" : "s"}), every other key is created`],
      [`${at}["ci"]`, "create", "key \"ci\" of var.deployers: created with the for_each"],
    ]);
  });

  test.each([
    ["the same object id: nothing changes", "A", []],
    ["another object id: that instance replaced (object_id is ForceNew)", "B", [['azurerm_key_vault_access_policy.p["alice"]', "replace"]]],
  ])("a single policy moved into an instance reads each.value from the variable's literal default: %s", (_label, id, expected) => {
    const policy = (objectId: string, extra: object = {}) => ({ key_vault_id: "/v", tenant_id: "t", object_id: objectId, ...extra });
    const before = stack({ azurerm_key_vault_access_policy: { p: policy("A") } });
    const after = {
      ...stack({ azurerm_key_vault_access_policy: { p: policy("${each.value}", { for_each: "${var.deployers}" }) } }),
      variable: { deployers: { type: "map(string)", default: { alice: id } } },
      moved: [{ from: "azurerm_key_vault_access_policy.p", to: 'azurerm_key_vault_access_policy.p["alice"]' }],
    };
    expect(previewReplacements(before, after).changes.map((c) => [c.address, c.action])).toEqual(expected);
  });

  test("create, delete, and a rename with a `moved` block (neither)", () => {
    const before = stack({ azurerm_resource_group: { a: rg("a"), old: rg("o") } });
    const after = {
      ...stack({ azurerm_resource_group: { b: rg("b"), renamed: rg("o") } }),
      moved: [{ from: "azurerm_resource_group.old", to: "azurerm_resource_group.renamed" }],
    };
    expect(actions(previewReplacements(before, after))).toEqual({
      "azurerm_resource_group.b": "create",
      "azurerm_resource_group.a": "delete",
    });
  });

  test("a type missing from app/forcenew.json is UNKNOWN, loudly, never an update", () => {
    const w = (size: number) => stack({ azurerm_imaginary_widget: { w: { name: "w", size } } });
    const p = previewReplacements(w(1), w(2));
    expect(change(p, "azurerm_imaginary_widget.w")!.action).toBe("unknown");
    expect(p.counts).toMatchObject({ update: 0, unknown: 1 });
    expect(p.unknownTypes).toEqual(["azurerm_imaginary_widget"]);
    const text = renderText(p, "a", "b");
    expect(text).toMatch(/^WARNING: resource types not in app\/forcenew\.json: azurerm_imaginary_widget/m);
    expect(text).toMatch(/^UNKNOWN type changed/m);
  });
});

describe("the text (renderText) lists every changed attribute", () => {
  // Until issue 26 an update printed its first reason and "(+N more)", a replacement its first alone.
  test("an update with six changes: the decisive one on the resource's line, the other five after it in text order", () => {
    const tags = (v: string) => Object.fromEntries(["e", "b", "d", "a", "c"].map((k) => [k, `${k}${v}`]));
    const p = previewReplacements(
      stack({ azurerm_container_registry: { r: registry("rg", { tags: tags("1"), admin_enabled: false }) } }),
      stack({ azurerm_container_registry: { r: registry("rg", { tags: tags("2"), admin_enabled: true }) } }),
    );
    expect(change(p, "azurerm_container_registry.r")!.reasons).toHaveLength(6);
    const text = renderText(p, "a", "b");
    expect(text).toContain(
      [
        "Update in place (1)",
        '  azurerm_container_registry.r [DURABLE]: tags.e changed ("e1" -> "e2")',
        "      also admin_enabled changed (false -> true)",
        '      also tags.a changed ("a1" -> "a2")',
        '      also tags.b changed ("b1" -> "b2")',
        '      also tags.c changed ("c1" -> "c2")',
        '      also tags.d changed ("d1" -> "d2")',
        "Create (0)",
      ].join("\n"),
    );
    for (const r of change(p, "azurerm_container_registry.r")!.reasons) expect(text).toContain(r);
    expect(text).not.toMatch(/more\)/);
  });

  test("a replacement: because the deciding change, then every other change, forcing or not", () => {
    const kv = (name: string, location: string, team: string) =>
      stack({ azurerm_key_vault: { kv: { name, location, resource_group_name: "rg", sku_name: "standard", tags: { team } } } });
    const text = renderText(previewReplacements(kv("kv-a", "eastus", "x"), kv("kv-b", "westus", "y")), "a", "b");
    expect(text).toContain(
      [
        "REPLACE DURABLE (1)",
        "  azurerm_key_vault.kv",
        '      because name changed ("kv-a" -> "kv-b"): forces replacement',
        '      also location changed ("eastus" -> "westus"): forces replacement',
        '      also tags.team changed ("x" -> "y")',
        "Replace (0)",
      ].join("\n"),
    );
  });
});

describe("durableAddresses", () => {
  test("durable types, groups holding a registry or vault (by reference or literal name) or under a lock; nothing else", () => {
    const tf = stack(
      {
        azurerm_resource_group: { by_ref: rg("a-rg"), by_name: rg("b-rg"), locked: rg("c-rg"), apps: rg("apps-rg") },
        azurerm_container_registry: { r: registry("${azurerm_resource_group.by_ref.name}") },
        azurerm_key_vault: { kv: { name: "kv", location: "eastus", resource_group_name: "b-rg", sku_name: "standard" } },
        azurerm_management_lock: { l: { name: "l", lock_level: "CanNotDelete", scope: "${azurerm_resource_group.locked.id}" } },
        azurerm_container_group: { g: { name: "g", resource_group_name: "${azurerm_resource_group.apps.name}" } },
        azurerm_container_registry_token: { t: { name: "t" } },
        azurerm_container_registry_scope_map: { m: { name: "m" } },
        azurerm_key_vault_secret: { s: { name: "s" } },
        time_static: { ts: {} },
      },
      { azurerm_resource_group: { existing: { name: "x" } } }
    );
    expect(durableAddresses(tf)).toEqual([
      "azurerm_container_registry.r",
      "azurerm_container_registry_scope_map.m",
      "azurerm_container_registry_token.t",
      "azurerm_key_vault.kv",
      "azurerm_key_vault_secret.s",
      "azurerm_management_lock.l",
      "azurerm_resource_group.by_name",
      "azurerm_resource_group.by_ref",
      "azurerm_resource_group.locked",
    ]);
  });

  test("in the default stack: every registry, the vault and their locked groups, not the app's group", () => {
    const d = durableAddresses(synth().tf);
    expect(d).toEqual(
      expect.arrayContaining([
        "azurerm_key_vault.key_vault_acr_task_credentials",
        "azurerm_resource_group.rg_contoso_rg",
        "azurerm_resource_group.rg_acr_task_credentials_rg",
      ])
    );
    expect(d).not.toContain("azurerm_resource_group.rg_hello_world_aci_rg");
    expect(d).not.toContain("azurerm_container_group.container_group_hello_world_aci");
  });
});

describe("two real synths", () => {
  const defaults = synth().tf;
  const port8080 = synth(
    parseConfig(DEFAULT_CONFIG_YAML.replace("      name: hello-world-aci\n", "      name: hello-world-aci\n      port: 8080\n"))
  ).tf;

  test("the same config twice: nothing to do", () => {
    const p = previewReplacements(defaults, synth().tf);
    expect(p.changes).toEqual([]);
    expect(p.unknownTypes).toEqual([]);
  });

  test("aci.port 8080: the container group is replaced via exposed_port, nothing durable is replaced", () => {
    expect(JSON.stringify(port8080)).toContain('"port":8080'); // the override took
    const p = previewReplacements(defaults, port8080);
    const group = change(p, "azurerm_container_group.container_group_hello_world_aci")!;
    expect(group.action).toBe("replace");
    // container.ports changes too, but `container` is in ignore_changes (help/coexistence.md).
    expect(group.reasons).toEqual([
      "exposed_port.port changed (80 -> 8080): forces replacement",
      "replace_triggered_by terraform_data.aci_shape_hello_world_aci: terraform_data.aci_shape_hello_world_aci updated",
    ]);
    // The custom deploy role is assigned on the group's id: it follows the group.
    expect(change(p, "azurerm_role_assignment.deploy_hello_world_aci_contoso_hello_world")!.reasons[0]).toMatch(
      /^scope references azurerm_container_group\.container_group_hello_world_aci \(replaced\)/
    );
    // The task file carries the port; the task is updated, its first run is not re-run.
    expect(change(p, "azurerm_container_registry_task.task_contoso_hello_world")!.action).toBe("update");
    expect(p.changes.filter((c) => c.durable && (c.action === "replace" || c.action === "delete"))).toEqual([]);
    expect(p.counts).toMatchObject({ replaceDurable: 0, create: 0, delete: 0, unknown: 0 });
    expect(p.unknownTypes).toEqual([]);
  });
});

describe("what Azure refuses: deletes under a lock, updates the provider refuses", () => {
  const group = { name: "contoso-rg", location: "eastus" };
  const lock = (extra: object = {}) => ({
    name: "contoso-rg-no-delete",
    lock_level: "CanNotDelete",
    scope: "${azurerm_resource_group.rg.id}",
    ...extra,
  });
  const reg = registry("${azurerm_resource_group.rg.name}");
  const task = { name: "t", container_registry_id: "${azurerm_container_registry.r.id}", platform: { os: "Linux" } };
  const pull = { scope: "${azurerm_container_registry.r.id}", role_definition_name: "AcrPull", principal_id: "x" };
  const base = (extra: Record<string, Record<string, object>> = {}, lockBody = lock()) =>
    stack({
      azurerm_resource_group: { rg: group },
      azurerm_management_lock: { l: lockBody },
      azurerm_container_registry: { r: reg },
      ...extra,
    });

  test("a task and a role assignment on a locked group's registry: deleting them is LOCKED", () => {
    const p = previewReplacements(base({ azurerm_container_registry_task: { t: task }, azurerm_role_assignment: { a: pull } }), base());
    expect(p.changes.map((c) => [c.address, c.action, c.locked])).toEqual([
      ["azurerm_container_registry_task.t", "delete", "azurerm_management_lock.l"],
      ["azurerm_role_assignment.a", "delete", "azurerm_management_lock.l"],
    ]);
    expect(p.counts.locked).toBe(2);
    expect(renderText(p, "a", "b")).toMatch(/azurerm_container_registry_task\.t \[LOCKED by azurerm_management_lock\.l: Azure refuses the delete\]/);
  });

  test("lifting the lock in the same apply: still LOCKED unless the lock depended on the resource (then it goes first)", () => {
    const lifted = stack({ azurerm_resource_group: { rg: group }, azurerm_container_registry: { r: reg } });
    const racing = previewReplacements(base({ azurerm_container_registry_task: { t: task } }), lifted);
    expect(racing.changes.find((c) => c.address === "azurerm_container_registry_task.t")!.locked).toBe("azurerm_management_lock.l");
    const ordered = previewReplacements(
      base({ azurerm_container_registry_task: { t: task } }, lock({ depends_on: ["azurerm_container_registry_task.t"] })),
      lifted,
    );
    expect(ordered.changes.filter((c) => c.locked)).toEqual([]);
  });

  test("what a lock does not stop: access policies, token passwords, secrets, and anything outside its group", () => {
    const p = previewReplacements(
      base({
        azurerm_key_vault_access_policy: { ap: { key_vault_id: "${azurerm_key_vault.kv.id}", object_id: "o", tenant_id: "t" } },
        azurerm_key_vault: { kv: { name: "kv", location: "eastus", resource_group_name: "${azurerm_resource_group.rg.name}", sku_name: "standard", tenant_id: "t" } },
        azurerm_container_registry_task: { other: { ...task, container_registry_id: "/subscriptions/x/elsewhere" } },
      }),
      base({
        azurerm_key_vault: { kv: { name: "kv", location: "eastus", resource_group_name: "${azurerm_resource_group.rg.name}", sku_name: "standard", tenant_id: "t" } },
      }),
    );
    expect(p.changes.map((c) => [c.address, c.action, c.locked])).toEqual([
      ["azurerm_container_registry_task.other", "delete", undefined],
      ["azurerm_key_vault_access_policy.ap", "delete", undefined],
    ]);
  });

  test("a vault's soft-delete retention and purge protection: the update is REFUSED, with the way out", () => {
    const kvWith = (days: number, purge: boolean) =>
      stack({ azurerm_key_vault: { kv: { name: "kv", location: "eastus", resource_group_name: "rg", sku_name: "standard", soft_delete_retention_days: days, purge_protection_enabled: purge } } });
    const p = previewReplacements(kvWith(90, true), kvWith(30, false));
    const c = p.changes[0];
    expect(c.action).toBe("update");
    expect(c.refused).toEqual([
      expect.stringMatching(/^soft_delete_retention_days \(90 -> 30\): the provider refuses it .*cannot be modified.*keep keyVault\.softDeleteRetentionDays/),
      expect.stringMatching(/^purge_protection_enabled \(true -> false\): the provider refuses it/),
    ]);
    expect(previewReplacements(kvWith(90, true), kvWith(90, true)).changes).toEqual([]);
    expect(previewReplacements(kvWith(7, false), kvWith(7, true)).changes[0].refused).toBeUndefined(); // turning it on is fine
  });
});

describe("the compiled CLI (dist/app/diff-cli.js)", () => {
  const cli = path.join(repo, "dist", "app", "diff-cli.js");
  const run = (args: string[], cwd = repo) =>
    spawnSync(process.execPath, [cli, ...args], { cwd, env: { PATH: process.env.PATH ?? "" }, encoding: "utf8" });
  const write = (name: string, tf: object | string) => {
    const f = path.join(tmp, name);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, typeof tf === "string" ? tf : JSON.stringify(tf));
    return f;
  };
  const kv = (name: string) =>
    stack({ azurerm_key_vault: { kv: { name, location: "eastus", resource_group_name: "rg", sku_name: "standard" } } });

  beforeAll(() => expect(fs.existsSync(cli)).toBe(true));

  test("text by default, --json for machines, exit 0", () => {
    const [a, b] = [write("a.json", kv("kv-a")), write("b.json", kv("kv-b"))];
    const text = run([a, b]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^REPLACE DURABLE \(1\)\n {2}azurerm_key_vault\.kv\n {6}because name changed/m);
    expect(text.stdout).toMatch(/^Plan: 0 to add, 0 to change, 1 to replace \(1 durable\), 0 to destroy\.$/m);
    const json = run([a, b, "--json"]);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).changes[0]).toMatchObject({
      address: "azurerm_key_vault.kv",
      action: "replace",
      durable: true,
    });
  });

  test("a type missing from app/forcenew.json: a warning on stderr too, so --json users see it", () => {
    const w = (size: number) => stack({ azurerm_imaginary_widget: { w: { name: "w", size } } });
    const r = run([write("w1.json", w(1)), write("w2.json", w(2)), "--json"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(
      "acr-gate diff: WARNING: not in app/forcenew.json, changes cannot be classified: azurerm_imaginary_widget\n"
    );
    expect(JSON.parse(r.stdout).changes[0].action).toBe("unknown");
  });

  test("--fail-on-durable: exit 2 when a durable resource is replaced or deleted, 0 otherwise", () => {
    const [a, b] = [write("a.json", kv("kv-a")), write("b.json", kv("kv-b"))];
    expect(run([a, b, "--fail-on-durable"]).status).toBe(2);
    expect(run([a, write("empty.json", stack({})), "--fail-on-durable"]).status).toBe(2);
    expect(run([a, write("a-copy.json", kv("kv-a")), "--fail-on-durable"]).status).toBe(0);
  });

  test("--fail-on-refused: exit 2 when Azure would refuse a change; --rotated= with the same file twice", () => {
    const kvWith = (days: number) => stack({ azurerm_key_vault: { kv: { name: "kv", location: "eastus", resource_group_name: "rg", sku_name: "standard", soft_delete_retention_days: days } } });
    const [a, b] = [write("r90.json", kvWith(90)), write("r30.json", kvWith(30))];
    expect(run([a, b, "--fail-on-refused"]).status).toBe(2);
    expect(run([a, b]).status).toBe(0);
    expect(run([a, a]).status).toBe(1);
    const rotated = run([a, a, "--rotated=github_token"]);
    expect(rotated.status).toBe(0);
    expect(rotated.stdout).toMatch(/Plan: 0 to add, 0 to change/);
    expect(run([a, a, "--rotated=no such"]).status).toBe(1);
  });

  test("one argument: the new file is cdktf.out/stacks/<old file's directory>/cdk.tf.json", () => {
    const cwd = path.join(tmp, "project");
    fs.mkdirSync(cwd, { recursive: true });
    const old = write("saved/acr-gate/cdk.tf.json", kv("kv-a"));
    const missing = run([old], cwd);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(
      `acr-gate diff: no new file given and ${path.join(
        "cdktf.out",
        "stacks",
        "acr-gate",
        "cdk.tf.json"
      )} does not exist; run npm start first, or pass the new cdk.tf.json\n`
    );
    write("project/cdktf.out/stacks/acr-gate/cdk.tf.json", kv("kv-a"));
    const ok = run([old], cwd);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/-> cdktf.out\/stacks\/acr-gate\/cdk.tf.json\n/);
  });

  test("one argument, the old file copied anywhere (help/operations.md's /tmp/before.json): the stack its metadata names", () => {
    const cwd = path.join(tmp, "project2");
    const named = (name: string) => ({ ...(kv("kv-a") as object), "//": { metadata: { stackName: name, version: "0.21.0" } } });
    write("project2/cdktf.out/stacks/acr-gate/cdk.tf.json", named("acr-gate"));
    write("project2/cdktf.out/stacks/my-gate/cdk.tf.json", named("my-gate"));
    const r = run([write("before.json", named("my-gate"))], cwd);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^acr-gate diff: .*before\.json -> cdktf.out\/stacks\/my-gate\/cdk.tf.json\n/);
    // No stack name in it and two stacks to choose from: it says so and asks for the new file.
    const unnamed = run([write("plain.json", kv("kv-a"))], cwd);
    expect(unnamed.status).toBe(1);
    expect(unnamed.stderr).toMatch(/cannot tell which stack .*plain\.json is \(no stackName in it, 2 stacks in cdktf.out\); pass the new cdk\.tf\.json too/);
  });

  test.each([
    [
      "a missing file",
      () => [path.join(tmp, "nope.json"), path.join(tmp, "nope2.json")],
      /^acr-gate diff: .*nope\.json: no such file\n$/,
    ],
    [
      "a file that is not JSON",
      () => [write("bad.json", "{ not json"), write("ok.json", stack({}))],
      /^acr-gate diff: .*bad\.json: not JSON \(.*\)\n$/,
    ],
    [
      "JSON that is no Terraform config",
      () => [write("list.json", "[1,2]"), write("ok.json", stack({}))],
      /^acr-gate diff: .*list\.json: not a Terraform JSON config/,
    ],
    ["no argument", () => [], /^acr-gate diff: usage: npm run diff -- <old cdk\.tf\.json>/],
    ["an unknown option", () => ["--jsn", "a", "b"], /^acr-gate diff: unknown option --jsn;/],
  ])("%s: exit 1, one line, no stack trace", (_name, args, message) => {
    const r = run(args());
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("variables", () => {
  const withVar = (variable: object) => ({
    terraform: { required_providers: { azurerm: { source: "azurerm", version: "4.81.0" } } },
    variable: { token: variable },
    resource: { azurerm_key_vault_secret: { s: { name: "s", key_vault_id: "kv", value: "${var.token}" } } },
  });
  test("a new description is documentation: nothing that reads the variable changes", () => {
    const p = previewReplacements(withVar({ type: "string", sensitive: true, description: "old words" }), withVar({ type: "string", sensitive: true, description: "new words" }));
    expect(p.changes).toEqual([]);
  });
  test("a new type, nullability or default is a change of what every reference sees", () => {
    const p = previewReplacements(withVar({ type: "string" }), withVar({ type: "string", default: "x" }));
    expect(p.changes.map((c) => [c.address, c.reasons[0]])).toEqual([["azurerm_key_vault_secret.s", "value references var.token (declaration changed)"]]);
  });
});
