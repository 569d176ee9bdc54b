/**
 * The one escape hatch from the bindings: what the pinned azurerm accepts and
 * `@cdktf/provider-azurerm` 14.23.1 (generated from azurerm 4.55.0) does not type.
 *
 * cdktf is archived and its prebuilt bindings stop at azurerm 4.55.0, while the JSON pins a newer
 * provider (lib/provider-versions.ts). Every attribute the bindings lack is written here, typed, as a
 * cdktf override; no construct calls `addOverride` itself. When the bindings catch up (CDK Terrain's
 * `@cdktn/provider-azurerm`, help/cdk-terrain.md), each function here becomes a plain property and
 * this file goes. __tests__/versions.test.ts checks what each one writes, and CI's
 * `terraform validate` on the exact providers checks that they accept it.
 */
import type { TerraformResource, TerraformStack } from "cdktf";
import { AzurermVersion, isAzurerm5, TERRAFORM_FLOOR } from "./provider-versions";

/**
 * Pins azurerm to `version` and Terraform to the floor in `stack`'s `terraform` block. Without it
 * cdktf writes the bindings' own `4.55.0` (their generator metadata). A stack-level override is
 * applied after cdktf renders `required_providers`, so it wins on cdktf and on CDK Terrain alike.
 */
export function pinProviderVersions(stack: TerraformStack, version: AzurermVersion): void {
  stack.addOverride("terraform.required_providers.azurerm.version", version);
  stack.addOverride("terraform.required_version", TERRAFORM_FLOOR);
}

/**
 * `azurerm_container_registry.role_assignment_mode` (azurerm >= 4.81.0). Only the legacy mode is
 * offered: in `AbacRepositoryPermissions` mode `AcrPull` is not honoured and a task needs a
 * source-registry identity, which `azurerm_container_registry_task` cannot set (provider issue
 * 32122; help/versions.md). Stated explicitly so that a change of Azure's default never moves us.
 */
export type RegistryRoleAssignmentMode = "LegacyRegistryPermissions";

export function setRegistryRoleAssignmentMode(registry: TerraformResource, mode: RegistryRoleAssignmentMode): void {
  registry.addOverride("role_assignment_mode", mode);
}

/**
 * Whether each geo-replica serves requests routed by the registry's global endpoint, where the two
 * majors cannot share one attribute: 4.x writes it as the optional `regional_endpoint_enabled`
 * (which the bindings type, and which 4.x sends as false when unset: the replica then serves
 * nothing), 5.x replaced it by the required `global_endpoint_routing_enabled` (sent to the same API
 * field, regionEndpointEnabled). 4.x rejects the 5.x attribute and 5.x the 4.x one, so the config's
 * `azurermVersion` chooses (help/versions.md). Call after the construct has set
 * `regional_endpoint_enabled` through the bindings; on 5.x this moves the value to the new name.
 */
export function setReplicaRouting(registry: TerraformResource, replicas: number, version: AzurermVersion, serve: boolean): void {
  if (!isAzurerm5(version)) return;
  for (let i = 0; i < replicas; i++) {
    // An override of `undefined` removes the key cdktf rendered from the bindings.
    registry.addOverride(`georeplications.${i}.regional_endpoint_enabled`, undefined);
    registry.addOverride(`georeplications.${i}.global_endpoint_routing_enabled`, serve);
  }
}

/**
 * `azurerm_container_registry.network_rule_bypass_for_tasks_enabled` (azurerm >= 4.81.0, in 5.x
 * unchanged; the API's `networkRuleBypassAllowedForTasks`). Since 2025-06-01 ACR refuses a task's
 * system-assigned identity on a registry with network restrictions unless this is true
 * (help/security.md, "Private registries").
 */
export function setNetworkRuleBypassForTasks(registry: TerraformResource, enabled: boolean): void {
  registry.addOverride("network_rule_bypass_for_tasks_enabled", enabled);
}
