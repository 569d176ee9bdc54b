/**
 * The rights a deployer needs to plan and apply a synthesized stack, derived from its JSON
 * (help/rights.md): each resource written gives the Azure operations its create, update, read and
 * delete call, at the scope it is written (the subscription, the resource group it lives in, the
 * vault or identity it touches), each backend and remote state the data actions on its container.
 * `__tests__/rights.test.ts` compares what every example needs with the table of help/rights.md, per
 * deployer kind, and fails when the table grants less or more.
 *
 * Operations are Azure's resource provider operation names (`az provider operation show`);
 * Key Vault secrets and certificates are data-plane rights, granted by the vault's access policy
 * (the deployer's own, constructs/key-vault.ts), written here as `KeyVault data: secrets set`.
 */
import { isObj, Obj } from "./terraform-json";

/** Where a right is needed, before it is classed for a deployer (see `classify` in the test). */
export type Scope =
  | { kind: "subscription" }
  | { kind: "resourceGroup"; name: string }
  /** A resource another stack made, read through `terraform_remote_state` (the output's name). */
  | { kind: "remote"; output: string }
  /** A state container: the stack's own backend, or a state it reads. */
  | { kind: "state"; own: boolean };

export interface Right {
  readonly action: string;
  readonly scope: Scope;
  /** The resource that needs it (address), for messages. */
  readonly for: string;
}

const CRUD = (type: string) => [`${type}/read`, `${type}/write`, `${type}/delete`];
const ACR = "Microsoft.ContainerRegistry/registries";

/**
 * Per resource type: its operations, and the attribute that says where it is written
 * (`resource_group_name`, `scope`, or the parent it is a child of).
 */
const OPERATIONS: Record<string, { actions: string[]; at: "group" | "subscription" | "scope" | { parent: string } | "none"; atSubscription?: string[] }> = {
  // Deleting a group first lists what is in it (prevent_deletion_if_contains_resources).
  azurerm_resource_group: { actions: [...CRUD("Microsoft.Resources/subscriptions/resourceGroups"), "Microsoft.Resources/subscriptions/resourceGroups/resources/read"], at: "subscription" },
  // Every read lists the replications; a create asks whether the name is free, at the subscription
  // (container_registry_resource.go: RegistriesCheckNameAvailability, replicationClient.List).
  azurerm_container_registry: { actions: [...CRUD(ACR), `${ACR}/replications/read`], at: "group", atSubscription: ["Microsoft.ContainerRegistry/checkNameAvailability/read"] },
  azurerm_container_registry_scope_map: { actions: CRUD(`${ACR}/scopeMaps`), at: "group" },
  azurerm_container_registry_token: { actions: CRUD(`${ACR}/tokens`), at: "group" },
  // A password is generated on its token (generateCredentials), read back from the token.
  azurerm_container_registry_token_password: { actions: [`${ACR}/generateCredentials/action`, `${ACR}/tokens/read`, `${ACR}/tokens/write`], at: { parent: "container_registry_token_id" } },
  azurerm_container_registry_cache_rule: { actions: CRUD(`${ACR}/cacheRules`), at: { parent: "container_registry_id" } },
  azurerm_container_registry_credential_set: { actions: CRUD(`${ACR}/credentialSets`), at: { parent: "container_registry_id" } },
  // The provider reads a task with its credentials' details (listDetails).
  azurerm_container_registry_task: { actions: [...CRUD(`${ACR}/tasks`), `${ACR}/tasks/listDetails/action`], at: { parent: "container_registry_id" } },
  azurerm_container_registry_task_schedule_run_now: { actions: [`${ACR}/scheduleRun/action`, `${ACR}/runs/read`, `${ACR}/tasks/read`], at: { parent: "container_registry_task_id" } },
  // A create first looks for a soft-deleted vault of that name to recover (the provider's
  // recover_soft_deleted_key_vaults, on by default), at the subscription.
  azurerm_key_vault: { actions: CRUD("Microsoft.KeyVault/vaults"), at: "group", atSubscription: ["Microsoft.KeyVault/locations/deletedVaults/read"] },
  azurerm_key_vault_access_policy: { actions: ["Microsoft.KeyVault/vaults/read", "Microsoft.KeyVault/vaults/accessPolicies/write"], at: { parent: "key_vault_id" } },
  // The provider finds the vault's URL by an ARM read of the vault (BaseUriForKeyVault), and
  // recovers a soft-deleted secret or certificate of the same name (recover_soft_deleted_*, on).
  azurerm_key_vault_secret: {
    actions: ["Microsoft.KeyVault/vaults/read", "KeyVault data: secrets get", "KeyVault data: secrets set", "KeyVault data: secrets delete", "KeyVault data: secrets recover"],
    at: { parent: "key_vault_id" },
  },
  azurerm_key_vault_certificate: {
    actions: ["Microsoft.KeyVault/vaults/read", "KeyVault data: certificates get", "KeyVault data: certificates create", "KeyVault data: certificates delete", "KeyVault data: certificates recover"],
    at: { parent: "key_vault_id" },
  },
  azurerm_management_lock: { actions: CRUD("Microsoft.Authorization/locks"), at: "scope" },
  azurerm_role_assignment: { actions: CRUD("Microsoft.Authorization/roleAssignments"), at: "scope" },
  azurerm_role_definition: { actions: CRUD("Microsoft.Authorization/roleDefinitions"), at: "scope" },
  azurerm_user_assigned_identity: { actions: CRUD("Microsoft.ManagedIdentity/userAssignedIdentities"), at: "group" },
  azurerm_container_group: { actions: CRUD("Microsoft.ContainerInstance/containerGroups"), at: "group" },
  azurerm_log_analytics_workspace: { actions: [...CRUD("Microsoft.OperationalInsights/workspaces"), "Microsoft.OperationalInsights/workspaces/sharedKeys/action"], at: "group" },
  azurerm_monitor_diagnostic_setting: { actions: CRUD("Microsoft.Insights/diagnosticSettings"), at: { parent: "target_resource_id" } },
  // Terraform's and the time provider's own: nothing in Azure.
  terraform_data: { actions: [], at: "none" },
  time_sleep: { actions: [], at: "none" },
  time_static: { actions: [], at: "none" },
};

