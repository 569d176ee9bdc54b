/**
 * One record per resource type acr-gate emits: what the code knows about the type, in one place.
 * Every consumer reads it here: the lock cover (lib/lock-cover.ts, which orders the stacks' locks),
 * the access policy (app/policy.ts), the synth summary (app/cli.ts) and `npm run diff`
 * (app/diff-rules.ts).
 *
 * One fact is generated rather than written here: which attribute changes force a replacement (the
 * schema's ForceNew paths), per azurerm version, in app/forcenew.json (scripts/vendor-forcenew.js).
 * app/provider-facts.ts joins the map of the version that plans a change to these records;
 * __tests__/resource-types.test.ts checks that both name the same types, so a type added to one is
 * added to the other.
 *
 * The table lives in lib/ because the lock cover needs it, and lib/ imports nothing from above it.
 * The provider facts name the source they were read from; re-check them when
 * lib/provider-versions.ts moves (help/versions.md).
 */

import { checkName } from "./rules";

/** A value known only after apply: the new value of a computed attribute, or of a reference to one. */
export const UNKNOWN = Symbol("unknown");

/**
 * Computed attributes that an IN-PLACE update changes: when an argument under one of `when` (and
 * not under `except`) changes, `attrs` get new values; `atPlan` false means the plan still shows
 * the old values and only the apply writes the new ones.
 */
export interface ComputedOnUpdate {
  readonly when: readonly string[];
  readonly except?: readonly string[];
  readonly attrs: readonly string[];
  readonly atPlan: boolean;
}

/** An in-place change of `attr` that the provider's Update refuses with an error. */
export interface RefusedUpdate {
  readonly attr: string;
  readonly refuses: (before: unknown, after: unknown) => boolean;
  /** The provider's words, and the way out. */
  readonly why: string;
}

export interface ResourceTypeFacts {
  /**
   * Replacing or deleting it loses data (images, secrets, the audit trail, the signing identity) or
   * protection (locks): `npm run diff` flags it, `--fail-on-durable` stops on it.
   */
  readonly durable: boolean;
  /**
   * What it stores, for a store of content: the resource group it lives in is durable too (deleting
   * the group deletes the store), and the synth summary names each store (what a user recognizes).
   */
  readonly holds?: string;
  /**
   * A CanNotDelete lock on the group it sits in (or on what it sits on) stops its ARM DELETE
   * (ScopeLocked). Not so: Key Vault access policies (their delete is a PUT of
   * accessPolicies/remove), token passwords (a PATCH of their token), secrets and certificates (data
   * plane), task runs (no ARM delete), Terraform and time resources. Microsoft Learn, "Lock your
   * resources to protect your infrastructure"; the provider's delete functions at v4.81.0.
   */
  readonly lockBlocksDelete: boolean;
  /** A role assignment may be scoped to it (app/policy.ts): a resource group, or a single resource in one. */
  readonly roleAssignmentScope?: boolean;
  /**
   * A replacement the provider forces in CustomizeDiff code rather than in the schema (so not in
   * app/forcenew.json): true when the change of `attr` from `before` to `after` (UNKNOWN: known only
   * after apply) replaces. Every call of ResourceDiff.ForceNew/SetNew/SetNewComputed in the provider
   * was read at v4.55.0 in the source and re-checked at v4.81.0 and v5.2.0 in the builds CI runs
   * (the binaries' symbol and line tables): the same two rules at all three versions; no other type
   * here has a CustomizeDiff that does more than validate (container_registry,
   * container_registry_task and container_group only validate).
   */
  readonly forcesReplacementInCustomizeDiff?: (attr: string, before: unknown, after: unknown) => boolean;
  /**
   * Computed attributes that change on an in-place update; every other computed attribute of an
   * updated resource keeps its value. Read in the source at v4.55.0 and re-checked in the v4.81.0
   * and v5.2.0 builds. None for the other types, by reading their source: time_sleep's `id` has
   * UseStateForUnknown and time_static recomputes only on create (ModifyPlan skips updates;
   * rfc3339/triggers are ForceNew); a token password's value only changes with `passwordN.expiry`,
   * which is ForceNew; registries, tasks, tokens, scope maps, vaults, policies, groups, roles,
   * identities keep their ids and computed attributes (login_server, vault_uri, principal_id, ...)
   * on update.
   */
  readonly computedOnUpdate?: readonly ComputedOnUpdate[];
  /**
   * In-place changes the provider's Update refuses with an error: the plan shows a routine update,
   * the apply fails half way. None for the other types acr-gate emits (azurerm v4.81.0): their Update
   * refuses nothing acr-gate can write; role assignments and management locks have no Update, every
   * argument acr-gate sets on them forces replacement.
   */
  readonly refusedUpdates?: readonly RefusedUpdate[];
}

