/**
 * The registries: `baseArtifactsRegistry`, `teamRegistries`, and what `publicRegistry` shares with
 * them (its own keys and its rules against the upstream are lib/config/upstream.ts). One namespace
 * of registry names spans all three, and each registry's resource group is durable.
 */
import { z } from "zod";
import { anyCase, checkName } from "../rules";
import { DEFAULT_PULL_WITH } from "./apps";
import { bool, int, list, named, oneOf, strict } from "./fields";
import { arr, Check, fail, Namespace, Path, rec, str, valid } from "./cross-field";
import { ResourceGroups } from "./resource-groups";
import { DEFAULT_LOCATION } from "./stack";
import { registryNetworkSchema, resolveRegistryNetwork } from "./registry-network";

/** Registry names that acr-gate uses for secrets of its own (`registry-dockerhub-user`). */
const RESERVED_REGISTRY_NAMES = new Set(["dockerhub"]);

/** How tasks pulling from a registry authenticate when taskCredential is unset (team registries: always). */
export const DEFAULT_TASK_CREDENTIAL = "keyVaultToken" as const;

/** The keys of every registry; `publicRegistry` adds its images. */
export const registryShape = {
  name: named("registry", "Registry name: 5-50 letters and digits, globally unique in Azure; names of all registries must differ; not `dockerhub` (acr-gate's own secret names)", {
    notPatterns: [...RESERVED_REGISTRY_NAMES].map((n) => `${anyCase(n)}$`),
  }),
  resourceGroup: named("resourceGroup", "Its resource group (default `<name>-rg`), locked when protection.locks").optional(),
  zoneRedundancy: bool(true, "Premium zone redundancy; changing it later replaces the registry, so choose at creation (false in a region without zones)"),
  dedicatedDataEndpoints: bool(true, "Serve layers from `<name>.<location>.data.azurecr.io`, so a client firewall can allow exactly this registry"),
  replicaLocations: list(named("location", "An Azure region"), "Regions to geo-replicate to (each costs a Premium registry); not the registry's own location, no repeats")
    .meta({ uniqueItems: true })
    .default([]),
  untaggedRetentionDays: int(1, 365, 7, "Days untagged manifests are kept; tagged images (every promoted rollback tag) are never purged"),
  taskCredential: oneOf(
    ["keyVaultToken", "identity"] as const,
    DEFAULT_TASK_CREDENTIAL,
    "How tasks pulling from this registry authenticate: a pull token whose name and password sit in Key Vault (the walkthrough's), or the task identity with AcrPull (nothing to rotate)",
  ),
  network: registryNetworkSchema,
};
export const registrySchema = strict(registryShape, "A Premium registry");
const teamRegistrySchema = strict(
  {
    ...registryShape,
    taskCredential: z
      .never({ error: "has no effect: no task pulls from a team registry (apps choose how their container group pulls with aci.pullWith)" })
      .optional()
      .meta({ description: "Not applicable to team registries" }),
    keyVault: strict(
      {
        name: named("keyVault", "Vault name: 3-24 letters, digits and hyphens, globally unique; must differ from keyVault.name and every other team's"),
      },
      "Split layout only: the vault the team stack makes for its pull token's user and password (when its apps pull with a token), default `<name>-kv`",
    ).optional(),
  },
  "A team's Premium registry",
);
const AT_LEAST_ONE = "must list at least one team registry";
// Missing is the list's own rule; empty is checked with the cross-field rules (below), in their order.
export const teamRegistriesField = list(teamRegistrySchema, "One registry per team, at least one", AT_LEAST_ONE).meta({ minItems: 1 });

/** A registry's resource group: its own, or `<name>-rg`. */
export const registryGroup = (r: Record<string, unknown>) => str(r.resourceGroup) ?? (valid("registry", r.name) ? `${r.name}-rg` : undefined);

/** The registries of the file, in the order their problems are reported. */
export function registriesOf(c: Record<string, unknown>): { path: Path; r: Record<string, unknown> }[] {
  const out: { path: Path; r: Record<string, unknown> }[] = [];
  if (c.publicRegistry !== undefined && c.publicRegistry !== null) out.push({ path: ["publicRegistry"], r: rec(c.publicRegistry) });
  if (c.baseArtifactsRegistry !== undefined) out.push({ path: ["baseArtifactsRegistry"], r: rec(c.baseArtifactsRegistry) });
  arr(c.teamRegistries).forEach((t, i) => out.push({ path: ["teamRegistries", i], r: rec(t) }));
  return out;
}

/**
 * Split layout: the vault a team stack makes for its own token's secrets, default `<name>-kv`; only
 * a team whose apps pull with a token has one (lib/config/pull-tokens.ts plans its token then).
 */
