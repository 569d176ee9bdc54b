/**
 * Settings of the whole stack: its name, the environment it is, its region, the azurerm version the
 * JSON is written for, and whether tasks run once on creation. No cross-field rule of its own: what
 * derives from these is checked where it derives (team stack names in lib/config/layout.ts, replica
 * locations in lib/config/registries.ts).
 */
import { AZURERM_VERSIONS, DEFAULT_AZURERM_VERSION } from "../provider-versions";
import { bool, named, oneOf } from "./fields";

export const DEFAULT_STACK_NAME = "acr-gate";
export const DEFAULT_LOCATION = "eastus";

export const stackNameField = named(
  "stackName",
  "The stack's directory under cdktf.out/stacks/ (in the split layout, the platform stack's; each team's is <stackName>-<team registry>)",
).default(DEFAULT_STACK_NAME);

export const environmentField = named(
  "environment",
  "A name for this environment (dev, prod): recorded with the subscription in each state's `terraform_data.environment`, and part of the default state file and blob names (`<stackName>-<environment>.tfstate`) and of an azurerm backend's container (`<containerName>-<environment>`)",
).optional();

export const locationField = named("location", "Azure region of every resource").default(DEFAULT_LOCATION);

export const azurermVersionField = oneOf(
  AZURERM_VERSIONS,
  DEFAULT_AZURERM_VERSION,
  "The azurerm provider version the JSON pins and is written for; only versions CI validates. 5.x differs from 4.x in one attribute acr-gate writes (a geo-replica's routing), so choose it here rather than by editing the pin (help/versions.md)",
);

export const firstRunField = bool(true, "Run each task once on creation, upstream first (base image tracking starts only after a run)");
