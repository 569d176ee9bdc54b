/**
 * `terraform test` files for synthesized stacks (help/validation.md, "Terraform's own plan:
 * `terraform test`"): Terraform's own plan and apply, on mocked providers (Terraform 1.7+), with
 * nothing from Azure. The mocks give every resource an id shaped like Azure's, since the provider's
 * validators parse the ids one resource passes to another (a random string fails them), and the
 * other computed attributes the JSON reads (login servers, principal ids, secret URLs).
 */

export const SUB = "00000000-0000-0000-0000-000000000000";
export const GUID = "11111111-2222-3333-4444-555555555555";
const RG = `/subscriptions/${SUB}/resourceGroups/rg`;
const ACR = `${RG}/providers/Microsoft.ContainerRegistry/registries/mockregistry`;
const VAULT_URL = "https://mockvault.vault.azure.net";
const VERSION = "0123456789abcdef0123456789abcdef";
export const VAULT_ID = `${RG}/providers/Microsoft.KeyVault/vaults/mockvault`;
const identity = { principal_id: GUID, tenant_id: GUID };

/** Mocked computed attributes by resource type (azurerm 4.81.0 and time 0.13.1). */
const RESOURCES: Record<string, Record<string, unknown>> = {
  azurerm_resource_group: { id: RG },
  azurerm_container_registry: { id: ACR, login_server: "mockregistry.azurecr.io", identity },
  azurerm_container_registry_task: { id: `${ACR}/tasks/mocktask`, identity },
  azurerm_container_registry_task_schedule_run_now: { id: `${ACR}/tasks/mocktask` },
  azurerm_container_registry_scope_map: { id: `${ACR}/scopeMaps/mockscope` },
  azurerm_container_registry_token: { id: `${ACR}/tokens/mocktoken` },
  azurerm_container_registry_token_password: { id: `${ACR}/tokens/mocktoken/passwords/password1` },
  azurerm_container_registry_cache_rule: { id: `${ACR}/cacheRules/mockrule` },
  azurerm_container_registry_credential_set: { id: `${ACR}/credentialSets/mockset`, identity },
  azurerm_key_vault: { id: VAULT_ID, vault_uri: `${VAULT_URL}/` },
  azurerm_key_vault_access_policy: { id: `${VAULT_ID}/objectId/${GUID}` },
  azurerm_key_vault_secret: {
    id: `${VAULT_URL}/secrets/mocksecret/${VERSION}`,
    versionless_id: `${VAULT_URL}/secrets/mocksecret`,
    version: VERSION,
    resource_id: `${VAULT_ID}/secrets/mocksecret/versions/${VERSION}`,
    resource_versionless_id: `${VAULT_ID}/secrets/mocksecret`,
  },
  azurerm_key_vault_certificate: {
    id: `${VAULT_URL}/certificates/mockcert/${VERSION}`,
    versionless_id: `${VAULT_URL}/certificates/mockcert`,
    version: VERSION,
    secret_id: `${VAULT_URL}/secrets/mockcert/${VERSION}`,
    versionless_secret_id: `${VAULT_URL}/secrets/mockcert`,
    resource_manager_id: `${VAULT_ID}/certificates/mockcert`,
    resource_manager_versionless_id: `${VAULT_ID}/certificates/mockcert`,
    thumbprint: "0123456789ABCDEF0123456789ABCDEF01234567",
  },
  azurerm_management_lock: { id: `${RG}/providers/Microsoft.Authorization/locks/mocklock` },
  azurerm_role_assignment: { id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/${GUID}`, principal_type: "ServicePrincipal" },
  azurerm_role_definition: {
    id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${GUID}|/subscriptions/${SUB}`,
    role_definition_id: GUID,
    role_definition_resource_id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${GUID}`,
  },
  azurerm_user_assigned_identity: {
    id: `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mockidentity`,
    principal_id: GUID,
    client_id: GUID,
    tenant_id: GUID,
  },
  azurerm_container_group: { id: `${RG}/providers/Microsoft.ContainerInstance/containerGroups/mockgroup`, ip_address: "10.0.0.4", fqdn: "mock.eastus.azurecontainer.io", identity },
  azurerm_log_analytics_workspace: { id: `${RG}/providers/Microsoft.OperationalInsights/workspaces/mockworkspace`, workspace_id: GUID },
  azurerm_monitor_diagnostic_setting: { id: `${VAULT_ID}|mockdiagnostics` },
};

const DATA: Record<string, Record<string, unknown>> = {
  azurerm_client_config: { client_id: GUID, tenant_id: GUID, subscription_id: SUB, object_id: GUID, id: "mockclientconfig" },
  azurerm_key_vault: { id: VAULT_ID, vault_uri: `${VAULT_URL}/`, tenant_id: GUID },
  // A split team's group, made by the platform: the id the platform's mocked group has.
  azurerm_resource_group: { id: RG },
};

const TIME: Record<string, Record<string, unknown>> = {
  time_static: { id: "2025-01-01T00:00:00Z", rfc3339: "2025-01-01T00:00:00Z", unix: 1735689600, year: 2025, month: 1, day: 1, hour: 0, minute: 0, second: 0 },
  time_sleep: { id: "2025-01-01T00:00:00Z" },
};

/**
 * An `override_data` for the provider's client config in another subscription (an override replaces
 * the mock's values whole, so every field the provider validates is given).
 */
export function clientConfigIn(subscriptionId: string, indent = "  "): string {
  const values = { ...DATA.azurerm_client_config, subscription_id: subscriptionId };
  return `${indent}override_data {\n${indent}  target = data.azurerm_client_config.current\n${indent}  values = ${hcl(values)}\n${indent}}\n`;
}

/**
 * The mocked computed attributes of a resource type (undefined for an unmocked one, such as the
 * built-in terraform_data). An imported resource needs them as an `override_resource`: mock
 * providers refuse imports ("Cannot import resources from mock providers").
 */
export function mockedValues(type: string): Record<string, unknown> | undefined {
  return RESOURCES[type] ?? TIME[type];
}

/** What a platform output, read by a team stack through `terraform_remote_state`, holds. */
export function remoteOutput(name: string): string {
  if (name === "key_vault_id") return VAULT_ID;
  if (name === "key_vault_uri") return `${VAULT_URL}/`;
  if (name.endsWith("_secret_id")) return `${VAULT_URL}/secrets/mocksecret/${VERSION}`;
  if (name.endsWith("_registry_id")) return ACR;
  // A split team's task identity (constructs/platform-stack.ts teamIdentityOutputs): the mocked identity's.
  if (/^team_\w+_identity_(client|principal)_id$/.test(name)) return GUID;
  if (/^team_\w+_identity_id$/.test(name)) return `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mockidentity`;
  if (name.startsWith("login_server_")) return "mockregistry.azurecr.io";
  throw new Error(`no mocked value for the remote state output ${name}: add one to __tests__/support/tf-test.ts`);
}

/** A value for each variable without a default (the ones a plan asks for). */
export function variableValues(tf: any, given: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries<any>(tf.variable ?? {})) {
    if (name in given) out[name] = given[name];
    else if (v.default !== undefined) continue;
    else if (name === "deployers") out[name] = { ops: GUID };
    else if (name === "subscription_id") out[name] = SUB;
    else out[name] = `mock-${name}`;
  }
  return out;
}

/** HCL of a JSON value (objects as `{ key = value }`, keys quoted). */
export function hcl(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(hcl).join(", ")}]`;
  if (v !== null && typeof v === "object") return `{ ${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)} = ${hcl(x)}`).join(", ")} }`;
  return JSON.stringify(v);
}

/**
 * The mock providers, the variables and the remote-state overrides of one stack's test file. `also`:
 * the configs other runs of the file apply (an older JSON as `before`), whose remote-state reads
 * and variables the file must serve too.
 */
export function mockHeader(tf: any, vars: Record<string, unknown> = {}, also: any[] = []): string {
  // Defaults only for what a stack's configuration leaves to the provider: OpenTofu refuses a
  // default for a block absent from the configuration (`identity`: "Cannot override block value")
  // and for an argument the configuration sets (`principal_type`: "overriding configuration values
  // is not allowed"); Terraform lets the configuration win. What every resource of a type needs is
  // a default; what only some need, an `override_resource` of each of those (the whole mock).
  const needs = (d: Record<string, unknown>, r: any) => Object.keys(d).filter((k) => k === "id" || (k === "identity" ? r.identity !== undefined : r[k] === undefined));
  const overrides: string[] = [];
  const block = (kind: string, table: Record<string, Record<string, unknown>>) =>
    Object.entries(table)
      .map(([type, d]) => {
        let defaults = d;
        if (kind === "mock_resource") {
          const rs = Object.entries<any>(Object.assign({}, ...[...also, tf].map((t) => t.resource?.[type] ?? {})));
          const common = Object.keys(d).filter((k) => rs.every(([, r]) => needs(d, r).includes(k)));
          defaults = Object.fromEntries(Object.entries(d).filter(([k]) => common.includes(k)));
          for (const [name, r] of rs) {
            const own = needs(d, r);
            if (own.length > common.length) overrides.push(`override_resource {\n  target = ${type}.${name}\n  values = ${hcl(Object.fromEntries(own.map((k) => [k, d[k]])))}\n}\n`);
          }
        }
        return `  ${kind} "${type}" {\n    defaults = ${hcl(defaults)}\n  }\n`;
      })
      .join("");
  const lines = [
    `mock_provider "azurerm" {\n${block("mock_resource", RESOURCES)}${block("mock_data", DATA)}}\n`,
    `mock_provider "time" {\n${block("mock_resource", TIME)}}\n`,
    ...overrides,
  ];
  const all = [tf, ...also];
  for (const name of [...new Set(all.flatMap((t) => Object.keys(t.data?.terraform_remote_state ?? {})))].sort()) {
    const used = [...new Set([...JSON.stringify(all).matchAll(new RegExp(`data\\.terraform_remote_state\\.${name}\\.outputs\\.([A-Za-z0-9_]+)`, "g"))].map((m) => m[1]))].sort();
    const outputs = Object.fromEntries(used.map((o) => [o, remoteOutput(o)]));
    lines.push(`override_data {\n  target = data.terraform_remote_state.${name}\n  values = { outputs = ${hcl(outputs)} }\n}\n`);
  }
  const values = Object.assign({}, ...also.map((t) => variableValues(t, vars)), variableValues(tf, vars));
  if (Object.keys(values).length) lines.push(`variables {\n${Object.entries(values).map(([k, x]) => `  ${k} = ${hcl(x)}\n`).join("")}}\n`);
  return lines.join("\n");
}

/** The suite for one stack: apply, then a plan that must change nothing (checked from -verbose -json). */
export function applyThenPlan(tf: any): string {
  return `${mockHeader(tf)}\nrun "apply" {\n  command = apply\n}\n\nrun "replan" {\n  command = plan\n}\n`;
}
