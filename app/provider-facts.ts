/**
 * What the azurerm provider decides, for `npm run diff` (app/diff-rules.ts): which
 * attribute changes replace a resource (the vendored ForceNew maps, per provider version, plus the
 * replacements its CustomizeDiff code forces), which computed attributes an in-place update changes,
 * and which types hold durable content. Every rule here names the provider source it was read from;
 * re-check them when lib/provider-versions.ts moves (help/versions.md).
 */
import * as fs from "fs";
import * as path from "path";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

interface Vendored {
  pinned: string;
  maps: Map<string, Record<string, Set<string>>>;
}

/**
 * app/forcenew.json (scripts/vendor-forcenew.js writes it): per azurerm version, the attribute paths
 * whose change forces replacement, per type. Read with fs, not import: tsc does not copy JSON into
 * dist/, and dist/app/*.js must find the file in app/ as the ts sources under jest do.
 */
let vendoredCache: Vendored | undefined;
function vendored(): Vendored {
  if (vendoredCache) return vendoredCache;
  const candidates = [path.join(__dirname, "forcenew.json"), path.join(__dirname, "..", "..", "app", "forcenew.json")];
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file) throw new Error(`app/forcenew.json not found (looked in ${candidates.join(", ")})`);
  const raw = JSON.parse(fs.readFileSync(file, "utf8")) as { _pinned: string; versions: Record<string, Record<string, unknown>> };
  const maps = new Map<string, Record<string, Set<string>>>();
  for (const [version, types] of Object.entries(raw.versions)) {
    const map: Record<string, Set<string>> = {};
    for (const [type, paths] of Object.entries(types)) if (Array.isArray(paths)) map[type] = new Set(paths as string[]);
    maps.set(version, map);
  }
  return (vendoredCache = { pinned: raw._pinned, maps });
}

/** The azurerm versions whose ForceNew facts are vendored, the pinned one first. */
export function vendoredVersions(): string[] {
  const v = vendored();
  return [v.pinned, ...[...v.maps.keys()].filter((k) => k !== v.pinned)];
}

/** The ForceNew map of one azurerm version (default: the version acr-gate pins); undefined if not vendored. */
export function forceNewMap(version?: string): Record<string, Set<string>> {
  const v = vendored();
  const map = v.maps.get(version ?? v.pinned);
  if (!map) throw new Error(`no ForceNew facts for azurerm ${version}; vendored: ${vendoredVersions().join(", ")}`);
  return map;
}

/** `terraform.required_providers.azurerm.version` of a Terraform JSON config, if any. */
export function azurermPin(tf: Obj): string | undefined {
  const rp = isObj(tf.terraform) && isObj(tf.terraform.required_providers) ? tf.terraform.required_providers : undefined;
  const v = rp && isObj(rp.azurerm) ? rp.azurerm.version : undefined;
  return typeof v === "string" ? v.replace(/^\s*=?\s*v?/, "").trim() : undefined;
}

/**
 * The ForceNew facts for a change from `oldTf` to `newTf`: the map of the version the NEW file pins
 * (the provider that plans the change, after `terraform init -upgrade`), with notes when that
 * version is not vendored or when the pin moves (then the two versions' maps are compared over
 * `types`, the resource types of both files).
 */
