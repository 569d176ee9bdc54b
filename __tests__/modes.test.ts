/** The choices the walkthrough offers, and the ones real users need (many teams, many apps). */
import { KeyVault } from "@cdktf/provider-azurerm/lib/key-vault";
import { DataAzurermKeyVault } from "@cdktf/provider-azurerm/lib/data-azurerm-key-vault";
import { DEFAULT_CONFIG_YAML } from "../lib/config";
import { decodeTask, DOCKERHUB_CONFIG, resources, synth, withDefaults } from "./helpers";

const task = (tf: any, name: string) => Object.values(resources(tf, "azurerm_container_registry_task")).find((t: any) => t.name === name) as any;

describe("identity mode: tasks and the app pull with managed identities, no tokens", () => {
  const yaml = DEFAULT_CONFIG_YAML.replace("  name: publicregistry\n", "  name: publicregistry\n  taskCredential: identity\n")
    .replace("  name: contosobaseartifacts\n", "  name: contosobaseartifacts\n  taskCredential: identity\n")
    .replace("    aci:\n      name: hello-world-aci\n", "    aci:\n      name: hello-world-aci\n      pullWith: identity\n");
  const { tf, json } = synth(withDefaults(yaml));

  test("snapshot", () => {
    expect(json).toMatchSnapshot();
  });

  test("no token, no registry secret, only github-token in the vault", () => {
    expect(resources(tf, "azurerm_container_registry_token")).toEqual({});
    expect(Object.values(resources(tf, "azurerm_key_vault_secret")).map((s: any) => s.name)).toEqual(["github-token"]);
  });

  test("identity-only credentials plus AcrPull on the source registry", () => {
    expect(task(tf, "base-import-node").registry_credential.custom).toEqual([{ login_server: "publicregistry.azurecr.io", identity: "[system]" }]);
    expect(task(tf, "hello-world").registry_credential.custom).toEqual([{ login_server: "contosobaseartifacts.azurecr.io", identity: "[system]" }]);
    const pulls = Object.values(resources(tf, "azurerm_role_assignment")).filter((r: any) => r.role_definition_name === "AcrPull");
    expect(pulls.map((r: any) => r.scope).sort()).toEqual([
      "${azurerm_container_registry.registry_contoso.id}",
      "${azurerm_container_registry.registry_contosobaseartifacts.id}",
      "${azurerm_container_registry.registry_publicregistry.id}",
    ]);
  });

  test("no task gets a vault policy it does not need", () => {
    expect(Object.keys(resources(tf, "azurerm_key_vault_access_policy"))).toEqual(["kv_policy_acr_task_credentials_deployer"]);
  });

  test("the group pulls with a user-assigned identity, and the deploy command attaches the same one", () => {
    const g = resources(tf, "azurerm_container_group").container_group_hello_world_aci;
    expect(g.identity).toEqual({ type: "UserAssigned", identity_ids: ["${azurerm_user_assigned_identity.aci_identity_hello_world_aci.id}"] });
    expect(g.image_registry_credential).toEqual([
      { server: "contoso.azurecr.io", user_assigned_identity_id: "${azurerm_user_assigned_identity.aci_identity_hello_world_aci.id}" },
    ]);
    const deploy = decodeTask(task(tf, "hello-world")).steps.find((s) => s.id === "deploy-aci") as { cmd: string };
    expect(deploy.cmd).toContain("--assign-identity {{.Values.ACI_IDENTITY}} --acr-identity {{.Values.ACI_IDENTITY}}");
    expect(task(tf, "hello-world").encoded_step.values.ACI_IDENTITY).toBe("${azurerm_user_assigned_identity.aci_identity_hello_world_aci.id}");
    expect(json).toContain('"role_definition_name": "Managed Identity Operator"');
  });
});

describe("Docker Hub mode with credentials (the walkthrough's 'Building from Docker Hub')", () => {
  const { tf, json } = synth(withDefaults(DOCKERHUB_CONFIG));
  test("snapshot", () => {
    expect(json).toMatchSnapshot();
  });
  test("the gate pulls from docker.io with the Docker Hub secrets", () => {
    const gate = task(tf, "base-import-node");
    expect(gate.encoded_step.values.REGISTRY_FROM_URL).toBe("docker.io/");
    expect(gate.registry_credential.custom).toEqual([
      {
        login_server: "docker.io",
        identity: "[system]",
        username: '${(terraform_data.secret_registry_dockerhub_user_revision.output == null) ? "" : azurerm_key_vault_secret.secret_registry_dockerhub_user.id}',
        password: '${(terraform_data.secret_registry_dockerhub_password_revision.output == null) ? "" : azurerm_key_vault_secret.secret_registry_dockerhub_password.id}',
      },
    ]);
    expect(tf.variable.dockerhub_password.sensitive).toBe(true);
  });
  test("no simulated public registry is created", () => {
    expect(Object.keys(resources(tf, "azurerm_container_registry")).sort()).toEqual(["registry_contoso", "registry_contosobaseartifacts"]);
  });
});