/** Sorted by type. */
export const RESOURCE_TYPES: Readonly<Record<string, ResourceTypeFacts>> = {
  azurerm_container_group: { durable: false, lockBlocksDelete: true, roleAssignmentScope: true },
  azurerm_container_registry: { durable: true, holds: "images", lockBlocksDelete: true, roleAssignmentScope: true },
  azurerm_container_registry_cache_rule: {
    durable: false,
    lockBlocksDelete: true,
    // Removing `credential_set_id` (non-empty to empty) replaces:
    // internal/services/containers/container_registry_cache_rule_resource.go (CustomizeDiff, lines
    // 250-251 at v4.81.0).
    forcesReplacementInCustomizeDiff: (attr, before, after) =>
      attr === "credential_set_id" && typeof before === "string" && before !== "" && (after === undefined || after === null || after === ""),
  },
  azurerm_container_registry_credential_set: { durable: false, lockBlocksDelete: true },
  azurerm_container_registry_scope_map: { durable: true, lockBlocksDelete: true },
  azurerm_container_registry_task: { durable: false, lockBlocksDelete: true },
  azurerm_container_registry_task_schedule_run_now: { durable: false, lockBlocksDelete: false },
  azurerm_container_registry_token: { durable: true, lockBlocksDelete: true },
  azurerm_container_registry_token_password: { durable: false, lockBlocksDelete: false },
  azurerm_key_vault: {
    durable: true,
    holds: "secrets, keys and certificates",
    lockBlocksDelete: true,
    roleAssignmentScope: true,
    // internal/services/keyvault/key_vault_resource.go, resourceKeyVaultUpdate (v4.81.0).
    refusedUpdates: [
      {
        attr: "soft_delete_retention_days",
        refuses: (before, after) => before !== undefined && before !== after,
        why:
          "the provider refuses it (\"once `soft_delete_retention_days` has been configured it cannot be modified\", key_vault_resource.go:622): " +
          "keep keyVault.softDeleteRetentionDays at the value the vault was created with; only a new vault takes another",
      },
      {
        attr: "purge_protection_enabled",
        refuses: (before, after) => before === true && after !== true,
        why: "the provider refuses it (\"once Purge Protection has been Enabled it's not possible to disable it\", key_vault_resource.go:571)",
      },
    ],
  },
  azurerm_key_vault_access_policy: { durable: false, lockBlocksDelete: false },
  // The signing certificate: losing it loses the identity that verifiers trust.
  azurerm_key_vault_certificate: {
    durable: true,
    lockBlocksDelete: false,
    // key_vault_certificate_resource.go (v4.55.0): a change of `certificate`, or of
    // `certificate_policy` other than `lifetime_action`, imports or creates a new version and sets a
    // new versioned id; Read sets the versioned fields below. No CustomizeDiff.
    computedOnUpdate: [
      {
        when: ["certificate", "certificate_policy"],
        except: ["certificate_policy.lifetime_action"],
        attrs: ["id", "version", "secret_id", "resource_manager_id", "certificate_data", "certificate_data_base64", "thumbprint", "certificate_attribute"],
        atPlan: false,
      },
    ],
  },
  azurerm_key_vault_secret: {
    durable: true,
    lockBlocksDelete: false,
    // internal/services/keyvault/key_vault_secret_resource.go (v4.55.0): resourceKeyVaultSecretUpdate
    // calls SetSecret when `value`/`value_wo_version` changed, which makes a new version, then
    // d.SetId(<versioned id>); Read sets `version` and `resource_id` (versioned). No CustomizeDiff, no
    // SetNewComputed: the SDKv2 plan keeps the prior `id`/`version` (the SDK only marks `id` unknown
    // on create, helper/schema/grpc_provider.go PlanResourceChange; computed-only attributes without
    // config keep their state, schema.go diffString), so resources referencing them see the change
    // only on the next plan (atPlan: false). Versionless ids do not change.
    computedOnUpdate: [{ when: ["value", "value_wo_version"], attrs: ["id", "version", "resource_id"], atPlan: false }],
  },
  // The audit trail (diagnostics): losing it loses history.
  azurerm_log_analytics_workspace: {
    durable: true,
    holds: "audit logs",
    lockBlocksDelete: true,
    // A `sku` change replaces, except from "" or LACluster and between CapacityReservation and
    // PerGB2018: internal/services/loganalytics/log_analytics_workspace_resource.go
    // (resourceLogAnalyticsWorkspaceCustomDiff, lines 215-226 at v4.81.0, 204-215 at v5.2.0). v4.81.0
    // alone also plans `local_authentication_enabled = true` when the config sets neither local
    // authentication attribute (lines 238-241): not a replacement, and acr-gate always sets it.
    forcesReplacementInCustomizeDiff: (attr, before, after) => {
      if (attr !== "sku") return false;
      const b = String(before ?? "").toLowerCase();
      const a = after === UNKNOWN ? "?" : String(after ?? "").toLowerCase();
      if (b === "" || b === "lacluster") return false;
      const pair = `${b}>${a}`;
      return pair !== "capacityreservation>pergb2018" && pair !== "pergb2018>capacityreservation";
    },
  },
  azurerm_management_lock: { durable: true, lockBlocksDelete: false },
  azurerm_monitor_diagnostic_setting: { durable: false, lockBlocksDelete: true },
  // Durable when it holds a store or a lock protects it (app/diff-rules.ts durableAddresses).
  azurerm_resource_group: { durable: false, lockBlocksDelete: true, roleAssignmentScope: true },
  azurerm_role_assignment: { durable: false, lockBlocksDelete: true },
  azurerm_role_definition: { durable: false, lockBlocksDelete: true },
  azurerm_user_assigned_identity: { durable: false, lockBlocksDelete: true, roleAssignmentScope: true },
  // Terraform's own (internal/builtin/providers/terraform/resource_data.go): a changed `input` plans
  // `output` as unknown, visible at plan.
  terraform_data: {
    durable: false,
    lockBlocksDelete: false,
    computedOnUpdate: [{ when: ["input"], attrs: ["output"], atPlan: true }],
  },
  time_sleep: { durable: false, lockBlocksDelete: false },
  time_static: { durable: false, lockBlocksDelete: false },
};

