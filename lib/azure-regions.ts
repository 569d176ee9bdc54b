/**
 * The Azure regions a resource can be deployed to, by programmatic name (what `location` takes).
 *
 * Why a fixed list: a mistyped location ("west-europe", "eastus3") passes the azurerm provider's
 * plan and only fails in the middle of `terraform apply`. The list is a snapshot; a region that
 * opens later is missing until someone adds it here, so keep it easy to update.
 *
 * Sources, read 2026-11-27:
 * - Azure/terraform-azurerm-avm-utl-regions, `modules/cached-data/locations.tf.json` at commit
 *   e9d62409c6fcc5554b60dd79cd60f55b344ad2f0 (2026-03-12): the Azure Verified Modules team's weekly
 *   dump of `GET /subscriptions/{id}/locations?api-version=2023-07-01`, the API behind
 *   `az account list-locations`. The public list below is its entries with
 *   `metadata.regionType == "Physical"`, minus Microsoft's canary and staging regions that the API
 *   also marks Physical but customers cannot deploy to (`centraluseuap`, `eastus2euap`,
 *   `eastusstg`, `southcentralusstg`).
 * - Cross-checked against MicrosoftDocs/reliability-docs, `articles/reliability/regions-list.md`
 *   at commit c7803c506e09cb705dd2dd45c338c480a0500e27 (2026-07-28, generated from ARM;
 *   https://learn.microsoft.com/azure/reliability/regions-list). It agrees on 56 regions and adds
 *   `indiasouthcentral` (generally available July 2026, after the dump). The dump adds the two
 *   Jio India regions (access restricted, not in the docs table). The docs name Sweden South as a
 *   restricted region paired with Sweden Central; `az account list-locations` shows restricted
 *   regions only to subscriptions granted access, which is why `swedensouth` is in neither table.
 * - Sovereign clouds: Azure Government from Azure/azure-sdk-for-net
 *   `sdk/core/Azure.Core/src/AzureLocation.cs`; Azure operated by 21Vianet from
 *   https://docs.azure.cn/en-us/reliability/regions-list (programmatic names column).
 *
 * Logical locations (`global`, geographies such as `europe` or `unitedstates`, `*stage`) are left
 * out on purpose: they are not places a registry or container group can live.
 */

/** Azure public cloud regions, sorted, one per line. */
export const AZURE_LOCATIONS: readonly string[] = Object.freeze([
  "australiacentral",
  "australiacentral2",
  "australiaeast",
  "australiasoutheast",
  "austriaeast",
  "belgiumcentral",
  "brazilsouth",
  "brazilsoutheast",
  "canadacentral",
  "canadaeast",
  "centralindia",
  "centralus",
  "chilecentral",
  "denmarkeast",
  "eastasia",
  "eastus",
  "eastus2",
  "francecentral",
  "francesouth",
  "germanynorth",
  "germanywestcentral",
  "indiasouthcentral",
  "indonesiacentral",
  "israelcentral",
  "italynorth",
  "japaneast",
  "japanwest",
  "jioindiacentral",
  "jioindiawest",
  "koreacentral",
  "koreasouth",
  "malaysiawest",
  "mexicocentral",
  "newzealandnorth",
  "northcentralus",
  "northeurope",
  "norwayeast",
  "norwaywest",
  "polandcentral",
  "qatarcentral",
  "southafricanorth",
  "southafricawest",
  "southcentralus",
  "southeastasia",
  "southindia",
  "spaincentral",
  "swedencentral",
  "swedensouth",
  "switzerlandnorth",
  "switzerlandwest",
  "uaecentral",
  "uaenorth",
  "uksouth",
  "ukwest",
  "westcentralus",
  "westeurope",
  "westindia",
  "westus",
  "westus2",
  "westus3",
]);

/**
 * Azure Government (`usgov*`, `usdod*`) and Azure operated by 21Vianet (`china*`) regions, sorted.
 * They live in separate clouds: the azurerm provider reaches them only with `environment` set to
 * `usgovernment` or `china`.
 */
export const SOVEREIGN_LOCATIONS: readonly string[] = Object.freeze([
  "chinaeast",
  "chinaeast2",
  "chinaeast3",
  "chinanorth",
  "chinanorth2",
  "chinanorth3",
  "usdodcentral",
  "usdodeast",
  "usgovarizona",
  "usgoviowa",
  "usgovtexas",
  "usgovvirginia",
]);

const KNOWN = new Set<string>([...AZURE_LOCATIONS, ...SOVEREIGN_LOCATIONS]);

/**
 * Whether `name` is a region of either list, compared exactly: ARM would also accept display names
 * such as "West Europe", but acr-gate configs use the programmatic form only, so "WestEurope" is
 * rejected here rather than normalized.
 */
export function isAzureLocation(name: string): boolean {
  return KNOWN.has(name);
}
