/**
 * The walkthrough "Task workflow to manage public registry content", step by step: each describe
 * names a section of it and asserts what its `az` commands become in the synthesized JSON.
 */
import { ContainerRegistry } from "@cdktf/provider-azurerm/lib/container-registry";
import { ResourceGroup } from "@cdktf/provider-azurerm/lib/resource-group";
import { KeyVault } from "@cdktf/provider-azurerm/lib/key-vault";
import { KeyVaultSecret } from "@cdktf/provider-azurerm/lib/key-vault-secret";
import { ContainerRegistryToken } from "@cdktf/provider-azurerm/lib/container-registry-token";
import { ContainerRegistryScopeMap } from "@cdktf/provider-azurerm/lib/container-registry-scope-map";
import { ContainerRegistryTask } from "@cdktf/provider-azurerm/lib/container-registry-task";
import { ManagementLock } from "@cdktf/provider-azurerm/lib/management-lock";
import { KeyVaultAccessPolicyA } from "@cdktf/provider-azurerm/lib/key-vault-access-policy";
import * as YAML from "yaml";
import { DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import { decodeTask, resources, scriptPushes, synth } from "./helpers";
import { longestRunSeconds, prerequisites, RUN_SETUP_SECONDS } from "../lib/task-yaml";
import { promotingSteps, validatingSteps } from "../lib/gate-steps";

const { json, tf } = synth();
const task = (name: string) => {
  const found = Object.values(resources(tf, "azurerm_container_registry_task")).find((t: any) => t.name === name);
  if (!found) throw new Error(`no task ${name}`);
  return found as any;
};
/** A versioned secret id, guarded by the secret's revision so a rotation reaches readers in the same apply. */
const secretRef = (name: string) => {
  const a = name.replace(/-/g, "_");
  return `\${(terraform_data.secret_${a}_revision.output == null) ? "" : azurerm_key_vault_secret.secret_${a}.id}`;
};

describe("Create registries (az group create, az acr create --sku Premium)", () => {
  test.each(["publicregistry", "contoso", "contosobaseartifacts"])("%s is Premium with secure defaults", (name) => {
    expect(json).toHaveResourceWithProperties(ContainerRegistry, {
      name,
      sku: "Premium",
      admin_enabled: false,
      anonymous_pull_enabled: false,
      retention_policy_in_days: 7,
      zone_redundancy_enabled: true,
      data_endpoint_enabled: true,
      resource_group_name: `\${azurerm_resource_group.rg_${name}_rg.name}`,
      lifecycle: { prevent_destroy: true },
    });
  });

  test("each registry and the vault sit in a resource group of their own, locked CanNotDelete", () => {
    for (const rg of ["publicregistry-rg", "contoso-rg", "contosobaseartifacts-rg", "acr-task-credentials-rg"]) {
      expect(json).toHaveResourceWithProperties(ResourceGroup, { name: rg, location: "eastus" });
      expect(json).toHaveResourceWithProperties(ManagementLock, {
        lock_level: "CanNotDelete",
        scope: `\${azurerm_resource_group.rg_${rg.replace(/-/g, "_")}.id}`,
      });
    }
    expect(Object.keys(resources(tf, "azurerm_management_lock"))).toHaveLength(4);
  });

  test("the ACI resource group exists and is not locked (it holds nothing durable)", () => {
    expect(json).toHaveResourceWithProperties(ResourceGroup, { name: "hello-world-aci-rg" });
    const locks = Object.values(resources(tf, "azurerm_management_lock")).map((l: any) => l.scope);
    expect(locks).not.toContain("${azurerm_resource_group.rg_hello_world_aci_rg.id}");
  });
});

describe("Create key vault secrets (az keyvault secret set --name github-token)", () => {
  test("the vault is in access-policy mode with soft delete and purge protection", () => {
    expect(json).toHaveResourceWithProperties(KeyVault, {
      name: "acr-task-credentials",
      rbac_authorization_enabled: false,
      purge_protection_enabled: true,
      soft_delete_retention_days: 90,
      lifecycle: { prevent_destroy: true },
    });
    expect(resources(tf, "azurerm_key_vault").key_vault_acr_task_credentials.access_policy).toBeUndefined();
  });

  test("github-token comes from a sensitive variable with no default", () => {
    expect(json).toHaveResourceWithProperties(KeyVaultSecret, { name: "github-token", value: "${var.github_token}" });
    expect(tf.variable.github_token).toEqual(expect.objectContaining({ sensitive: true, nullable: false }));
    expect(tf.variable.github_token.default).toBeUndefined();
  });
});

describe("Create token for pull access to simulated public registry (--scope-map _repositories_pull)", () => {
  test("the token references the built-in scope map, which is not created", () => {
    expect(json).toHaveResourceWithProperties(ContainerRegistryToken, {
      name: "registry-publicregistry-user",
      scope_map_id: "${azurerm_container_registry.registry_publicregistry.id}/scopeMaps/_repositories_pull",
    });
    const maps = Object.values(resources(tf, "azurerm_container_registry_scope_map")).map((m: any) => m.name);
    expect(maps.some((m) => m.startsWith("_"))).toBe(false);
  });

  test("user and password are stored as registry-publicregistry-user/-password, expiring with the password", () => {
    expect(json).toHaveResourceWithProperties(KeyVaultSecret, {
      name: "registry-publicregistry-user",
      value: "registry-publicregistry-user",
    });
    expect(json).toHaveResourceWithProperties(KeyVaultSecret, {
      name: "registry-publicregistry-password",
      value: "${azurerm_container_registry_token_password.token_password_publicregistry_registry_publicregistry_user.password1[0].value}",
      expiration_date: '${timeadd(time_static.token_created_publicregistry_registry_publicregistry_user.rfc3339, "8760h")}',
    });
  });

  test("the password expires a year after a fixed start, not timestamp()", () => {
    const pw = resources(tf, "azurerm_container_registry_token_password").token_password_publicregistry_registry_publicregistry_user;
    expect(pw.password1.expiry).toBe('${timeadd(time_static.token_created_publicregistry_registry_publicregistry_user.rfc3339, "8760h")}');
    expect(json).not.toContain("timestamp()");
  });
});

describe("Create token for pull access by Azure Container Instances (--repository hello-world content/read)", () => {
  test("contoso's token may read hello-world only", () => {
    expect(json).toHaveResourceWithProperties(ContainerRegistryScopeMap, {
      name: "registry-contoso-user-scope-map",
      actions: ["repositories/hello-world/content/read"],
    });
    expect(json).toHaveResourceWithProperties(ContainerRegistryToken, {
      name: "registry-contoso-user",
      scope_map_id: "${azurerm_container_registry_scope_map.scope_map_contoso_registry_contoso_user.id}",
    });
  });

  test("base artifacts' token may read node only (the gated follow-up)", () => {
    expect(json).toHaveResourceWithProperties(ContainerRegistryScopeMap, {
      name: "registry-contosobaseartifacts-user-scope-map",
      actions: ["repositories/node/content/read"],
    });
  });
});

describe("Create task to build and maintain hello-world image (az acr task create)", () => {
  const hw = task("hello-world");

  test("runs in contoso on Linux with a system-assigned identity", () => {
    expect(hw.container_registry_id).toBe("${azurerm_container_registry.registry_contoso.id}");
    expect(hw.platform).toEqual({ os: "Linux", architecture: "amd64" });
    expect(hw.identity).toEqual({ type: "SystemAssigned" });
  });

  test("--context and --git-access-token: the hello-world repository with the sensitive token", () => {
    expect(hw.encoded_step.context_path).toBe("https://github.com/importing-public-content/hello-world.git#main");
    expect(hw.encoded_step.context_access_token).toBe("${var.github_token}");
  });

  test("--set REGISTRY_FROM_URL, KEYVAULT, ACI, ACI_RG (built FROM the gated base artifacts)", () => {
    expect(hw.encoded_step.values).toEqual(
      expect.objectContaining({
        REGISTRY_FROM_URL: "contosobaseartifacts.azurecr.io/",
        KEYVAULT: "acr-task-credentials",
        ACI: "hello-world-aci",
        ACI_RG: "hello-world-aci-rg",
      }),
    );
  });

  test("both triggers az acr task create turns on by default are explicit", () => {
    expect(hw.base_image_trigger).toEqual({ name: "defaultBaseimageTriggerName", type: "Runtime", enabled: true });
    expect(hw.source_trigger).toEqual([
      expect.objectContaining({
        events: ["commit"],
        repository_url: "https://github.com/importing-public-content/hello-world.git",
        branch: "main",
        source_type: "Github",
        authentication: { token_type: "PAT", token: "${var.github_token}" },
      }),
    ]);
  });

  test("the task file builds, pushes, logs in and deploys with every flag current az needs", () => {
    const def = decodeTask(hw);
    expect(def.steps.map((s) => s.id)).toEqual(["build-app", "push-app", "az-login", "deploy-aci"]);
    const deploy = def.steps.find((s) => s.id === "deploy-aci") as { cmd: string };
    for (const flag of ["--os-type Linux", "--cpu 1", "--memory 1.5", "--ports 80", "--ip-address Public", "--dns-name-label {{.Values.ACI_DNS_LABEL}}"]) {
      expect(deploy.cmd).toContain(flag);
    }
    // The label is the group's own, whatever it is (a Terraform expression by default).
    expect(hw.encoded_step.values.ACI_DNS_LABEL).toBe(resources(tf, "azurerm_container_group").container_group_hello_world_aci.dns_name_label);
    expect(deploy.cmd).toContain("--image {{.Run.Registry}}/hello-world:{{.Run.ID}}");
    expect([...prerequisites(def, "deploy-aci")].sort()).toEqual(["az-login", "build-app", "push-app"]);
  });
});

describe("Add credentials to the task (az acr task credential add --use-identity [system])", () => {
  test("hello-world reads base artifacts with versioned secret ids and the system identity", () => {
    expect(task("hello-world").registry_credential.custom).toEqual([
      {
        login_server: "contosobaseartifacts.azurecr.io",
        username: secretRef("registry-contosobaseartifacts-user"),
        password: secretRef("registry-contosobaseartifacts-password"),
        identity: "[system]",
      },
    ]);
  });

  test("the gate reads the simulated public registry the same way", () => {
    expect(task("base-import-node").registry_credential.custom).toEqual([
      {
        login_server: "publicregistry.azurecr.io",
        username: secretRef("registry-publicregistry-user"),
        password: secretRef("registry-publicregistry-password"),
        identity: "[system]",
      },
    ]);
  });

  test("no credential uses a versionless vault URL (azurerm would send it as the literal user name)", () => {
    expect(json).not.toMatch(/"(username|password)": "https:\/\/[^"]*vault\.azure\.net\/secrets\/[^"/]*"/);
  });
});

describe("Grant the task access to read values from the key vault (az keyvault set-policy --secret-permissions get)", () => {
  test("each task that reads secrets gets Get on secrets and nothing else", () => {
    for (const t of ["hello-world", "base-import-node"]) {
      const logical = Object.entries(resources(tf, "azurerm_container_registry_task")).find(([, v]: any) => v.name === t)![0];
      expect(json).toHaveResourceWithProperties(KeyVaultAccessPolicyA, {
        object_id: `\${azurerm_container_registry_task.${logical}.identity[0].principal_id}`,
        secret_permissions: ["Get"],
      });
    }
  });

  test("policies are separate resources only, never inline on the vault", () => {
    expect(Object.keys(resources(tf, "azurerm_key_vault_access_policy")).length).toBe(3); // 2 tasks + deployer
  });
});

describe("Grant the task access to create and manage Azure Container Instances (instead of --role owner)", () => {
  test("a custom role with containerGroups read/write is assigned on the container group only", () => {
    const role = resources(tf, "azurerm_role_definition").deploy_role_hello_world_aci;
    expect(role.permissions).toEqual([
      { actions: ["Microsoft.ContainerInstance/containerGroups/read", "Microsoft.ContainerInstance/containerGroups/write"] },
    ]);
    const ra = resources(tf, "azurerm_role_assignment").deploy_hello_world_aci_contoso_hello_world;
    expect(ra.scope).toBe("${azurerm_container_group.container_group_hello_world_aci.id}");
    expect(ra.role_definition_id).toBe("${azurerm_role_definition.deploy_role_hello_world_aci.role_definition_resource_id}");
    expect(json).not.toMatch(/"role_definition_name": "(Owner|Contributor)"/);
  });
});

describe("Run the task (az acr task run): first runs, upstream first, after the grants", () => {
  const runs = resources(tf, "azurerm_container_registry_task_schedule_run_now");

  test("one first run per task, each after the grants have propagated", () => {
    expect(Object.keys(runs).sort()).toEqual([
      "first_run_contoso_hello_world",
      "first_run_contosobaseartifacts_base_import_node",
      "first_run_publicregistry_node_public",
    ]);
    for (const r of Object.values(runs) as any[]) expect(r.depends_on).toContain("time_sleep.grants_propagation");
    const sleep = resources(tf, "time_sleep").grants_propagation;
    expect(sleep.depends_on).toEqual(
      expect.arrayContaining([
        "azurerm_key_vault_access_policy.kv_policy_acr_task_credentials_contoso_hello_world",
        "azurerm_role_assignment.deploy_hello_world_aci_contoso_hello_world",
        "azurerm_key_vault_secret.secret_registry_contoso_password",
      ]),
    );
  });

  test("Terraform waits for each run as long as Azure lets it go on, plus the queue; no step is cut short by its task's timeout", () => {
    const tasks = resources(tf, "azurerm_container_registry_task");
    for (const [name, r] of Object.entries<any>(runs)) {
      const task = tasks[r.container_registry_task_id.match(/azurerm_container_registry_task\.([a-z0-9_]+)\.id/)[1]];
      // "<minutes>m": the task's timeout, rounded up, and 30 minutes in the queue.
      expect({ name, create: r.timeouts.create }).toEqual({ name, create: `${Math.ceil(task.timeout_in_seconds / 60) + 30}m` });
      if (task.encoded_step) expect(task.timeout_in_seconds).toBeGreaterThanOrEqual(longestRunSeconds(decodeTask(task)) + RUN_SETUP_SECONDS);
      expect(task.timeout_in_seconds).toBeGreaterThanOrEqual(3600);
    }
    // The gate: its steps' own timeouts chain to more than an hour (pull, scan 900, test 600, ...).
    const gate = tasks.task_contosobaseartifacts_base_import_node;
    expect(gate.timeout_in_seconds).toBe(longestRunSeconds(decodeTask(gate)) + RUN_SETUP_SECONDS);
    expect(gate.timeout_in_seconds).toBeGreaterThan(3600);
  });

  test("a gate whose scan and test may each take an hour gets a task timeout that lets both finish", () => {
    const d = YAML.parse(DEFAULT_CONFIG_YAML);
    d.gatedImages[0].test.timeoutSeconds = 3600;
    d.gatedImages[0].scan.timeoutSeconds = 3600;
    const long = synth(parseConfig(YAML.stringify(d))).tf;
    const gate = resources(long, "azurerm_container_registry_task").task_contosobaseartifacts_base_import_node;
    expect(gate.timeout_in_seconds).toBeGreaterThanOrEqual(7200);
    expect(resources(long, "azurerm_container_registry_task_schedule_run_now").first_run_contosobaseartifacts_base_import_node.timeouts.create).toBe(
      `${Math.ceil(gate.timeout_in_seconds / 60) + 30}m`,
    );
  });

  test("node-public, then the gate, then hello-world (which also waits for its container group)", () => {
    expect(runs.first_run_contosobaseartifacts_base_import_node.depends_on).toContain(
      "azurerm_container_registry_task_schedule_run_now.first_run_publicregistry_node_public",
    );
    expect(runs.first_run_contoso_hello_world.depends_on).toEqual(
      expect.arrayContaining([
        "azurerm_container_registry_task_schedule_run_now.first_run_contosobaseartifacts_base_import_node",
        "azurerm_container_group.container_group_hello_world_aci",
      ]),
    );
  });
});

describe("Get the IP address of the container (az container show --query ipAddress.ip)", () => {
  test("the stack outputs the app's IP and FQDN, each registry's login server and the vault URI", () => {
    expect(tf.output.app_ip_hello_world_aci.value).toBe("${azurerm_container_group.container_group_hello_world_aci.ip_address}");
    expect(tf.output.app_fqdn_hello_world_aci.value).toBe("${azurerm_container_group.container_group_hello_world_aci.fqdn}");
    expect(tf.output.login_server_contoso.value).toBe("${azurerm_container_registry.registry_contoso.login_server}");
    expect(tf.output.key_vault_uri.value).toBe("${azurerm_key_vault.key_vault_acr_task_credentials.vault_uri}");
  });

  test("the container group serves port 80 publicly and ignores the image the task rolls out", () => {
    const g = resources(tf, "azurerm_container_group").container_group_hello_world_aci;
    expect(g.ip_address_type).toBe("Public");
    expect(g.exposed_port).toEqual([{ port: 80, protocol: "TCP" }]);
    expect(g.lifecycle.ignore_changes).toEqual(expect.arrayContaining(["container"]));
    expect(g.image_registry_credential).toEqual([
      expect.objectContaining({ server: "contoso.azurecr.io", username: "registry-contoso-user" }),
    ]);
  });
});

describe("Update the base image with a questionable change: the chain of triggers", () => {
  test("node-public builds the simulated node image on every commit to base-image-node", () => {
    const np = task("node-public");
    expect(np.file_step).toEqual(
      expect.objectContaining({
        task_file_path: "acr-task.yaml",
        context_path: "https://github.com/importing-public-content/base-image-node.git#main",
        values: { REGISTRY_FROM_URL: "docker.io/" },
      }),
    );
    expect(np.source_trigger[0].events).toEqual(["commit"]);
  });

  test("the gate and the app follow their base image, so a push upstream starts them", () => {
    expect(task("base-import-node").base_image_trigger.type).toBe("Runtime");
    expect(task("hello-world").base_image_trigger.type).toBe("Runtime");
  });
});

describe("Gated imports of public content: base-import-node", () => {
  const gate = task("base-import-node");
  const def = decodeTask(gate);

  test("pull, compare with what is promoted, scan, test, then promote the stable and the unique tag", () => {
    expect(def.steps.map((s) => s.id)).toEqual([
      "pull-source",
      "compare-promoted",
      "save-source",
      "vulnerability-scan",
      "build-test-image",
      "functional-test",
      "promote",
    ]);
    expect(gate.encoded_step.values).toEqual({ REGISTRY_FROM_URL: "publicregistry.azurecr.io/" });
    expect(gate.encoded_step.context_path).toBe("https://github.com/importing-public-content/import-baseimage-node.git#main");
  });

  test("nothing is promoted before every validation step succeeded", () => {
    const ids = def.steps.map((s) => s.id);
    expect(validatingSteps(ids)).toEqual(["functional-test", "vulnerability-scan"]);
    expect(promotingSteps(ids)).toEqual(["promote"]);
    const before = prerequisites(def, "promote");
    for (const step of ["compare-promoted", ...validatingSteps(ids)]) expect(before.has(step)).toBe(true);
    expect(scriptPushes(def.steps.find((s) => s.id === "promote"))).toEqual(["{{.Run.Registry}}/node:15-alpine-{{.Run.ID}}", "{{.Run.Registry}}/node:15-alpine"]);
  });

  test("the functional test is the sample's: build FROM the source, run the image", () => {
    const build = def.steps.find((s) => s.id === "build-test-image") as { build: string };
    expect(build.build).toContain("--build-arg REGISTRY_FROM_URL={{.Values.REGISTRY_FROM_URL}}");
    expect(build.build).toContain("-t {{.Run.Registry}}/node-import:test");
    expect((def.steps.find((s) => s.id === "functional-test") as { cmd: string }).cmd).toBe("{{.Run.Registry}}/node-import:test");
  });

  test("the default entry scans in report mode (node:15-alpine is end of life) with a pinned Trivy", () => {
    const scan = def.steps.find((s) => s.id === "vulnerability-scan") as { cmd: string };
    expect(scan.cmd).toBe(
      "ghcr.io/aquasecurity/trivy:0.58.1@sha256:ab70a02200597efa04748f210f793936eb647cbcdb0ea69cc30b226d6f5a22c7 -c " +
        "'if [ -s /acb/home/acr-gate/promoted.ref ]; then echo \"acr-gate - unchanged, vulnerability-scan not run again\"; exit 0; fi; " +
        "exec trivy image --input /acb/home/source-image.tar --scanners vuln --severity HIGH,CRITICAL --exit-code 0 --ignore-unfixed --cache-dir /acb/home/trivy-cache --no-progress'",
    );
  });

  test("an unchanged upstream is not saved or scanned again: both skip on the comparison's marker, after it", () => {
    for (const id of ["save-source", "vulnerability-scan"]) {
      expect(prerequisites(def, id).has("compare-promoted")).toBe(true);
      expect((def.steps.find((s) => s.id === id) as { cmd: string }).cmd).toContain("if [ -s /acb/home/acr-gate/promoted.ref ]; then");
    }
    // The functional test still runs (its build is what the base image trigger tracks), and only
    // after the scan: the test image, FROM the untrusted source, shares the home volume with the
    // marker and the saved tar, so it must not run while they are read.
    expect(prerequisites(def, "functional-test").has("vulnerability-scan")).toBe(true);
    expect(prerequisites(def, "build-test-image")).toEqual(new Set(["pull-source"]));
  });
});

describe("snapshot", () => {
  test("default stack", () => {
    expect(json).toMatchSnapshot();
  });
});

test("every task in the default stack is one of the walkthrough's three", () => {
  expect(json).toHaveResource(ContainerRegistryTask);
  expect(Object.values(resources(tf, "azurerm_container_registry_task")).map((t: any) => t.name).sort()).toEqual([
    "base-import-node",
    "hello-world",
    "node-public",
  ]);
});