export function factsFor(oldTf: Obj, newTf: Obj, types: string[]): { map: Record<string, Set<string>>; version: string; notes: string[] } {
  const notes: string[] = [];
  const versions = vendoredVersions();
  const wanted = azurermPin(newTf);
  let version = versions[0];
  if (wanted === undefined) {
    notes.push(`the new file pins no azurerm version; the ForceNew facts used are azurerm ${version}'s`);
  } else if (versions.includes(wanted)) {
    version = wanted;
  } else {
    notes.push(
      `azurerm is pinned to ${wanted}; ForceNew facts are vendored for ${versions.join(", ")} only, so azurerm ${version}'s are used: ` +
        `re-vendor app/forcenew.json (scripts/vendor-forcenew.js) for ${wanted}`,
    );
  }
  const map = forceNewMap(version);
  const from = azurermPin(oldTf);
  if (from !== undefined && wanted !== undefined && from !== wanted) {
    notes.push(`azurerm moves from ${from} to ${wanted}: run \`terraform init -upgrade\` before the plan (help/versions.md)`);
    if (versions.includes(from)) {
      const old = forceNewMap(from);
      const differ = types
        .filter((t) => map[t] || old[t])
        .map((t) => {
          const a = old[t] ?? new Set<string>();
          const b = map[t] ?? new Set<string>();
          const added = [...b].filter((p) => !a.has(p));
          const dropped = [...a].filter((p) => !b.has(p));
          return added.length || dropped.length
            ? `${t}${added.length ? ` (now forcing replacement: ${added.join(", ")})` : ""}${dropped.length ? ` (no longer: ${dropped.join(", ")})` : ""}`
            : "";
        })
        .filter(Boolean);
      notes.push(
        differ.length
          ? `the ForceNew facts of azurerm ${from} and ${wanted} differ for ${differ.join("; ")}; the replacements above are ${wanted}'s`
          : `the ForceNew facts of azurerm ${from} and ${wanted} agree on every resource type in these files`,
      );
    } else {
      notes.push(`no ForceNew facts are vendored for the old pin ${from}; the replacements above are ${wanted}'s`);
    }
  }
  return { map, version, notes };
}

/**
 * Replacements decided in CustomizeDiff code rather than the schema, for the types in
 * app/forcenew.json. Read at v4.55.0 in the source, and re-checked at v4.81.0 and v5.2.0 in the
 * provider builds CI runs (every call of ResourceDiff.ForceNew/SetNew/SetNewComputed in the
 * provider, found through the binaries' symbol and line tables): the same two rules at all three
 * versions, and no other type we emit has a CustomizeDiff that does more than validate
 * (container_registry, container_registry_task and container_group only validate):
 * - container_registry_cache_rule: removing `credential_set_id` (non-empty to empty) forces
 *   replacement; internal/services/containers/container_registry_cache_rule_resource.go
 *   (CustomizeDiff, lines 250-251 at v4.81.0).
 * - log_analytics_workspace: a `sku` change forces replacement, except from "" or LACluster and
 *   between CapacityReservation and PerGB2018; internal/services/loganalytics/log_analytics_workspace_resource.go
 *   (resourceLogAnalyticsWorkspaceCustomDiff, lines 215-226 at v4.81.0, 204-215 at v5.2.0). v4.81.0
 *   alone also plans `local_authentication_enabled = true` when the config sets neither local
 *   authentication attribute (lines 238-241): not a replacement, and acr-gate always sets it.
 * `after` is UNKNOWN when the new value is only known after apply.
 */
export const UNKNOWN = Symbol("unknown");
type Val = unknown;
export const CUSTOMIZE_DIFF_FORCENEW: Record<string, (attr: string, before: Val, after: Val) => boolean> = {
  azurerm_container_registry_cache_rule: (attr, before, after) =>
    attr === "credential_set_id" &&
    typeof before === "string" &&
    before !== "" &&
    (after === undefined || after === null || after === ""),
  azurerm_log_analytics_workspace: (attr, before, after) => {
    if (attr !== "sku") return false;
    const b = String(before ?? "").toLowerCase();
    const a = after === UNKNOWN ? "?" : String(after ?? "").toLowerCase();
    if (b === "" || b === "lacluster") return false;
    const pair = `${b}>${a}`;
    return pair !== "capacityreservation>pergb2018" && pair !== "pergb2018>capacityreservation";
  },
};