/** For a type the table does not know (a config from elsewhere): no fact holds. */
const NO_FACTS: ResourceTypeFacts = { durable: false, lockBlocksDelete: false };

/** The record of `type`; every fact false or absent for a type not in RESOURCE_TYPES. */
export function resourceType(type: string): ResourceTypeFacts {
  return Object.prototype.hasOwnProperty.call(RESOURCE_TYPES, type) ? RESOURCE_TYPES[type] : NO_FACTS;
}

/**
 * What the code knows about a data source type. A data source is read again whenever its config
 * changes, but what a reference to it sees changes only if the read returns something else: a
 * change that only says how to sign in reads the same object, hence the same results.
 */
export interface DataSourceTypeFacts {
  /**
   * True when a change of the config path `attr` (a schema path, list indices dropped:
   * `config.use_azuread_auth`) between the bodies `before` and `after` leaves the object read, and
   * so every result, as it was.
   */
  readonly signInOnly: (attr: string, before: Record<string, unknown>, after: Record<string, unknown>) => boolean;
  /**
   * The config paths whose change between `before` and `after` names the same object once a
   * documented state migration has moved it there (with a note saying which), else none: the
   * results are the same, provided the migration runs before the plan that reads it.
   */
  readonly movedOnly?: (before: Record<string, unknown>, after: Record<string, unknown>) => { paths: string[]; note: string } | undefined;
}

