/**
 * Pull tokens: which registries get one (one per registry that some consumer reads with a Key Vault
 * token; identity-mode consumers need none), how each is named, and how its password expires and
 * rotates. {@link tokenPlan} decides which and names them once, for both its users: the cross-field
 * rule on token names (on the file as parsed, pointing at the registry name that causes a problem)
 * and {@link plannedPullTokens} (on the resolved config, for the constructs).
 */
import { checkName } from "../rules";
import { int, optionalInt } from "./fields";
import { arr, Check, fail, Path, rec, valid } from "./cross-field";
import { DEFAULT_TASK_CREDENTIAL, RegistryConfig } from "./registries";
import { gateUpstreams } from "./gate-upstream";
import { acrLoginServer, SIMULATED } from "../upstream-hosts";
import { DEFAULT_PULL_WITH } from "./apps";
import { SIGNER_REPOSITORY } from "./signing";
import type { ImageRef } from "./images";

export const tokenPasswordExpiryDaysField = int(1, 3650, 365, "Days until pull token passwords (and their secrets) expire");

export const tokenRotationField = optionalInt(
  0,
  100000,
  "Rotation with an overlap: every pull token gets a second one (`<registry>-alt`) and the two alternate; the vault holds the active one's login (slot tokenRotation % 2). Raise it by one to rotate: the other token gets a fresh password and becomes active, the previous one keeps working until the next rotation, so readers that apply later (split team stacks) never break. Unset: one token, rotated by replacing its time_static (help/operations.md)",
);

/** A registry as the plan sees it, with its default filled in. */
interface TokenRegistry<R> {
  readonly registry: R;
  readonly name: unknown;
  readonly taskCredential: unknown;
}
/** An app as the plan sees it, with its default filled in. */
interface TokenApp<A> {
  readonly app: A;
  readonly registry: unknown;
  readonly pullWith: unknown;
}

interface PlannedToken<R, A> {
  /** Who reads with it: the gates (the public registry), the app tasks (base artifacts), a team's container groups. */
  readonly readers: "gates" | "appTasks" | "containerGroups";
  readonly registry: R;
  /** Where the registry is in the file, for messages. */
  readonly path: Path;
  readonly name: string;
  /** A team registry's: the apps whose container groups read it with the token (none for the others). */
  readonly apps: readonly A[];
}

/**
 * The pull tokens a config needs, and nothing more, in the order they are planned: the public
 * registry's (the gates read it in simulated mode), base artifacts' (the app tasks read the gated
 * images), and one per team registry that an app's container group reads with a token.
 */
function tokenPlan<R, A>(
  /** Some gate pulls from the simulated public registry. */
  simulated: boolean,
  publicRegistry: TokenRegistry<R> | undefined,
  baseArtifactsRegistry: TokenRegistry<R>,
  teamRegistries: readonly TokenRegistry<R>[],
  apps: readonly TokenApp<A>[],
): PlannedToken<R, A>[] {
  const planned = (readers: PlannedToken<R, A>["readers"], r: TokenRegistry<R>, path: Path, readingApps: readonly A[] = []): PlannedToken<R, A> => ({
    readers,
    registry: r.registry,
    path,
    name: `registry-${String(r.name)}-user`,
    apps: readingApps,
  });
  const out: PlannedToken<R, A>[] = [];
  if (publicRegistry && publicRegistry.taskCredential === "keyVaultToken" && simulated) out.push(planned("gates", publicRegistry, ["publicRegistry"]));
  if (baseArtifactsRegistry.taskCredential === "keyVaultToken" && apps.length > 0) out.push(planned("appTasks", baseArtifactsRegistry, ["baseArtifactsRegistry"]));
  const tokenApps = new Map<unknown, A[]>();
  for (const a of apps) {
    if (a.pullWith !== "token") continue;
    const readers = tokenApps.get(a.registry);
    if (readers) readers.push(a.app);
    else tokenApps.set(a.registry, [a.app]);
  }
  teamRegistries.forEach((t, i) => {
    const readers = tokenApps.get(t.name);
    if (readers) out.push(planned("containerGroups", t, ["teamRegistries", i], readers));
  });
  return out;
}