/**
 * Computed attributes that change on an IN-PLACE update, per type; every other computed attribute
 * of an updated resource keeps its value. Read in the source at v4.55.0 and re-checked in the
 * v4.81.0 and v5.2.0 builds (the same Update calls, two lines apart):
 * - azurerm_key_vault_secret (azurerm v4.55.0, internal/services/keyvault/key_vault_secret_resource.go):
 *   resourceKeyVaultSecretUpdate calls SetSecret when `value`/`value_wo_version` changed, which makes
 *   a new version, then d.SetId(<versioned id>); Read sets `version` and `resource_id` (versioned).
 *   No CustomizeDiff, no SetNewComputed: the SDKv2 plan keeps the prior `id`/`version` (the SDK only
 *   marks `id` unknown on create, helper/schema/grpc_provider.go PlanResourceChange; computed-only
 *   attributes without config keep their state, schema.go diffString), so the change is seen by
 *   referencing resources only on the next plan (atPlan: false). versionless ids do not change.
 * - azurerm_key_vault_certificate (same tag, key_vault_certificate_resource.go): a change of
 *   `certificate`, or of `certificate_policy` other than `lifetime_action`, imports or creates a new
 *   version and sets a new versioned id; Read sets the versioned fields below. No CustomizeDiff.
 * - terraform_data (Terraform, internal/builtin/providers/terraform/resource_data.go): a changed
 *   `input` plans `output` as unknown, visible at plan.
 * Nothing for the rest, by reading their source: time_sleep's `id` has UseStateForUnknown and
 * time_static recomputes only on create (ModifyPlan skips updates; rfc3339/triggers are ForceNew);
 * a token password's value only changes with `passwordN.expiry`, which is ForceNew; registries,
 * tasks, tokens, scope maps, vaults, policies, groups, roles, identities keep their ids and
 * computed attributes (login_server, vault_uri, principal_id, ...) on update.
 */
export interface ComputedOnUpdate {
  when: string[];
  except?: string[];
  attrs: string[];
  atPlan: boolean;
}
export const COMPUTED_ON_UPDATE: Record<string, ComputedOnUpdate[]> = {
  azurerm_key_vault_secret: [{ when: ["value", "value_wo_version"], attrs: ["id", "version", "resource_id"], atPlan: false }],
  azurerm_key_vault_certificate: [
    {
      when: ["certificate", "certificate_policy"],
      except: ["certificate_policy.lifetime_action"],
      attrs: [
        "id",
        "version",
        "secret_id",
        "resource_manager_id",
        "certificate_data",
        "certificate_data_base64",
        "thumbprint",
        "certificate_attribute",
      ],
      atPlan: false,
    },
  ],
  terraform_data: [{ when: ["input"], attrs: ["output"], atPlan: true }],
};

/** Types whose replacement or deletion loses data (images, secrets) or protection (locks). */
export const DURABLE_TYPES = new Set([
  "azurerm_container_registry",
  "azurerm_key_vault",
  "azurerm_key_vault_secret",
  "azurerm_container_registry_token",
  "azurerm_container_registry_scope_map",
  "azurerm_management_lock",
  // The audit trail (diagnostics) and the signing certificate (signing): losing either loses history
  // or the identity that verifiers trust.
  "azurerm_log_analytics_workspace",
  "azurerm_key_vault_certificate",
]);

/**
 * In-place changes the provider's Update refuses with an error, for the types acr-gate emits
 * (azurerm v4.81.0, internal/services/keyvault/key_vault_resource.go, resourceKeyVaultUpdate; every
 * other emitted type's Update refuses nothing acr-gate can write: role assignments and management
 * locks have no Update, every argument acr-gate sets on them forces replacement). The plan shows
 * such a change as a routine update; the apply fails half way.
 */
export interface RefusedUpdate {
  attr: string;
  refuses: (before: unknown, after: unknown) => boolean;
  /** The provider's words, and the way out. */
  why: string;
}
export const UPDATE_REFUSED: Record<string, RefusedUpdate[]> = {
  azurerm_key_vault: [
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
};
