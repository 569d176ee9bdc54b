/** `backend`: where Terraform keeps state, and which keys belong to which type. */
import { z } from "zod";
import { checkName } from "../rules";
import { named, oneOf, strict, unsetBool } from "./fields";
import { arr, Check, fail, fmtPath, rec, str, valid } from "./cross-field";
import { ResourceGroups } from "./resource-groups";

export const backendSchema = strict(
  {
    type: oneOf(["local", "azurerm", "partial"] as const, "local", "Where Terraform keeps state: a local file, an Azure storage blob, or azurerm completed by `terraform init -backend-config`"),
    path: named(
      "statePath",
      "local: state file path relative to the stack directory (default `../../../<stackName>.tfstate`: beside cdktf.out, where re-synth keeps it)",
    ).optional(),
    resourceGroupName: named("resourceGroup", "azurerm: the state storage account's resource group").optional(),
    storageAccountName: named("storageAccount", "azurerm: the state storage account").optional(),
    containerName: named(
      "storageContainer",
      "azurerm: blob container (default `tfstate`); with `environment`, that environment's state is in `<containerName>-<environment>` (so `tfstate-dev`), and a split team's in `<containerName>-<environment>-<team>`",
    ).optional(),
    key: named("blobName", "azurerm: blob name (default `<stackName>.tfstate`)").optional(),
    useAzureadAuth: unsetBool(
      "azurerm and partial: sign in to the state storage with Entra ID (`use_azuread_auth`, the default: true), so per-container data roles separate the states; false falls back to the account key, which reads and writes every state in the account",
    ),
  },
  "Terraform backend",
).prefault({});

const DEFAULT_CONTAINER = "tfstate";

/** The backend's type as written, `local` when unset (a wrong type stays as it is, for its own message). */
export const backendType = (c: Record<string, unknown>) => rec(c.backend).type ?? "local";

const KEYS_OF: Record<string, string[]> = {
  local: ["path"],
  azurerm: ["resourceGroupName", "storageAccountName", "containerName", "key", "useAzureadAuth"],
  partial: ["useAzureadAuth"],
};

/** Which keys belong to which type; in the split layout, each team's state container. */
export function backendRules({ ctx, c }: Check): void {
  const backend = rec(c.backend);
  const btype = backendType(c);
  // Own keys only: a type such as `constructor` would find the object's prototype instead.
  if (typeof btype !== "string" || !Object.hasOwn(KEYS_OF, btype)) return;
  for (const k of ["path", "resourceGroupName", "storageAccountName", "containerName", "key", "useAzureadAuth"]) {
    if (backend[k] !== undefined && !KEYS_OF[btype].includes(k)) fail(ctx, ["backend", k], backend[k], `does not apply to backend.type '${btype}'`);
  }
  // On azurerm, each environment's states in containers of their own (<containerName>-<environment>),
  // and in split each team's in <that>-<team registry>: a container-scoped data role then gives a
  // deployer its own states and nothing else. Checked whole, since each part alone may pass.
  if (btype === "azurerm") {
    const container = typeof backend.containerName === "string" ? backend.containerName : DEFAULT_CONTAINER;
    const env = typeof c.environment === "string" && valid("environment", c.environment) ? c.environment : undefined;
    const platformContainer = env ? `${container}-${env}` : container;
    const containerValid = typeof backend.containerName !== "string" || valid("storageContainer", backend.containerName);
    if (env && containerValid) {
      const problem = checkName("storageContainer", platformContainer);
      if (problem) fail(ctx, ["environment"], env, `gives the state container ${JSON.stringify(platformContainer)} (backend.containerName + "-" + environment), which ${problem}; shorten backend.containerName or the environment name`);
    }
    if (c.layout === "split" && containerValid && !checkName("storageContainer", platformContainer)) {
      arr(c.teamRegistries).forEach((t, i) => {
        const name = rec(t).name;
        if (typeof name !== "string" || !valid("registry", name)) return;
        const teamContainer = `${platformContainer}-${name.toLowerCase()}`;
        const problem = checkName("storageContainer", teamContainer);
        if (problem) fail(ctx, ["teamRegistries", i, "name"], name, `gives the team state container ${JSON.stringify(teamContainer)}, which ${problem}; shorten backend.containerName${env ? ", the environment name" : ""} or the registry name`);
      });
    }
  }
  if (btype === "azurerm") {
    for (const k of ["resourceGroupName", "storageAccountName"]) {
      if (backend[k] === undefined) fail(ctx, ["backend", k], undefined, "is required when backend.type is 'azurerm'");
    }
  }
}

/** The state storage account's group is not ours: Terraform would create (and could delete) it. Runs after every section has claimed its groups. */
export function stateGroupRule({ ctx, c }: Check, groups: ResourceGroups): void {
  const stateGroup = str(rec(c.backend).resourceGroupName);
  if (backendType(c) === "azurerm" && stateGroup && groups.get(stateGroup)) {
    fail(ctx, ["backend", "resourceGroupName"], stateGroup, `is a resource group this config creates (${fmtPath(groups.get(stateGroup)!.path)}); keep Terraform state in a group of its own that acr-gate does not manage`);
  }
}

export function resolveBackend(b: z.output<typeof backendSchema>, stackName: string, environment: string | undefined) {
  // An environment's name is part of its state's by default, so two environments never share one.
  const stateName = environment ? `${stackName}-${environment}` : stackName;
  // On azurerm, its container's too, even when containerName is set: isolation is the default, and a
  // data role on one container then reaches one environment's states. The blob keeps the
  // environment in its name as before, so moving a deployment here changes the container alone
  // (help/operations.md, "State containers per environment").
  const container = b.containerName ?? DEFAULT_CONTAINER;
  return b.type === "local"
    ? // Beside cdktf.out: the path climbs from cdktf.out/stacks/<stack>/, where Terraform runs.
      { type: "local" as const, path: b.path ?? `../../../${stateName}.tfstate` }
    : b.type === "azurerm"
      ? {
          type: "azurerm" as const,
          resourceGroupName: b.resourceGroupName!,
          storageAccountName: b.storageAccountName!,
          containerName: environment ? `${container}-${environment}` : container,
          key: b.key ?? `${stateName}.tfstate`,
          useAzureadAuth: b.useAzureadAuth ?? true,
        }
      : { type: "partial" as const, useAzureadAuth: b.useAzureadAuth ?? true };
}

export type BackendConfig = ReturnType<typeof resolveBackend>;