export const OPERATION_TYPES = Object.keys(OPERATIONS);

const REF = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}$/;
/** A group another stack makes, read by name (a split team's, made by the platform). */
const READ_GROUP = /^\$\{data\.azurerm_resource_group\.([A-Za-z0-9_-]+)\.id\}$/;
const REMOTE = /^\$\{data\.terraform_remote_state\.[A-Za-z0-9_-]+\.outputs\.([A-Za-z0-9_]+)\}$/;

/** The rights one stack's JSON needs. Throws on a type or an expression it cannot place. */
export function rightsNeeded(tf: Obj): Right[] {
  const resources = isObj(tf.resource) ? (tf.resource as Record<string, Record<string, Obj>>) : {};
  const data = isObj(tf.data) ? (tf.data as Record<string, Record<string, Obj>>) : {};
  const body = (type: string, name: string): Obj | undefined => resources[type]?.[name];
  /** Where the resource at (type, name) lives. */
  const home = (type: string, name: string, seen: string[] = []): Scope => {
    const address = `${type}.${name}`;
    if (seen.includes(address)) throw new Error(`rights: ${[...seen, address].join(" -> ")} refer to each other`);
    const r = body(type, name);
    if (!r) throw new Error(`rights: ${address} is referenced but not in the stack`);
    if (type === "azurerm_resource_group") return { kind: "resourceGroup", name: String(r.name) };
    if (typeof r.resource_group_name === "string") return group(r.resource_group_name, address);
    const op = OPERATIONS[type];
    if (op && typeof op.at === "object") return place(r[op.at.parent], address, [...seen, address]);
    throw new Error(`rights: cannot tell where ${address} lives`);
  };
  const group = (v: string, address: string): Scope => {
    const m = REF.exec(v);
    if (m && m[1] === "azurerm_resource_group" && m[3] === "name") return home(m[1], m[2]);
    if (!v.includes("${")) return { kind: "resourceGroup", name: v };
    const remote = REMOTE.exec(v);
    if (remote) return { kind: "remote", output: remote[1] };
    throw new Error(`rights: ${address}: cannot place resource_group_name ${v}`);
  };
  /** An id or scope expression: a subscription, a reference to a resource here, or a remote output. */
  const place = (v: unknown, address: string, seen: string[] = []): Scope => {
    if (typeof v !== "string") throw new Error(`rights: ${address}: no scope`);
    if (/^\/subscriptions\/\$\{data\.azurerm_client_config\.[a-z_]+\.subscription_id\}$/.test(v)) return { kind: "subscription" };
    const remote = REMOTE.exec(v);
    if (remote) return { kind: "remote", output: remote[1] };
    const read = READ_GROUP.exec(v);
    if (read && typeof data.azurerm_resource_group?.[read[1]]?.name === "string") return { kind: "resourceGroup", name: String(data.azurerm_resource_group[read[1]].name) };
    const m = REF.exec(v);
    if (m && m[3] === "id") return home(m[1], m[2], seen);
    throw new Error(`rights: ${address}: cannot place ${v}`);
  };
  const out: Right[] = [];
  for (const [type, byName] of Object.entries(resources)) {
    const op = OPERATIONS[type];
    if (!op) throw new Error(`rights: no operations known for ${type} (app/deployer-rights.ts)`);
    for (const [name, r] of Object.entries(byName)) {
      const address = `${type}.${name}`;
      if (op.at === "none") continue;
      const scope: Scope =
        op.at === "subscription" ? { kind: "subscription" } : op.at === "group" ? home(type, name) : op.at === "scope" ? place(r.scope, address) : place(r[op.at.parent], address);
      for (const action of op.actions) out.push({ action, scope, for: address });
      for (const action of op.atSubscription ?? []) out.push({ action, scope: { kind: "subscription" }, for: address });
      // Attaching a user-assigned identity to a task or a container group: assign on that identity.
      const identity = isObj(r.identity) ? r.identity : Array.isArray(r.identity) && isObj(r.identity[0]) ? (r.identity[0] as Obj) : undefined;
      for (const id of Array.isArray(identity?.identity_ids) ? (identity!.identity_ids as unknown[]) : []) {
        out.push({ action: "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", scope: place(id, address), for: address });
      }
    }
  }
  // State: the stack's own (read, write, lease) and each one it reads.
  if (isObj(tf.terraform) && isObj((tf.terraform as Obj).backend) && "azurerm" in ((tf.terraform as Obj).backend as Obj)) {
    for (const action of ["Storage data: blobs read", "Storage data: blobs write"]) out.push({ action, scope: { kind: "state", own: true }, for: "terraform.backend" });
  }
  // Reading a group another stack makes (plan and apply read it): read on that group.
  for (const [name, d] of Object.entries(data.azurerm_resource_group ?? {})) {
    out.push({ action: "Microsoft.Resources/subscriptions/resourceGroups/read", scope: { kind: "resourceGroup", name: String(d.name) }, for: `data.azurerm_resource_group.${name}` });
  }
  for (const [name, d] of Object.entries(data.terraform_remote_state ?? {})) {
    if (d.backend === "azurerm") out.push({ action: "Storage data: blobs read", scope: { kind: "state", own: false }, for: `data.terraform_remote_state.${name}` });
  }
  return out;
}
