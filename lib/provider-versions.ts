/**
 * The provider and Terraform versions acr-gate's JSON is written for (help/versions.md).
 *
 * The bindings (`@cdktf/provider-azurerm` 14.23.1) were generated from azurerm 4.55.0 and would pin
 * that version; Azure retires the Key Vault API 4.55.0 uses on 2027-02-27. The JSON pins a provider
 * Azure keeps serving instead, and CI proves each version listed here: `terraform validate` with the
 * exact build (scripts/validate.sh), the ForceNew facts of that version vendored in
 * app/forcenew.json.
 */

/**
 * azurerm versions a config may choose (`azurermVersion`); CI validates every example on each.
 * 4.81.0: the last 4.x and the first on Key Vault API 2026-02-01. 5.2.0: the newest 5.x proven here.
 */
export const AZURERM_VERSIONS = ["4.81.0", "5.2.0"] as const;
export type AzurermVersion = (typeof AZURERM_VERSIONS)[number];
export const DEFAULT_AZURERM_VERSION: AzurermVersion = "4.81.0";

/** What the 14.23.1 bindings would pin on their own (and what state made before 2026-12 was planned with). */
export const BINDINGS_AZURERM_VERSION = "4.55.0";

/**
 * `terraform.required_version`. The newest language feature the JSON uses is the built-in
 * `terraform_data` resource (Terraform 1.4.0); `lifecycle.replace_triggered_by` and preconditions
 * (1.2) and `nullable` variables (1.1) are older. Raise it when the JSON starts using something newer
 * (`check` blocks 1.5, `removed` blocks 1.7, write-only arguments 1.11).
 */
export const TERRAFORM_FLOOR = ">= 1.4.0";

/** azurerm 5.x renamed or removed attributes acr-gate writes for 4.x (see lib/provider-ahead.ts). */
export function isAzurerm5(v: AzurermVersion): boolean {
  return v.startsWith("5.");
}
