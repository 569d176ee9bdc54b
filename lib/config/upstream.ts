/**
 * Where public images come from: `upstream`, and `publicRegistry`, the simulated public registry
 * with the tasks that build its images. The rules between the upstream and the registries (what
 * each source needs, and what has no effect with it) live here, since the source is what they
 * depend on.
 */
import { z } from "zod";
import { list, named, oneOf, strict, unsetBool } from "./fields";
import { arr, Check, fail, rec, taskNamespace, valid } from "./cross-field";
import { registryShape, resolveRegistry } from "./registries";
import { imageRef } from "./images";

export const upstreamSchema = strict(
  {
    source: oneOf(
      ["simulated", "dockerhub", "cache"] as const,
      "simulated",
      "`simulated`: gates import from the simulated public registry; `dockerhub`: from docker.io; `cache`: from docker.io through the base-artifacts registry's artifact cache (help/artifact-cache.md)",
    ),
    // No static default: it derives from source (dockerHubCredentials below), so absent must stay absent.
    dockerHubCredentials: unsetBool(
      "Store Docker Hub credentials (sensitive variables dockerhub_username/_password) and use them for every pull from docker.io (default true with dockerhub and cache, else false)",
    ),
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

/** The source as written, `simulated` when unset (a wrong value stays as it is, matching no source). */
export const upstreamSource = (c: Record<string, unknown>): unknown => rec(c.upstream).source ?? "simulated";

export const dockerHubCredentials = (c: Record<string, unknown>) => {
  const up = rec(c.upstream);
  return typeof up.dockerHubCredentials === "boolean" ? up.dockerHubCredentials : up.source === "dockerhub" || up.source === "cache";
};

const hasPublicRegistry = (c: Record<string, unknown>) => c.publicRegistry !== undefined && c.publicRegistry !== null;

/** Reported before the registries' own rules (lib/config/schema.ts keeps the order). */
export function publicRegistryRequiredRule({ ctx, c }: Check): void {
  if (!hasPublicRegistry(c) && upstreamSource(c) === "simulated") fail(ctx, ["publicRegistry"], undefined, "is required when upstream.source is 'simulated'");
}

/** Options that would have no effect, or cannot work, with the source are refused with the reason. */
export function upstreamRules({ ctx, c }: Check): void {
  const source = upstreamSource(c);
  if ((source === "dockerhub" || source === "cache") && hasPublicRegistry(c)) {
    fail(ctx, ["publicRegistry"], c.publicRegistry, `has no effect when upstream.source is '${source}': gates pull from docker.io${source === "cache" ? " through the cache" : ""}, so the registry would cost a Premium registry for nothing; remove it`);
  }
  // A rule of the base-artifacts registry's key, kept here: it exists because of the source.
  if (source === "cache" && rec(c.baseArtifactsRegistry).taskCredential === "identity") {
    fail(
      ctx,
      ["baseArtifactsRegistry", "taskCredential"],
      "identity",
      "cannot be 'identity' with upstream.source 'cache': AcrPull covers the whole registry, cached Docker Hub repositories included, so app tasks could build on images no gate validated; the default keyVaultToken token reads only the promoted repositories",
    );
  }
  if (source === "cache" && rec(c.upstream).dockerHubCredentials === false) {
    fail(ctx, ["upstream", "dockerHubCredentials"], false, "cannot be false with upstream.source 'cache': Docker Hub cache rules need a credential set (Azure refuses them without one)");
  }
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
  return { source: u.source, dockerHubCredentials: dockerHubCredentials(file) };
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