/**
 * `terraform_remote_state` through the azurerm backend: the arguments that choose a credential,
 * never the state read (Terraform's documentation of the azurerm backend, 1.11; not checked against
 * its source here, so the list keeps to the long-standing names). Which state is read stays with
 * `backend`, `storage_account_name`, `container_name`, `key`, `resource_group_name`,
 * `subscription_id`, `environment`, `metadata_host`, `workspace` and `defaults`: a change of any of
 * them is still a change of the results. acr-gate added `use_azuread_auth` to every team's read of
 * the platform (help/split.md): what a team reads through it keeps its value (help/versions.md,
 * the upgrade from 4.55.0).
 */
const AZURERM_BACKEND_SIGN_IN = new Set([
  "access_key",
  "client_certificate_password",
  "client_certificate_path",
  "client_id",
  "client_secret",
  "msi_endpoint",
  "oidc_request_token",
  "oidc_request_url",
  "oidc_token",
  "oidc_token_file_path",
  "sas_token",
  "tenant_id",
  "use_azuread_auth",
  "use_cli",
  "use_msi",
  "use_oidc",
]);

/**
 * A team's read of the platform state moved by acr-gate's state containers per environment
 * (help/operations.md, "State containers per environment"): the container gains `-<environment>`
 * (`tfstate` -> `tfstate-dev`) while the blob, whose name already ends in `-<environment>.tfstate`,
 * stays. That blob is the same environment's platform state, which `terraform init -migrate-state`
 * copies there unchanged. Any other container change (another environment's, another name) is a
 * different state, still a change of the results.
 */
function environmentContainerMove(before: Record<string, unknown>, after: Record<string, unknown>): { paths: string[]; note: string } | undefined {
  if (before.backend !== "azurerm" || after.backend !== "azurerm") return undefined;
  const b = (before.config ?? {}) as Record<string, unknown>;
  const a = (after.config ?? {}) as Record<string, unknown>;
  const [from, to, key] = [b.container_name, a.container_name, a.key];
  if (typeof from !== "string" || typeof to !== "string" || typeof key !== "string" || b.key !== key || !to.startsWith(`${from}-`)) return undefined;
  const env = to.slice(from.length + 1);
  // A name the environment rule accepts (a lowercase name, nothing Terraform would interpolate).
  if (checkName("environment", env) !== undefined || !key.endsWith(`-${env}.tfstate`)) return undefined;
  return {
    paths: ["config.container_name"],
    note: `the platform state moved to its environment's container (${from} -> ${to}, blob ${key}): the same state once migrated, its results do not change; migrate it (terraform init -migrate-state) before this stack's plan`,
  };
}

/** Sorted by type. */
export const DATA_SOURCE_TYPES: Readonly<Record<string, DataSourceTypeFacts>> = {
  terraform_remote_state: {
    // Only between two reads through the azurerm backend: another backend names its credentials otherwise.
    signInOnly: (attr, before, after) =>
      before.backend === "azurerm" && after.backend === "azurerm" && attr.startsWith("config.") && AZURERM_BACKEND_SIGN_IN.has(attr.slice("config.".length)),
    movedOnly: (before, after) => environmentContainerMove(before, after),
  },
};

/** The record of a data source type; no change is sign-in only for a type not in DATA_SOURCE_TYPES. */
export function dataSourceType(type: string): DataSourceTypeFacts {
  return Object.prototype.hasOwnProperty.call(DATA_SOURCE_TYPES, type) ? DATA_SOURCE_TYPES[type] : { signInOnly: () => false };
}