/** Token names are capped at 49 characters: checked where the message can point at the registry name that causes it. */
export function tokenNameRule({ ctx, c }: Check): void {
  const registry = (v: unknown): TokenRegistry<Record<string, unknown>> => {
    const r = rec(v);
    return { registry: r, name: r.name, taskCredential: r.taskCredential ?? DEFAULT_TASK_CREDENTIAL };
  };
  const tokens = tokenPlan(
    gateUpstreams(c).some((u) => u?.host === SIMULATED),
    c.publicRegistry === undefined || c.publicRegistry === null ? undefined : registry(c.publicRegistry),
    registry(c.baseArtifactsRegistry),
    arr(c.teamRegistries).map(registry),
    arr(c.apps).map((a) => ({ app: a, registry: rec(a).registry, pullWith: rec(rec(a).aci).pullWith ?? DEFAULT_PULL_WITH })),
  );
  for (const { path, registry: r, name } of tokens) {
    if (!valid("registry", r.name)) continue;
    const problem = checkName("token", name);
    if (problem) fail(ctx, [...path, "name"], r.name, `is too long for its pull token: ${JSON.stringify(name)} ${problem}`);
  }
}

export interface PlannedPullToken {
  readonly registry: RegistryConfig;
  /** The walkthrough's `registry-<registry>-user`; also the user name at login. */
  readonly name: string;
  /** Repositories it may read, or null for all (`_repositories_pull`). */
  readonly repositories: readonly string[] | null;
}

/** What the plan reads of a resolved config (AcrGateConfig, lib/config/schema.ts). */
export interface TokenConsumers {
  readonly publicRegistry: RegistryConfig | null;
  readonly baseArtifactsRegistry: RegistryConfig;
  readonly teamRegistries: readonly RegistryConfig[];
  readonly gatedImages: readonly { readonly target: ImageRef; readonly upstream: { readonly host: string } }[];
  readonly apps: readonly { readonly name: string; readonly registry: string; readonly aci: { readonly pullWith: string } }[];
  readonly signing: { readonly enabled: boolean; readonly signerImage: string | null | undefined };
}

/** The repository of the signer image when it is in `registry` (the default: acr-gate builds it there). */
function signerRepositoryIn(registry: RegistryConfig, signerImage: string | null | undefined): string | undefined {
  if (!signerImage) return SIGNER_REPOSITORY;
  const prefix = `${acrLoginServer(registry.name)}/`;
  return signerImage.startsWith(prefix) ? signerImage.slice(prefix.length).replace(/@.*$/, "").replace(/:[^/]*$/, "") : undefined;
}

/** The pull tokens a config needs ({@link tokenPlan}), with the repositories each may read. */
export function plannedPullTokens(c: TokenConsumers): PlannedPullToken[] {
  const registry = (r: RegistryConfig): TokenRegistry<RegistryConfig> => ({ registry: r, name: r.name, taskCredential: r.taskCredential });
  const tokens = tokenPlan(
    c.gatedImages.some((g) => g.upstream.host === SIMULATED),
    c.publicRegistry ? registry(c.publicRegistry) : undefined,
    registry(c.baseArtifactsRegistry),
    c.teamRegistries.map(registry),
    c.apps.map((a) => ({ app: a, registry: a.registry, pullWith: a.aci.pullWith })),
  );
  const repositories = (t: (typeof tokens)[number]): string[] | null => {
    if (t.readers === "gates") return null;
    if (t.readers === "containerGroups") return t.apps.map((a) => a.name);
    // With signing, the apps' verify step runs the signer image, which lives in base artifacts.
    const signer = c.signing.enabled ? signerRepositoryIn(c.baseArtifactsRegistry, c.signing.signerImage) : undefined;
    return [...c.gatedImages.map((g) => g.target.repository), ...(signer ? [signer] : [])];
  };
  return tokens.map((t) => {
    const repos = repositories(t);
    return { registry: t.registry, name: t.name, repositories: repos && [...new Set(repos)].sort() };
  });
}
