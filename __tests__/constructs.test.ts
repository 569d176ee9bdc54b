/** The constructs outside the acr-gate config, as help/constructs.md shows them. */
import "cdktf/lib/testing/adapters/jest";
import { Testing, TerraformOutput, TerraformStack, TerraformVariable } from "cdktf";
import { AzurermProvider } from "@cdktf/provider-azurerm/lib/provider";
import { TimeProvider } from "@cdktf/provider-time/lib/provider";
import { LockableResourceGroup } from "../constructs/resource-group";
import { Registry } from "../constructs/registry";
import { Vault } from "../constructs/key-vault";
import { GatedImport } from "../constructs/gated-import";
import { RegistryTask } from "../constructs/registry-task";
import { WorkflowPolicy } from "../app/policy";
import { pinProviderVersions } from "../lib/provider-ahead";

function build(identity: boolean) {
  const stack = new TerraformStack(Testing.app(), "mine");
  new AzurermProvider(stack, "azurerm", { features: [{}] });
  new TimeProvider(stack, "time");
  pinProviderVersions(stack, "4.81.0");
  const token = new TerraformVariable(stack, "github_token", { type: "string", sensitive: true }).stringValue;
  const rg = new LockableResourceGroup(stack, "rg", { name: "artifacts-rg", location: "westeurope", lock: "CanNotDelete" });
  const upstream = new Registry(stack, "upstream", { name: "myupstream", resourceGroupName: rg.name, location: "westeurope" });
  const base = new Registry(stack, "base", { name: "mybaseartifacts", resourceGroupName: rg.name, location: "westeurope" });
  const deployers = new TerraformVariable(stack, "deployers", { type: "map(string)" }).value;
  const vault = new Vault(stack, "vault", { name: "my-task-vault", resourceGroupName: rg.name, location: "westeurope", deployers });
  const gate = new GatedImport(stack, "python", {
    registry: base,
    source: { repository: "python", tag: "3.12-slim" },
    upstreamUrl: `${upstream.loginServerName}/`,
    scan: { failOn: "HIGH" },
    timer: "0 3 * * *",
    gitAccessToken: token,
  });
  if (identity) gate.task.pullFrom(upstream);
  else gate.task.pullFromWithSecrets(upstream.loginServerName, upstream.createPullToken("pull", { name: "gate-pull" }).storeIn(vault));
  stack.node.addValidation(new WorkflowPolicy(stack));
  return JSON.parse(Testing.synth(stack, true));
}

test.each([false, true])("the documented example synthesizes and passes the policy (identity mode: %s)", (identity) => {
  const tf = build(identity);
  const task = tf.resource.azurerm_container_registry_task.task_mybaseartifacts_base_import_python;
  // As help/constructs.md pins it: the schema the constructs write (role_assignment_mode is 4.81.0's).
  expect(tf.terraform.required_providers.azurerm.version).toBe("4.81.0");
  expect(tf.resource.azurerm_container_registry.registry_mybaseartifacts.role_assignment_mode).toBe("LegacyRegistryPermissions");
  expect(task.timer_trigger).toEqual([{ name: "timer", schedule: "0 3 * * *", enabled: true }]);
  expect(task.registry_credential.custom[0].login_server).toBe("myupstream.azurecr.io");
  expect(Object.keys(tf.resource.azurerm_key_vault_access_policy ?? {}).length).toBe(identity ? 1 : 2);
});

test("construct props are validated where they enter", () => {
  const stack = new TerraformStack(Testing.app(), "bad");
  expect(() => new Registry(stack, "r", { name: "bad-name", resourceGroupName: "x", location: "eastus" })).toThrow(
    'bad/r.name: "bad-name" is not a valid container registry name',
  );
  const base = new Registry(stack, "ok", { name: "goodname", resourceGroupName: "x", location: "eastus" });
  expect(() => base.createPullToken("t", { name: "1token" })).toThrow("is not a valid registry token name");
  expect(
    () => new GatedImport(stack, "g", { registry: base, source: { repository: "node", tag: "20" }, upstreamUrl: "docker.io/" }),
  ).toThrow("bad/g: node:20 would be promoted unvalidated: give a test, an enforcing scan, or allowUnvalidated: true");
});

test("constructs take interfaces: a registry imported from another stack hosts a gate and is pulled from", () => {
  const stack = new TerraformStack(Testing.app(), "team");
  new AzurermProvider(stack, "azurerm", { features: [{}] });
  new TimeProvider(stack, "time");
  const id = new TerraformVariable(stack, "base_id", { type: "string" }).stringValue;
  const base = Registry.fromAttributes(stack, "base", { name: "platformbase", id });
  const upstream = Registry.fromAttributes(stack, "upstream", { name: "platformupstream", id: "/subscriptions/s/resourceGroups/up-rg/providers/Microsoft.ContainerRegistry/registries/platformupstream" });
  const gate = new GatedImport(stack, "python", {
    registry: base,
    source: { repository: "python", tag: "3.12-slim" },
    upstreamUrl: `${upstream.loginServerName}/`,
    scan: { failOn: "HIGH" },
  });
  gate.task.pullFrom(upstream);
  new TerraformOutput(stack, "upstream_group", { value: upstream.resourceGroupName });
  const tf = JSON.parse(Testing.synth(stack, true));
  const task = tf.resource.azurerm_container_registry_task.task_platformbase_base_import_python;
  expect(task.container_registry_id).toBe("${var.base_id}");
  // The grant on the imported upstream is this stack's resource.
  expect(Object.values<any>(tf.resource.azurerm_role_assignment).map((r) => r.scope)).toEqual([upstream.id]);
  // An imported registry knows its resource group from its id, for what needs it (a pull token).
  expect(tf.output.upstream_group.value).toBe('${element(split("/", "/subscriptions/s/resourceGroups/up-rg/providers/Microsoft.ContainerRegistry/registries/platformupstream"), 4)}');
});

test("a task's timeout covers its steps: one below their chain, or outside ACR's limits, is refused", () => {
  const stack = new TerraformStack(Testing.app(), "timeouts");
  const registry = Registry.fromAttributes(stack, "r", { name: "timeoutsregistry", id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/timeoutsregistry" });
  const definition = (seconds: number[]) => ({
    version: "v1.1.0" as const,
    steps: seconds.map((timeout, i) => ({ id: `s${i}`, cmd: "x", when: i === 0 ? ["-"] : [`s${i - 1}`], timeout })),
  });
  const task = (id: string, seconds: number[], timeoutSeconds?: number) => new RegistryTask(stack, id, { registry, name: `task-${id}`, step: { kind: "encoded", definition: definition(seconds) }, timeoutSeconds });
  // 2 x 1800 s of steps and 300 s of setup: 3900 s, more than the default hour.
  expect(task("long", [1800, 1800]).timeoutSeconds).toBe(3900);
  expect(task("short", [60]).timeoutSeconds).toBe(3600);
  expect(() => task("below", [1800, 1800], 3600)).toThrow("timeouts/below.timeoutSeconds: 3600 must be between 300 and 28800 (ACR's limits) and at least 3900");
  expect(() => task("beyond", [20000, 20000])).toThrow("40300 must be between 300 and 28800");
});
