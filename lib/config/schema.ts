/**
 * The config file, composed from its sections (zod 4): each key of the file with the section module
 * that declares it, the order the sections' cross-field rules run in, and the resolved config.
 *
 * Each section (lib/config/<section>.ts) owns its keys (type, default, single-field rule, meaning),
 * its cross-field rules and its resolve; the TypeScript types, the defaults, the JSON Schema
 * editors use (`acr-gate.schema.json`, app/config-json-schema.ts) and the key tables of
 * help/configuration.md all come from there. Messages keep one form, `<field path>: <value> <rule>`,
 * every problem at once (lib/config.ts formats them). The rule every string obeys, whatever field
 * it is in, is lib/config/untrusted-text.ts, applied before this schema.
 */
import { z } from "zod";
import { strict } from "./fields";
import { Ctx, rec } from "./cross-field";
import { ResourceGroups } from "./resource-groups";
import { azurermVersionField, environmentField, firstRunField, locationField, stackNameField } from "./stack";
import { layoutField, layoutRules } from "./layout";
import { tagRules, tagsField } from "./tags";
import { protectionRules, protectionSchema } from "./protection";
import { backendRules, backendSchema, resolveBackend, stateGroupRule } from "./backend";
import { publicRegistryRequiredRule, publicRegistrySchema, resolvePublicRegistry, resolveUpstream, simulatedImageRules, upstreamRules, upstreamSchema } from "./upstream";
import { registriesOf, registryRules, registrySchema, resolveRegistry, teamRegistriesField } from "./registries";
import { registryNetworkRules } from "./registry-network";
import { keyVaultRules, keyVaultSchema, resolveKeyVault } from "./vault";
import { tokenNameRule, tokenPasswordExpiryDaysField, tokenRotationField } from "./pull-tokens";
import { gatedImageRules, gatedImagesField, resolveGatedImage } from "./gated-images";
import { appRules, appsField, resolveApp } from "./apps";
import { gateUpstreams } from "./gate-upstream";
import { deployerRules, deployersField, resolveDeployer } from "./deployers";
import { diagnosticsRules, diagnosticsSchema, resolveDiagnostics } from "./diagnostics";
import { resolveSigning, signingRules, signingSchema } from "./signing";

/** The file as written: shapes, types, static defaults and single-field rules, keys in the order editors show them. */
export const configFileSchema = strict(
  {
    stackName: stackNameField,
    layout: layoutField,
    environment: environmentField,
    location: locationField,
    azurermVersion: azurermVersionField,
    tags: tagsField,
    protection: protectionSchema,
    backend: backendSchema,
    upstream: upstreamSchema,
    publicRegistry: publicRegistrySchema,
    baseArtifactsRegistry: registrySchema,
    teamRegistries: teamRegistriesField,
    keyVault: keyVaultSchema,
    tokenPasswordExpiryDays: tokenPasswordExpiryDaysField,
    tokenRotation: tokenRotationField,
    gatedImages: gatedImagesField,
    apps: appsField,
    firstRun: firstRunField,
    deployers: deployersField,
    diagnostics: diagnosticsSchema,
    signing: signingSchema,
  },
  "acr-gate configuration",
);
export type ConfigFile = z.output<typeof configFileSchema>;

/**
 * Rules across fields, each section's in turn. They run even when single fields failed (zod's
 * `when`), on whatever parsed, so a problem in one section never hides an unrelated one in another.
 * The order below is the order of the messages. Facts one section's rules hand to another's are
 * passed here: the resource groups every section claims, the images the simulated registry builds
 * (gated sources must be among them), the gates' targets (apps' base images must be among them).
 */
function crossFieldRules(raw: unknown, ctx: Ctx): void {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return; // "the file: must be a mapping" says it all
  const check = { ctx, c: rec(raw) };
  const groups = new ResourceGroups(ctx);
  tokenNameRule(check);
  protectionRules(check);
  deployerRules(check);
  tagRules(check);
  backendRules(check);
  publicRegistryRequiredRule(check);
  registryRules(check, groups);
  upstreamRules(check);
  registryNetworkRules(check, registriesOf(check.c));
  keyVaultRules(check, groups);
  signingRules(check);
  diagnosticsRules(check, groups);
  const builtImages = simulatedImageRules(check);
  const gateTargets = gatedImageRules(check, builtImages);
  appRules(check, groups, gateTargets);
  layoutRules(check);
  stateGroupRule(check, groups); // after every section has claimed its groups
}

/** The resolved config: every default filled in, nothing optional left to guess. */
function resolve(f: ConfigFile) {
  const upstreams = gateUpstreams(f);
  return {
    stackName: f.stackName,
    layout: f.layout,
    environment: f.environment ?? null,
    location: f.location,
    azurermVersion: f.azurermVersion,
    tags: f.tags as Readonly<Record<string, string>>,
    protection: f.protection,
    backend: resolveBackend(f.backend, f.stackName, f.environment),
    upstream: resolveUpstream(f.upstream, f),
    publicRegistry: resolvePublicRegistry(f.publicRegistry),
    baseArtifactsRegistry: resolveRegistry(f.baseArtifactsRegistry),
    // A team registry's tasks are its apps' (lib/config/registry-network.ts, tasksReach).
    teamRegistries: f.teamRegistries.map((t) => resolveRegistry(t, f.apps.some((a) => a.registry === t.name))),
    keyVault: resolveKeyVault(f.keyVault),
    tokenPasswordExpiryDays: f.tokenPasswordExpiryDays,
    /** null: one token per registry; a number: two alternating tokens, the active one this % 2. */
    tokenRotation: f.tokenRotation ?? null,
    gatedImages: f.gatedImages.map((g, i) => resolveGatedImage(g, upstreams[i]!)),
    apps: f.apps.map(resolveApp),
    firstRun: f.firstRun,
    deployers: f.deployers.map(resolveDeployer),
    diagnostics: resolveDiagnostics(f.diagnostics, f),
    signing: resolveSigning(f.signing, f),
  };
}

/** The whole config: the file's schema, its cross-field rules, then the resolved config. */
export const configSchema = configFileSchema.superRefine(crossFieldRules, { when: () => true }).transform(resolve);

export type AcrGateConfig = z.output<typeof configSchema>;
