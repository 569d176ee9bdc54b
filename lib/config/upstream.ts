/**
 * Where public images come from: `upstream` (the default for every gate, and the logins), how each
 * gated image reaches its upstream ({@link gateUpstreams}: its registry host, through the artifact
 * cache or pulled by the gate itself, with a login or not), and `publicRegistry`, the simulated
 * public registry with the tasks that build its images. The rules between the upstreams and the
 * registries (what each needs, and what has no effect with it) live here, since the upstream is
 * what they depend on; what Azure allows per host is lib/upstream-hosts.ts.
 */
import { z } from "zod";
import { list, named, oneOf, strict, unsetBool } from "./fields";
import { arr, Check, fail, fmtPath, Path, rec, some, taskNamespace, valid } from "./cross-field";
import { acrLoginServer, SIMULATED, upstreamHost } from "../upstream-hosts";
import { dockerHubCredentials, GateUpstream, gateUpstreams, upstreamSource } from "./gate-upstream";
import { registriesOf, registryShape, resolveRegistry } from "./registries";
import { imageRef } from "./images";

export const upstreamSchema = strict(
  {
    source: oneOf(
      ["simulated", "dockerhub", "cache"] as const,
      "simulated",
      "Where a gate that names no upstream of its own comes from: `simulated`: the simulated public registry; `dockerhub`: docker.io, pulled by the gate; `cache`: docker.io through the base-artifacts registry's artifact cache (help/artifact-cache.md)",
    ),
    // No static default: it derives from source (dockerHubCredentials below), so absent must stay absent.
    dockerHubCredentials: unsetBool(
      "Store Docker Hub credentials (sensitive variables dockerhub_username/_password) and use them for every pull from docker.io (default true with dockerhub and cache when a gate comes from docker.io, else false)",
    ),
    credentials: list(
      named("upstreamHost", "A registry host gated images come from"),
      "Other upstream registries with a login (Docker Hub's is dockerHubCredentials): each host gets sensitive variables upstream_<host>_username/_password (dots as '_'), kept in Key Vault and used for every pull from it, through the cache or by the gate; the others are pulled anonymously",
    ).default([]),
  },
  "Where public images come from",
).prefault({});

const simulatedImageSchema = strict(
  {
    taskName: named("task", "Task name: 5-50 letters, digits, '-' and '_'"),
    image: named("imageTag", "The `repository:tag` the task builds into the public registry, e.g. `node:15-alpine`"),
    repository: named("gitContext", "Git context with the Dockerfile and task file"),
    taskFile: named("relativePath", "Task file inside the context").default("acr-task.yaml"),
  },
  "A task building a simulated public image (the walkthrough's node-public)",
);

export const publicRegistrySchema = strict(
  { ...registryShape, images: list(simulatedImageSchema, "Tasks building the simulated public images").default([]) },
  "The simulated public registry (required when upstream.source is simulated)",
).optional();

const hasPublicRegistry = (c: Record<string, unknown>) => c.publicRegistry !== undefined && c.publicRegistry !== null;

const anyGate = (c: Record<string, unknown>, test: (u: GateUpstream) => boolean) => gateUpstreams(c).some((u) => u !== undefined && test(u));

/** Reported before the registries' own rules (lib/config/schema.ts keeps the order). */
export function publicRegistryRequiredRule({ ctx, c }: Check): void {
  if (hasPublicRegistry(c) || !anyGate(c, (u) => u.host === SIMULATED)) return;
  const explicit = arr(c.gatedImages).findIndex((g) => rec(g).upstream === SIMULATED);
  fail(ctx, ["publicRegistry"], undefined, explicit >= 0 && upstreamSource(c) !== "simulated" ? `is required: gatedImages[${explicit}].upstream is 'simulated'` : "is required when upstream.source is 'simulated'");
}

