/**
 * The platform's calendar (help/versions.md): the JSON pins an azurerm Azure keeps serving (4.81.0,
 * Key Vault API 2026-02-01) and a Terraform floor, writes what the 14.23.1 bindings lack through one
 * escape hatch (lib/provider-ahead.ts), stays valid across the 4.x/5.x line, and a stack deployed
 * with 4.55.0 moves to the pin with `terraform init -upgrade` and nothing replaced.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import {
  AZURERM_VERSIONS,
  BINDINGS_AZURERM_VERSION,
  DEFAULT_AZURERM_VERSION,
  TERRAFORM_FLOOR,
} from "../lib/provider-versions";
import { previewReplacements } from "../app/diff-rules";
import { renderText } from "../app/diff-cli";
import { fakeState, problemsOf, synthStacks } from "./helpers";
import { requireTool } from "./support/go-render";

const repo = path.resolve(__dirname, "..");
const EXAMPLES = fs.readdirSync(path.join(repo, "examples")).filter((f) => f.endsWith(".yaml"));
const configs: [string, string][] = [
  ["default", DEFAULT_CONFIG_YAML],
  ...EXAMPLES.map((f): [string, string] => [f, fs.readFileSync(path.join(repo, "examples", f), "utf8")]),
];
const withVersion = (yaml: string, v: string) => YAML.stringify({ ...YAML.parse(yaml), azurermVersion: v });
const stacksOf = (yaml: string) => synthStacks(parseConfig(yaml));
const resourcesOf = (tf: any): [string, string, any][] =>
  Object.entries(tf.resource ?? {}).flatMap(([type, rs]) => Object.entries(rs as object).map(([n, r]): [string, string, any] => [type, n, r]));

describe("the pin: azurerm 4.81.0 and a Terraform floor in every stack", () => {
  test.each(configs)("%s", (_name, yaml) => {
    for (const s of stacksOf(yaml)) {
      expect(s.tf.terraform.required_providers.azurerm.version).toBe(DEFAULT_AZURERM_VERSION);
      expect(s.tf.terraform.required_providers.time.version).toBe("0.13.1");
      expect(s.tf.terraform.required_version).toBe(TERRAFORM_FLOOR);
    }
  });

  test("the default is the last 4.x, and the bindings' own pin never reaches the JSON", () => {
    expect(DEFAULT_AZURERM_VERSION).toBe("4.81.0");
    for (const [, yaml] of configs) {
      for (const s of stacksOf(yaml)) expect(JSON.stringify(s.tf.terraform)).not.toContain(BINDINGS_AZURERM_VERSION);
    }
  });

  test("azurermVersion takes only the versions CI proves, and the message names them", () => {
    expect(problemsOf(`${DEFAULT_CONFIG_YAML}azurermVersion: "4.55.0"\n`)).toMatch(/azurermVersion: "4\.55\.0" must be one of 4\.81\.0, 5\.2\.0/);
    expect(problemsOf(`${DEFAULT_CONFIG_YAML}azurermVersion: ">= 4.81.0"\n`)).toMatch(/azurermVersion/);
    for (const v of AZURERM_VERSIONS) {
      for (const s of stacksOf(withVersion(DEFAULT_CONFIG_YAML, v))) expect(s.tf.terraform.required_providers.azurerm.version).toBe(v);
    }
  });

  test("the floor covers every language feature the JSON uses (removed blocks, 1.7, the newest)", () => {
    // The floor itself is the Terraform the plan-and-apply suite runs on (tf-test.test.ts checks
    // it). A feature newer than the floor fails here: raise TERRAFORM_FLOOR with the tested Terraform.
    const since: Record<string, string> = { terraform_data: "1.4", check: "1.5", import: "1.5", removed: "1.7", ephemeral: "1.10", write_only: "1.11" };
    const floor = /^>= (\d+)\.(\d+)\./.exec(TERRAFORM_FLOOR)!;
    const atOrBelowFloor = (v: string) => {
      const [maj, min] = v.split(".").map(Number);
      return maj < Number(floor[1]) || (maj === Number(floor[1]) && min <= Number(floor[2]));
    };
    const used = new Set<string>();
    for (const [, yaml] of configs) {
      for (const s of stacksOf(yaml)) {
        for (const k of Object.keys(s.tf)) if (k in since) used.add(k);
        if (s.tf.resource?.terraform_data) used.add("terraform_data");
        if (/"[a-z_]+_wo"\s*:/.test(JSON.stringify(s.tf.resource))) used.add("write_only");
      }
    }
    // What the examples use today (split's removed blocks hand the team groups over).
    expect([...used].sort()).toEqual(["removed", "terraform_data"]);
    for (const f of used) expect({ feature: f, since: since[f], covered: atOrBelowFloor(since[f]) }).toEqual({ feature: f, since: since[f], covered: true });
  });
});

describe("the escape hatch (lib/provider-ahead.ts), and nothing else overrides", () => {
  test("no construct, foundation or app file but lib/provider-ahead.ts calls addOverride", () => {
    const offenders: string[] = [];
    for (const dir of ["constructs", "lib", "app"]) {
      for (const f of fs.readdirSync(path.join(repo, dir)).filter((x) => x.endsWith(".ts"))) {
        if (`${dir}/${f}` === "lib/provider-ahead.ts") continue;
        if (/\.addOverride\(/.test(fs.readFileSync(path.join(repo, dir, f), "utf8"))) offenders.push(`${dir}/${f}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  test.each(configs)("every registry states LegacyRegistryPermissions; every vault created states access policies: %s", (_n, yaml) => {
    for (const s of stacksOf(yaml)) {
      for (const [type, , r] of resourcesOf(s.tf)) {
        if (type === "azurerm_container_registry") expect(r.role_assignment_mode).toBe("LegacyRegistryPermissions");
        if (type === "azurerm_key_vault") {
          expect(r.rbac_authorization_enabled).toBe(false);
          expect(r).not.toHaveProperty("enable_rbac_authorization"); // removed in 5.x
        }
      }
    }
  });

  test("geo-replicas serve pulls on both majors: regional_endpoint_enabled on 4.x, global_endpoint_routing_enabled on 5.x", () => {
    const yaml = fs.readFileSync(path.join(repo, "examples", "multi-team.yaml"), "utf8");
    const replicas = (v: string) =>
      stacksOf(withVersion(yaml, v)).flatMap((s) =>
        resourcesOf(s.tf).flatMap(([type, , r]) => (type === "azurerm_container_registry" ? (r.georeplications ?? []) : [])),
      );
    expect(replicas("4.81.0").length).toBeGreaterThan(0);
    for (const g of replicas("4.81.0")) {
      expect(g.regional_endpoint_enabled).toBe(true);
      expect(g).not.toHaveProperty("global_endpoint_routing_enabled");
    }
    for (const g of replicas("5.2.0")) {
      expect(g.global_endpoint_routing_enabled).toBe(true);
      expect(g).not.toHaveProperty("regional_endpoint_enabled");
    }
  });
});

describe("across majors: what terraform validate cannot see", () => {
  /** The JSON for `v` with its pin put back to 4.81.0's and the one attribute that differs removed. */
  const normalized = (tf: any) => {
    const copy = JSON.parse(JSON.stringify(tf));
    copy.terraform.required_providers.azurerm.version = "<pin>";
    for (const [type, , r] of resourcesOf(copy)) {
      // The one attribute the majors name differently (lib/provider-ahead.ts setReplicaRouting).
      if (type === "azurerm_container_registry")
        for (const g of r.georeplications ?? []) {
          if ("global_endpoint_routing_enabled" in g) g.regional_endpoint_enabled = g.global_endpoint_routing_enabled;
          delete g.global_endpoint_routing_enabled;
        }
    }
    delete copy["//"];
    for (const [, , r] of resourcesOf(copy)) delete r["//"];
    return copy;
  };

  test.each(configs)("5.2.0's JSON is 4.81.0's with the pin rewritten, but for the name of a replica's routing: %s", (_n, yaml) => {
    const a = stacksOf(withVersion(yaml, "4.81.0"));
    const b = stacksOf(withVersion(yaml, "5.2.0"));
    expect(b.map((s) => s.name)).toEqual(a.map((s) => s.name));
    a.forEach((s, i) => expect(normalized(b[i].tf)).toEqual(normalized(s.tf)));
  });

  test("role assignments read a custom role's ARM id from role_definition_resource_id (5.x puts a UUID in role_definition_id)", () => {
    for (const [, yaml] of configs) {
      for (const s of stacksOf(yaml)) {
        const text = JSON.stringify(s.tf);
        expect(text).not.toMatch(/azurerm_role_definition\.[a-z0-9_]+\.role_definition_id\b/);
        for (const [type, , r] of resourcesOf(s.tf)) {
          if (type === "azurerm_role_assignment" && r.role_definition_id)
            expect(r.role_definition_id).toMatch(/^\$\{azurerm_role_definition\.[a-z0-9_]+\.role_definition_resource_id\}$/);
        }
      }
    }
  });

  test("nothing the 5.0 upgrade guide removes is written for the types we emit", () => {
    // website/docs/guides/5.0-upgrade-guide.html.markdown at v5.0.0 (help/versions.md, "What 5.x changes").
    const removed: Record<string, string[]> = {
      azurerm_key_vault: ["enable_rbac_authorization", "contact"],
      azurerm_container_registry: ["trust_policy_enabled"],
      azurerm_monitor_diagnostic_setting: ["metric"],
      azurerm_log_analytics_workspace: ["local_authentication_disabled", "internet_ingestion_enabled", "internet_query_enabled"],
    };
    for (const [, yaml] of configs) {
      for (const s of stacksOf(yaml)) {
        for (const [type, name, r] of resourcesOf(s.tf)) {
          for (const attr of removed[type] ?? []) expect([`${type}.${name}`, r[attr]]).toEqual([`${type}.${name}`, undefined]);
        }
      }
    }
  });
});