describe("many teams, many apps: nothing assumes one of either", () => {
  const { tf } = synth(
    withDefaults(
      DEFAULT_CONFIG_YAML.replace("teamRegistries:\n  - name: contoso\n", "teamRegistries:\n  - name: contoso\n  - name: fabrikam\n") +
        [
          "  - name: catalog",
          "    registry: fabrikam",
          "    repository: https://github.com/fabrikam/catalog.git#main",
          "    baseImage: node:15-alpine",
          "  - name: orders",
          "    registry: fabrikam",
          "    repository: https://github.com/fabrikam/orders.git#main",
          "    baseImage: node:15-alpine",
          "    aci: { name: orders-aci, pullWith: identity }",
          "",
        ].join("\n"),
    ),
  );
  test("each app gets its task in its team's registry, its group, its grants and outputs", () => {
    expect(task(tf, "catalog").container_registry_id).toBe("${azurerm_container_registry.registry_fabrikam.id}");
    expect(task(tf, "orders").container_registry_id).toBe("${azurerm_container_registry.registry_fabrikam.id}");
    expect(Object.keys(resources(tf, "azurerm_container_group")).sort()).toEqual([
      "container_group_catalog_aci",
      "container_group_hello_world_aci",
      "container_group_orders_aci",
    ]);
    expect(Object.keys(tf.output)).toEqual(expect.arrayContaining(["app_ip_catalog_aci", "app_fqdn_orders_aci", "login_server_fabrikam"]));
  });
  test("fabrikam's token reads only its token-mode app", () => {
    expect(resources(tf, "azurerm_container_registry_scope_map").scope_map_fabrikam_registry_fabrikam_user.actions).toEqual([
      "repositories/catalog/content/read",
    ]);
  });
  test("all apps share the one base-artifacts registry and its gate", () => {
    for (const name of ["hello-world", "catalog", "orders"]) {
      expect(task(tf, name).encoded_step.values.REGISTRY_FROM_URL).toBe("contosobaseartifacts.azurecr.io/");
    }
  });
});

test("replicaLocations geo-replicate a registry, sorted, zone redundant like the registry, each serving pulls", () => {
  const { tf } = synth(withDefaults(DEFAULT_CONFIG_YAML.replace("  - name: contoso\n", "  - name: contoso\n    replicaLocations: [westus, centralus]\n")));
  expect(resources(tf, "azurerm_container_registry").registry_contoso.georeplications).toEqual([
    { location: "centralus", zone_redundancy_enabled: true, regional_endpoint_enabled: true, tags: { "managed-by": "acr-gate" } },
    { location: "westus", zone_redundancy_enabled: true, regional_endpoint_enabled: true, tags: { "managed-by": "acr-gate" } },
  ]);
  expect(resources(tf, "azurerm_container_registry").registry_contosobaseartifacts.georeplications).toBeUndefined();
});

test("protection.preventDestroy: false lets a sandbox tear down (no prevent_destroy on registries and the vault)", () => {
  const on = synth().tf;
  const off = synth(withDefaults(`${DEFAULT_CONFIG_YAML}protection: { locks: false, preventDestroy: false }\n`)).tf;
  for (const r of Object.values<any>(resources(on, "azurerm_container_registry"))) expect(r.lifecycle).toEqual({ prevent_destroy: true });
  for (const r of Object.values<any>(resources(off, "azurerm_container_registry"))) expect(r.lifecycle).toEqual({ prevent_destroy: false });
  expect(resources(off, "azurerm_key_vault").key_vault_acr_task_credentials.lifecycle).toEqual({ prevent_destroy: false });
  expect(resources(off, "azurerm_management_lock")).toEqual({});
});

describe("an existing vault, and backends", () => {
  test("keyVault.existing reads the vault instead of creating it, and adds no deployer policy", () => {
    const { json, tf } = synth(withDefaults(DEFAULT_CONFIG_YAML.replace("  name: acr-task-credentials\n", "  name: acr-task-credentials\n  existing: true\n  resourceGroup: shared-rg\n")));
    expect(json).not.toHaveResource(KeyVault);
    expect(json).toHaveDataSourceWithProperties(DataAzurermKeyVault, { name: "acr-task-credentials", resource_group_name: "shared-rg" });
    expect(Object.keys(resources(tf, "azurerm_key_vault_access_policy"))).not.toContain("kv_policy_acr_task_credentials_deployer");
    expect(Object.values(resources(tf, "azurerm_resource_group")).map((g: any) => g.name)).not.toContain("shared-rg");
  });
  test("azurerm remote state, one key per stack", () => {
    const { tf } = synth(
      withDefaults(DEFAULT_CONFIG_YAML + "backend: { type: azurerm, resourceGroupName: tfstate-rg, storageAccountName: acrgatestate }\n"),
    );
    expect(tf.terraform.backend).toEqual({
      azurerm: { resource_group_name: "tfstate-rg", storage_account_name: "acrgatestate", container_name: "tfstate", key: "acr-gate.tfstate", use_azuread_auth: true },
    });
    const keyAuth = synth(
      withDefaults(DEFAULT_CONFIG_YAML + "backend: { type: azurerm, resourceGroupName: tfstate-rg, storageAccountName: acrgatestate, useAzureadAuth: false }\n"),
    ).tf;
    expect(keyAuth.terraform.backend.azurerm).not.toHaveProperty("use_azuread_auth");
  });
  test("partial backend left open for terraform init -backend-config", () => {
    const { tf } = synth(withDefaults(DEFAULT_CONFIG_YAML + "backend: { type: partial }\n"));
    expect(tf.terraform.backend).toEqual({ azurerm: { use_azuread_auth: true } });
  });
  test("the subscription comes from a variable or ARM_SUBSCRIPTION_ID, never a literal", () => {
    const { tf } = synth();
    expect(tf.provider.azurerm[0].subscription_id).toBe('${var.subscription_id == "" ? null : var.subscription_id}');
    expect(tf.variable.subscription_id.default).toBe("");
  });
});