/** Options that would have no effect, or cannot work, with the upstreams are refused with the reason. */
export function upstreamRules({ ctx, c }: Check): void {
  const source = upstreamSource(c);
  const upstreams = gateUpstreams(c);
  const gates = arr(c.gatedImages).map(rec);
  if (hasPublicRegistry(c) && Array.isArray(c.gatedImages) && upstreams.every((u) => u !== undefined && u.host !== SIMULATED) && upstreams.length > 0) {
    fail(
      ctx,
      ["publicRegistry"],
      c.publicRegistry,
      source === "dockerhub" || source === "cache"
        ? `has no effect when upstream.source is '${source}': gates pull from docker.io${source === "cache" ? " through the cache" : ""}, so the registry would cost a Premium registry for nothing; remove it`
        : "has no effect: no gated image comes from it (none has upstream 'simulated'), so the registry would cost a Premium registry for nothing; remove it",
    );
  }
  // A rule of the base-artifacts registry's key, kept here: it exists because of the cache.
  const cached = upstreams.flatMap((u, i) => (u?.via === "cache" ? [`gatedImages[${i}]`] : []));
  if (cached.length > 0 && rec(c.baseArtifactsRegistry).taskCredential === "identity") {
    fail(
      ctx,
      ["baseArtifactsRegistry", "taskCredential"],
      "identity",
      source === "cache" && gates.every((g) => g.upstream === undefined && g.via === undefined)
        ? "cannot be 'identity' with upstream.source 'cache': AcrPull covers the whole registry, cached Docker Hub repositories included, so app tasks could build on images no gate validated; the default keyVaultToken token reads only the promoted repositories"
        : `cannot be 'identity' with images through the artifact cache (${some(cached)}): AcrPull covers the whole registry, cached repositories included, so app tasks could build on images no gate validated; the default keyVaultToken token reads only the promoted repositories (or give those gates via: direct)`,
    );
  }
  const dockerHubLoginRefused = source === "cache" && rec(c.upstream).dockerHubCredentials === false && upstreams.some((u) => u?.host === "docker.io" && u.via === "cache");
  if (dockerHubLoginRefused) {
    fail(ctx, ["upstream", "dockerHubCredentials"], false, "cannot be false with upstream.source 'cache': Docker Hub cache rules need a credential set (Azure refuses them without one)");
  }
  upstreams.forEach((u, i) => {
    if (!u) return;
    const g = gates[i];
    const p: Path = ["gatedImages", i];
    const at: Path = g.via !== undefined ? [...p, "via"] : g.upstream !== undefined ? [...p, "upstream"] : p;
    const value = g.via ?? g.upstream;
    if (u.host === SIMULATED) {
      if (u.via === "cache") fail(ctx, [...p, "via"], "cache", "cannot be 'cache' with upstream 'simulated': the simulated public registry is acr-gate's own, pulled directly");
      return;
    }
    const facts = upstreamHost(u.host)!;
    const own = registriesOf(c).find(({ r }) => typeof r.name === "string" && acrLoginServer(r.name) === u.host);
    if (own) {
      fail(
        ctx,
        [...p, "upstream"],
        u.host,
        `is ${fmtPath([...own.path, "name"])}, a registry of this config: a gate imports from outside it${own.path[0] === "publicRegistry" ? " (the simulated public registry is upstream 'simulated')" : ""}`,
      );
    }
    if (u.via === "cache" && "refused" in facts.cache) fail(ctx, at, value, `cannot be 'cache' for ${u.host}: ${facts.cache.refused}; give via: direct`);
    else if (u.via === "cache" && "login" in facts.cache && facts.cache.login === "required" && !u.login && !(u.host === "docker.io" && dockerHubLoginRefused)) {
      fail(
        ctx,
        at,
        value,
        `cannot go through the artifact cache without a login for ${u.host}: Azure's cache takes authenticated pulls only from ${facts.title}; ${u.host === "docker.io" ? "set upstream.dockerHubCredentials: true" : `add ${u.host} to upstream.credentials`}, or give via: direct`,
      );
    }
  });
  const used = new Set(upstreams.flatMap((u) => (u ? [u.host] : [])));
  const listed = new Map<string, Path>();
  arr(rec(c.upstream).credentials).forEach((h, i) => {
    const path: Path = ["upstream", "credentials", i];
    if (!valid("upstreamHost", h)) return;
    const first = listed.get(h);
    if (first) return fail(ctx, path, h, `is also at ${fmtPath(first)}; hosts must differ`);
    listed.set(h, path);
    const facts = upstreamHost(h);
    if (h === SIMULATED) fail(ctx, path, h, "is acr-gate's own registry: its gates pull with the registry's token or their identity (publicRegistry.taskCredential)");
    else if (h === "docker.io") fail(ctx, path, h, "is Docker Hub, whose login is upstream.dockerHubCredentials");
    else if (facts && facts.direct.login === "anonymous") fail(ctx, path, h, `takes anonymous pulls only (${facts.title}): acr-gate has no login to give it`);
    else if (Array.isArray(c.gatedImages) && !used.has(h)) fail(ctx, path, h, "has no effect: no gated image comes from it; remove it");
  });
}

/**
 * The simulated images: their task names, and the images they build, which gated sources must be
 * in simulated mode (that rule is the gates', lib/config/gated-images.ts). Undefined without a
 * public registry.
 */
export function simulatedImageRules({ ctx, c }: Check): ReadonlySet<string> | undefined {
  if (!hasPublicRegistry(c)) return undefined;
  const publicTasks = taskNamespace("publicRegistry");
  const built = new Set<string>();
  arr(rec(c.publicRegistry).images).forEach((img, i) => {
    const o = rec(img);
    if (valid("task", o.taskName)) publicTasks.claim(ctx, ["publicRegistry", "images", i, "taskName"], o.taskName);
    if (typeof o.image === "string") built.add(o.image);
  });
  return built;
}

export function resolveUpstream(u: z.output<typeof upstreamSchema>, file: Record<string, unknown>) {
  return { source: u.source, dockerHubCredentials: dockerHubCredentials(file), credentials: u.credentials };
}

export function resolvePublicRegistry(p: z.output<typeof publicRegistrySchema>) {
  return p
    ? {
        ...resolveRegistry(p),
        images: p.images.map((s) => ({
          taskName: s.taskName,
          image: imageRef(s.image),
          repository: s.repository,
          taskFile: s.taskFile,
        })),
      }
    : null;
}

export type UpstreamSource = ReturnType<typeof resolveUpstream>["source"];
export type PublicRegistryConfig = NonNullable<ReturnType<typeof resolvePublicRegistry>>;
export type SimulatedImageConfig = PublicRegistryConfig["images"][number];