export const teamVaultName = (t: { name?: unknown; keyVault?: unknown }): string | undefined =>
  t.keyVault !== undefined && t.keyVault !== null ? str(rec(t.keyVault).name) : typeof t.name === "string" ? `${t.name}-kv` : undefined;

/** Whether a team's apps pull with its token (raw config; `aci.pullWith` defaults to a token). */
const teamPullsWithToken = (c: Record<string, unknown>, team: unknown) =>
  arr(c.apps).some((a) => rec(a).registry === team && (rec(rec(a).aci).pullWith ?? DEFAULT_PULL_WITH) === "token");

/** `teamRegistries[].keyVault`: split only, for a team that stores its token's secrets; a valid name, unique. */
function teamVaultRules({ ctx, c }: Check): void {
  const vaults = new Namespace("key vault name", null);
  if (valid("keyVault", rec(c.keyVault).name)) vaults.claim(ctx, ["keyVault", "name"], rec(c.keyVault).name as string);
  arr(c.teamRegistries).forEach((raw, i) => {
    const t = rec(raw);
    const path: Path = ["teamRegistries", i, "keyVault"];
    if (c.layout !== "split") {
      if (t.keyVault !== undefined) fail(ctx, path, t.keyVault, "has no effect: only a split team stack makes a vault of its own (layout: split)");
      return;
    }
    if (!teamPullsWithToken(c, t.name)) {
      if (t.keyVault !== undefined) fail(ctx, path, t.keyVault, "has no effect: none of the team's apps pulls with a token (aci.pullWith), so the team stores no secret");
      return;
    }
    if (t.keyVault !== undefined) {
      const name = str(rec(t.keyVault).name);
      if (name !== undefined && valid("keyVault", name)) vaults.claim(ctx, [...path, "name"], name);
      return;
    }
    if (!valid("registry", t.name)) return;
    const derived = teamVaultName(t)!;
    const problem = checkName("keyVault", derived);
    if (problem) {
      fail(ctx, ["teamRegistries", i, "name"], t.name, `gives the team vault the default name ${JSON.stringify(derived)}, which ${problem}: set teamRegistries[${i}].keyVault.name (3-24 characters, globally unique)`);
    }
    else vaults.claim(ctx, ["teamRegistries", i, "name"], derived);
  });
}

export function registryRules(check: Check, groups: ResourceGroups): void {
  teamVaultRules(check);
  const { ctx, c } = check;
  const location = str(c.location) ?? DEFAULT_LOCATION;
  if (Array.isArray(c.teamRegistries) && c.teamRegistries.length === 0) fail(ctx, ["teamRegistries"], c.teamRegistries, AT_LEAST_ONE);
  const registryNames = new Namespace("registry name", "azurerm_container_registry.registry_");
  for (const { path, r } of registriesOf(c)) {
    if (valid("registry", r.name)) {
      if (RESERVED_REGISTRY_NAMES.has(r.name.toLowerCase())) {
        fail(ctx, [...path, "name"], r.name, "is reserved: acr-gate stores the Docker Hub credentials as registry-dockerhub-user/-password");
      } else registryNames.claim(ctx, [...path, "name"], r.name);
    }
    groups.claim(path, r.resourceGroup === undefined ? [...path, "name"] : [...path, "resourceGroup"], registryGroup(r), true);
    const seen = new Map<string, number>();
    arr(r.replicaLocations).forEach((loc, j) => {
      if (typeof loc !== "string") return;
      if (loc === location) fail(ctx, [...path, "replicaLocations", j], loc, "must differ from location (the registry's own)");
      const k = seen.get(loc);
      if (k !== undefined) fail(ctx, [...path, "replicaLocations", j], loc, `repeats replicaLocations[${k}]`);
      else seen.set(loc, j);
    });
  }
}

/** `tasks`: whether ACR Tasks reach the registry (lib/config/registry-network.ts, tasksReach). */
export function resolveRegistry(r: z.output<typeof registrySchema> | z.output<typeof teamRegistrySchema>, tasks = true) {
  return {
    name: r.name,
    resourceGroup: registryGroup(r)!,
    zoneRedundancy: r.zoneRedundancy,
    dedicatedDataEndpoints: r.dedicatedDataEndpoints,
    replicaLocations: r.replicaLocations,
    untaggedRetentionDays: r.untaggedRetentionDays,
    /** Team registries have none (nothing pulls from them with a task credential). */
    taskCredential: r.taskCredential ?? DEFAULT_TASK_CREDENTIAL,
    /** null: none of the network attributes is written (public, no rules: the walkthrough's). */
    network: resolveRegistryNetwork(r.network, tasks),
    /** A team's vault name as configured (split layout); {@link teamVaultName} gives the default. */
    keyVault: "keyVault" in r && r.keyVault ? { name: r.keyVault.name } : null,
  };
}

export type RegistryConfig = ReturnType<typeof resolveRegistry>;
export type TaskCredentialMode = RegistryConfig["taskCredential"];
