/**
 * Terraform addresses of durable content, pinned. A changed address means `terraform apply`
 * destroys the old resource (a registry full of images, a vault of secrets) and creates a new one.
 * If this test fails, the change must be deliberate: add a `moved` block or state move and say so
 * in review; never just update the list.
 */
import { synth } from "./helpers";

const DURABLE = [
  "azurerm_container_registry",
  "azurerm_key_vault",
  "azurerm_key_vault_secret",
  "azurerm_resource_group",
  "azurerm_management_lock",
  "azurerm_container_registry_token",
  "azurerm_container_registry_scope_map",
];

test("durable addresses of the default workflow", () => {
  const { tf } = synth();
  const addresses = DURABLE.flatMap((type) => Object.keys(tf.resource[type] ?? {}).map((name) => `${type}.${name}`)).sort();
  expect(addresses).toEqual([
    "azurerm_container_registry.registry_contoso",
    "azurerm_container_registry.registry_contosobaseartifacts",
    "azurerm_container_registry.registry_publicregistry",
    "azurerm_container_registry_scope_map.scope_map_contoso_registry_contoso_user",
    "azurerm_container_registry_scope_map.scope_map_contosobaseartifacts_registry_contosobaseartifacts_user",
    "azurerm_container_registry_token.token_contoso_registry_contoso_user",
    "azurerm_container_registry_token.token_contosobaseartifacts_registry_contosobaseartifacts_user",
    "azurerm_container_registry_token.token_publicregistry_registry_publicregistry_user",
    "azurerm_key_vault.key_vault_acr_task_credentials",
    "azurerm_key_vault_secret.secret_github_token",
    "azurerm_key_vault_secret.secret_registry_contoso_password",
    "azurerm_key_vault_secret.secret_registry_contoso_user",
    "azurerm_key_vault_secret.secret_registry_contosobaseartifacts_password",
    "azurerm_key_vault_secret.secret_registry_contosobaseartifacts_user",
    "azurerm_key_vault_secret.secret_registry_publicregistry_password",
    "azurerm_key_vault_secret.secret_registry_publicregistry_user",
    "azurerm_management_lock.lock_acr_task_credentials_rg",
    "azurerm_management_lock.lock_contoso_rg",
    "azurerm_management_lock.lock_contosobaseartifacts_rg",
    "azurerm_management_lock.lock_publicregistry_rg",
    "azurerm_resource_group.rg_acr_task_credentials_rg",
    "azurerm_resource_group.rg_contoso_rg",
    "azurerm_resource_group.rg_contosobaseartifacts_rg",
    "azurerm_resource_group.rg_hello_world_aci_rg",
    "azurerm_resource_group.rg_publicregistry_rg",
  ]);
});

test("addresses come from Azure names, not construct ids: a team added in front moves nothing", () => {
  const { tf } = synth();
  const before = Object.keys(tf.resource.azurerm_container_registry);
  const { parseConfig, DEFAULT_CONFIG_YAML } = require("../lib/config");
  const more = parseConfig(
    DEFAULT_CONFIG_YAML.replace("teamRegistries:\n  - name: contoso\n", "teamRegistries:\n  - name: fabrikam\n  - name: contoso\n"),
  );
  const after = Object.keys(synth(more).tf.resource.azurerm_container_registry);
  expect(after).toEqual(expect.arrayContaining(before));
  expect(after).toHaveLength(before.length + 1);
});