describe("upgrading a stack deployed with azurerm 4.55.0", () => {
  // The default stack as the last release before the pin moved wrote it (commit ed39a0d, azurerm 4.55.0).
  const fixture = path.join(__dirname, "fixtures", "azurerm-4.55.0", "default", "acr-gate", "cdk.tf.json");
  const old = JSON.parse(fs.readFileSync(fixture, "utf8"));
  const now = stacksOf(DEFAULT_CONFIG_YAML)[0].tf;

  test("the fixture is what it says: pinned 4.55.0, no floor, no role assignment mode", () => {
    expect(old.terraform.required_providers.azurerm.version).toBe("4.55.0");
    expect(old.terraform.required_version).toBeUndefined();
    expect(JSON.stringify(old)).not.toContain("role_assignment_mode");
  });

  test("the preview: nothing durable replaced, nothing deleted; the registries updated in place, the environment record and subscription reader added, the deployer policy keyed; the two maps agree", () => {
    const p = previewReplacements(old, now);
    expect(p.unknownTypes).toEqual([]);
    expect(p.changes.filter((c) => c.action !== "update").map((c) => [c.action, c.address, c.durable])).toEqual([
      // The gate's task file changed (promote only what changed): it runs once, and keeps the tag if nothing changed.
      ["replace", "azurerm_container_registry_task_schedule_run_now.first_run_contosobaseartifacts_base_import_node", false],
      // The one policy of whoever applied becomes one per named deployer (help/versions.md, step 4).
      ["replace", "azurerm_key_vault_access_policy.kv_policy_acr_task_credentials_deployer", false],
      // The app task's subscription reader (help/security.md), and the grants pause waiting for it.
      ["replace", "time_sleep.grants_propagation", false],
      ["create", "azurerm_role_assignment.subscription_reader_contoso_hello_world", false],
      ["create", "azurerm_role_definition.subscription_reader_role_contoso", false],
      ["create", "terraform_data.environment", false],
    ]);
    // By address, in code-unit order (lib/order.ts): "." sorts before "_".
    expect(p.changes.filter((c) => c.action === "update").map((c) => [c.address, c.reasons[0]])).toEqual([
      ...["registry_contoso", "registry_contosobaseartifacts", "registry_publicregistry"].map((n) => [`azurerm_container_registry.${n}`, "role_assignment_mode added"]),
      ["azurerm_container_registry_task.task_contosobaseartifacts_base_import_node", "encoded_step.task_content changed"],
    ]);
    expect(p.notes).toContain("azurerm moves from 4.55.0 to 4.81.0: run `terraform init -upgrade` before the plan (help/versions.md)");
    expect(p.notes).toContain("the ForceNew facts of azurerm 4.55.0 and 4.81.0 agree on every resource type in these files");
  });

  test("help/versions.md shows the preview the CLI prints for this upgrade", () => {
    const text = renderText(previewReplacements(old, now), "/tmp/before.json", "cdktf.out/stacks/acr-gate/cdk.tf.json");
    const help = fs.readFileSync(path.join(repo, "help", "versions.md"), "utf8");
    expect(help).toContain(text.trimEnd().split("\n").map((l) => `   ${l}`).join("\n"));
  });

  const mirror = [process.env.ACR_GATE_TF_MIRROR, path.join(repo, "..", "shared", "terraform-mirror")].find(
    (m) => m && fs.existsSync(path.join(m, "registry.terraform.io", "hashicorp", "azurerm", "terraform-provider-azurerm_4.81.0_linux_amd64.zip")),
  );
  const tf = spawnSync("terraform", ["version"], { encoding: "utf8" });
  const ready = requireTool(
    "terraform and a provider mirror with azurerm 4.55.0 and 4.81.0 (ACR_GATE_TF_MIRROR or ../shared/terraform-mirror)",
    !tf.error && tf.status === 0 && mirror !== undefined,
  );

  (ready ? test : test.skip)(
    "with terraform: init on 4.55.0, a state of every resource, then the new JSON needs init -upgrade, validates on 4.81.0 and keeps every address",
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-upgrade-"));
      try {
        const tfrc = path.join(dir, "mirror.tfrc");
        fs.writeFileSync(
          tfrc,
          `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(mirror)}\n    include = ["registry.terraform.io/hashicorp/*"]\n  }\n  direct { exclude = ["registry.terraform.io/hashicorp/*"] }\n}\n`,
        );
        const env = { ...process.env, TF_CLI_CONFIG_FILE: tfrc, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0" };
        delete (env as NodeJS.ProcessEnv).TF_PLUGIN_CACHE_DIR;
        delete (env as NodeJS.ProcessEnv).TF_DATA_DIR;
        const run = (...args: string[]) => spawnSync("terraform", [...args, "-no-color"], { cwd: dir, env, encoding: "utf8" });
        const stackOf = (t: any) => ({ ...t, terraform: { ...t.terraform, backend: { local: { path: "terraform.tfstate" } } } });
        const lockedAzurerm = () => /provider "registry\.terraform\.io\/hashicorp\/azurerm" \{\s+version\s+= "([^"]+)"/.exec(fs.readFileSync(path.join(dir, ".terraform.lock.hcl"), "utf8"))?.[1];

        fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(stackOf(old)));
        expect(run("init", "-input=false").status).toBe(0);
        expect(lockedAzurerm()).toBe("4.55.0");
        // A state holding every resource of the old JSON, as an apply with 4.55.0 leaves it.
        const state = fakeState(resourcesOf(old).map(([type, name]) => `${type}.${name}`), "00000000-0000-0000-0000-000000000455");
        fs.writeFileSync(path.join(dir, "terraform.tfstate"), JSON.stringify(state));
        const before = run("state", "list").stdout.trim().split("\n").sort();
        expect(before).toHaveLength(resourcesOf(old).length);

        // The new JSON: a plain init refuses the locked 4.55.0, init -upgrade takes 4.81.0.
        fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(stackOf(now)));
        const plain = run("init", "-input=false");
        expect(plain.status).not.toBe(0);
        expect(plain.stderr.replace(/\s+/g, " ")).toContain(
          "locked provider registry.terraform.io/hashicorp/azurerm 4.55.0 does not match configured version constraint 4.81.0; must use terraform init -upgrade",
        );
        const upgraded = run("init", "-upgrade", "-input=false");
        expect(upgraded.stderr).toBe("");
        expect(upgraded.status).toBe(0);
        expect(lockedAzurerm()).toBe("4.81.0");
        const v = run("validate", "-json");
        expect(JSON.parse(v.stdout)).toMatchObject({ valid: true, error_count: 0, warning_count: 0 });
        // Every address in the state is still in the new JSON: nothing is planned for deletion by address.
        const addresses = resourcesOf(now).map(([type, name]) => `${type}.${name}`).sort();
        expect(run("state", "list").stdout.trim().split("\n").sort()).toEqual(before);
        expect(before.filter((a) => !addresses.includes(a))).toEqual([]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
