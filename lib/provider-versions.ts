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
 * `terraform.required_version`: the oldest Terraform that plans and applies the JSON in CI, not only
 * validates it. `terraform test` runs every stack and every day-2 move on it
 * (__tests__/tf-test.test.ts, which needs 1.11's `state_key` and checks that it runs on this minor
 * version). The language alone would allow 1.7.0 (the split team stacks' `removed` blocks; the
 * single layout's newest feature is the built-in `terraform_data`, 1.4.0), but nothing older than
 * 1.11 is planned here. Move it with the Terraform CI runs the suite on; versions.test.ts fails
 * when the JSON uses a language feature newer than it.
 */
export const TERRAFORM_FLOOR = ">= 1.11.0";

/** azurerm 5.x renamed or removed attributes acr-gate writes for 4.x (see lib/provider-ahead.ts). */
export function isAzurerm5(v: AzurermVersion): boolean {
  return v.startsWith("5.");
}
