/**
 * `gatedImages`: public images imported through the gate (test, scan, promote). Rules that a gate
 * shares with another section live here, where the gate names the other: its source must be built
 * by the simulated public registry (the images are handed over by lib/config/schema.ts), its target
 * and task must not be the signer's, and through the artifact cache it must not promote into the
 * cache's namespace.
 */
import { z } from "zod";
import { checkName } from "../rules";
import { CACHE_REFRESH_TIMER, cachedRepository, gatePull } from "../artifact-cache";
import { acrLoginServer, SIMULATED, upstreamHost } from "../upstream-hosts";
import { bool, int, list, named, oneOf, strict, unsetBool, unsetOneOf } from "./fields";
import { arr, Check, fail, fmtPath, Path, rec, str, taskNamespace, valid } from "./cross-field";
import { compromisedTrivyRelease, imageRef, isPinned, SCANNER_IMAGE_FIELD } from "./images";
import { GateUpstream, gateUpstreams } from "./gate-upstream";
import { signerBuilt, SIGNER_REPOSITORY, SIGNER_TASK } from "./signing";

/**
 * Trivy 0.58.1, from GitHub's registry and pinned by digest: ACR's shared agents pull Docker Hub
 * anonymously (rate limited), and a tag can be moved. The digest is the multi-platform index that
 * aquasec/trivy:0.58.1 on Docker Hub carries too (help/security.md).
 */
export const DEFAULT_SCANNER_IMAGE = "ghcr.io/aquasecurity/trivy:0.58.1@sha256:ab70a02200597efa04748f210f793936eb647cbcdb0ea69cc30b226d6f5a22c7";
export const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW"] as const;
/** Promotion also pushes `<tag>-<run id>` (the rollback tag), and tags end at 128. */
const MAX_TARGET_TAG = 100;

const gatedImageSchema = strict(
  {
    source: named("imageTag", "`repository:tag` at the upstream, e.g. `node:15-alpine` or, at mcr.microsoft.com, `dotnet/runtime:8.0`; no registry host, no digest"),
    upstream: named(
      "upstreamHost",
      "The registry the source is at: docker.io, mcr.microsoft.com, ghcr.io, quay.io, gcr.io, <location>-docker.pkg.dev, registry.k8s.io, public.ecr.aws, <registry>.azurecr.io, or `simulated` (default: upstream.source's, the simulated registry or docker.io)",
    ).optional(),
    via: unsetOneOf(
      ["cache", "direct"] as const,
      "`cache`: the gate pulls through the base-artifacts registry's artifact cache (a cache rule per repository); `direct`: the gate pulls from the upstream itself. Default: Docker Hub as upstream.source says; another host through the cache where Azure's cache takes it (not <registry>.azurecr.io, and *-docker.pkg.dev only with a login), else direct (help/artifact-cache.md)",
    ),
    target: named("imageTag", "`repository:tag` it is promoted to in base artifacts (default: the source's, without `library/`); a tag of at most 100 characters (the rollback tag adds `-<run id>`)", {
      notPatterns: [`:[^:]{${MAX_TARGET_TAG + 1},}$`],
    }).optional(),
    taskName: named("task", "Gate task name (default `base-import-<target repository>`)").optional(),
    test: strict(
      {
        enabled: bool(true, "Run the functional test"),
        context: named("gitContext", "Git context with a Dockerfile built FROM the source (build args REGISTRY_FROM_URL, SOURCE_IMAGE) whose command is the test; required when enabled").optional(),
        dockerfile: named("relativePath", "Dockerfile path inside the test context").default("Dockerfile"),
        timeoutSeconds: int(60, 3600, 600, "Seconds the test may run"),
      },
      "The functional test: a non-zero exit blocks promotion",
    ).prefault({}),
    scan: strict(
      {
        enabled: bool(true, "Run the vulnerability scan (Trivy)"),
        mode: oneOf(["enforce", "report"] as const, "enforce", "`enforce` blocks promotion on findings at failOn or above; `report` only logs them"),
        failOn: oneOf(SEVERITIES, "HIGH", "Lowest severity that counts (that severity and above)"),
        ignoreUnfixed: bool(true, "Ignore findings without a fixed version"),
        // Its pin and compromised-release rules (lib/config/images.ts), for editors; the cross-field check below applies them.
        image: named("imageReference", "Scanner image, pinned to a version tag or digest (never `latest`); never Trivy 0.69.4-0.69.6 (malicious releases, help/security.md)", SCANNER_IMAGE_FIELD).default(
          DEFAULT_SCANNER_IMAGE,
        ),
        timeoutSeconds: int(60, 3600, 900, "Seconds the scan may run"),
      },
      "The vulnerability scan",
    ).prefault({}),
    timer: named("cron", "Five-field cron schedule (UTC); required when test.enabled is false or baseImageTrigger is false").nullable().optional(),
    baseImageTrigger: unsetBool("Run when the source image changes, seen through the test image's base (default: test.enabled; impossible without the test)"),
    allowUnvalidated: bool(false, "Must be true to promote with neither a test nor an enforcing scan"),
  },
  "A public image imported through the gate",
).meta({
  description: "A public image imported through the gate",
  // For editors, the cross-field rule below: the test is on unless `test.enabled: false`, and then needs its context.
  anyOf: [
    { properties: { test: { type: "object", properties: { enabled: { const: false } }, required: ["enabled"] } }, required: ["test"] },
    { properties: { test: { type: "object", required: ["context"] } }, required: ["test"] },
  ],
});

const AT_LEAST_ONE = "must list at least one gated image";
// Missing is the list's own rule; empty is checked with the cross-field rules (below), in their order.
export const gatedImagesField = list(gatedImageSchema, "Gated public images, at least one", AT_LEAST_ONE).meta({ minItems: 1 });

/** Where the gate promotes: its own target, or the source without Docker Hub's `library/`. */
export const gateTarget = (g: Record<string, unknown>) => str(g.target) ?? (valid("imageTag", g.source) ? g.source.replace(/^library\//, "") : undefined);

export const gateTaskName = (g: Record<string, unknown>) => {
  if (str(g.taskName)) return g.taskName as string;
  const target = gateTarget(g);
  return target ? `base-import-${target.split(":")[0].replace(/[^a-zA-Z0-9-]/g, "-")}`.slice(0, 50) : undefined;
};

/**
 * Through a cache, the gate's own runs are what refresh the cached tag; from an upstream ACR does
 * not poll (ghcr.io, quay.io, ...), only a run sees a change: a daily run by default in both.
 */
const needsTimer = (u: GateUpstream | undefined) => u !== undefined && (u.via === "cache" || (u.host !== SIMULATED && upstreamHost(u.host)?.tracked === false));
const gateTimer = <T>(timer: T, u: GateUpstream | undefined): T | string => (timer === undefined && needsTimer(u) ? CACHE_REFRESH_TIMER : timer);

/** Azure's longest tag value: the gate's task records what it pulls and pushes in its tags (`acr-gate-from`, `acr-gate-builds`). */
const TAG_VALUE_MAX = 256;
/** Azure's artifact cache: at most 1,000 rules per registry. */
const MAX_CACHE_RULES = 1000;
const loginServer = (r: unknown) => (valid("registry", rec(r).name) ? acrLoginServer(rec(r).name as string) : undefined);

/** What a gate pulls, as its task's `acr-gate-from` tag records it, or undefined where a registry name is invalid. */
function pulledReference(c: Record<string, unknown>, u: GateUpstream, source: string): string | undefined {
  const { repository, tag } = imageRef(source);
  const base = loginServer(c.baseArtifactsRegistry);
  const simulated = loginServer(c.publicRegistry);
  if (!base || (u.host === SIMULATED && !simulated)) return undefined;
  const pull = gatePull(u, repository, { simulated, base });
  return `${pull.prefix}${pull.repository}:${tag}`;
}

/** Where a gate's images come from, for messages: `docker.io/library/node` or `the simulated registry's node`. */
const originOf = (u: GateUpstream, repository: string) =>
  u.host === SIMULATED ? `the simulated registry's ${repository}` : `${u.host}/${u.host === "docker.io" ? repository.replace(/^library\//, "") : repository}`;

/**
 * `builtImages`: what the simulated public registry builds (lib/config/upstream.ts), undefined
 * without one. Returns the gates' targets, which the apps' base images must be (lib/config/apps.ts).
 */
export function gatedImageRules({ ctx, c }: Check, builtImages: ReadonlySet<string> | undefined): ReadonlyMap<string, Path> {
  const gates = arr(c.gatedImages);
  const upstreams = gateUpstreams(c);
  // Cached repositories live under their upstream's namespace, which refuses pushes: no gate promotes there.
  const cacheNamespaces = new Set(upstreams.flatMap((u) => (u?.via === "cache" && u.host !== SIMULATED ? [upstreamHost(u.host)!.namespace] : [])));
  // Each target repository holds one upstream repository's images (two would mix unnoticed).
  const targetOrigins = new Map<string, { origin: string; path: Path }>();
  if (Array.isArray(c.gatedImages) && gates.length === 0) fail(ctx, ["gatedImages"], gates, AT_LEAST_ONE);
  const gateTasks = taskNamespace("baseArtifactsRegistry");
  const targets = new Map<string, Path>();
  const targetTags = new Map<string, { tag: string; path: Path }[]>(); // by repository
  const cacheRules = new Map<string, { sourceRepo: string; path: Path }>();
  gates.forEach((g, i) => {
    const o = rec(g);
    const p: Path = ["gatedImages", i];
    const u = upstreams[i];
    const target = gateTarget(o);
    const targetPath: Path = o.target === undefined ? [...p, "source"] : [...p, "target"];
    if (target && valid("imageTag", target)) {
      const first = targets.get(target);
      const { repository: repo, tag } = imageRef(target);
      if (first) fail(ctx, targetPath, target, `is also the target of ${fmtPath(first)}; targets must differ`);
      else if (tag.length > MAX_TARGET_TAG) {
        fail(ctx, targetPath, target, "has a tag longer than 100 characters: promotion adds '-<run id>' for the rollback tag, and tags end at 128");
      } else {
        // Each promotion also pushes <tag>-<run id>: another target in that space would be overwritten.
        const sameRepo = targetTags.get(repo) ?? [];
        const clash = sameRepo.find((t) => tag.startsWith(`${t.tag}-`) || t.tag.startsWith(`${tag}-`));
        if (clash) {
          fail(ctx, targetPath, target, `collides with the rollback tags '${repo}:${clash.tag}-<run id>' of ${fmtPath(clash.path)} (or they with its own); choose a tag that is not the other's followed by '-'`);
        }
        sameRepo.push({ tag, path: targetPath });
        targetTags.set(repo, sameRepo);
        targets.set(target, targetPath);
      }
    }
    const taskName = gateTaskName(o);
    const taskPath: Path = o.taskName !== undefined ? [...p, "taskName"] : o.target !== undefined ? [...p, "target"] : [...p, "source"];
    if (taskName && o.taskName === undefined && !valid("task", taskName)) {
      fail(ctx, taskPath, o.target ?? o.source, `gives the default taskName ${JSON.stringify(taskName)}, which ${checkName("task", taskName)}; set taskName`);
    } else if (taskName && valid("task", taskName)) gateTasks.claim(ctx, taskPath, taskName);

    if (signerBuilt(c)) {
      if (target && valid("imageTag", target) && target.startsWith(`${SIGNER_REPOSITORY}:`)) {
        fail(ctx, targetPath, target, `is the repository of the signer image acr-gate builds (signing.signerContext); promote elsewhere`);
      }
      if (taskName === SIGNER_TASK) fail(ctx, taskPath, taskName, `is the task that builds the signer image (signing.signerContext); name the gate otherwise`);
    }
    if (target && valid("imageTag", target)) {
      const repo = imageRef(target).repository;
      const ns = [...cacheNamespaces].find((n) => repo === n || repo.startsWith(`${n}/`));
      if (ns) {
        fail(ctx, targetPath, target, `is in '${ns}/', where the artifact cache keeps ${ns === "dockerhub" ? "Docker Hub's" : "an upstream's"} repositories (a cached repository refuses pushes); promote elsewhere`);
      }
      if (u && valid("imageTag", o.source)) {
        const origin = originOf(u, imageRef(o.source).repository);
        const first = targetOrigins.get(repo);
        if (first && first.origin !== origin) {
          fail(
            ctx,
            targetPath,
            target,
            `would put ${origin} into the repository '${repo}', which ${fmtPath(first.path)} fills from ${first.origin}; acr-gate refuses to mix two upstream repositories in one (apps could not tell them apart): give one of them another target, e.g. '${upstreamHost(u.host)?.namespace ?? "simulated"}-${repo}:${imageRef(target).tag}'`,
          );
        } else if (!first) targetOrigins.set(repo, { origin, path: targetPath });
      }
    }
    // The task's tags record what it pulls and pushes: past Azure's 256 characters the apply fails.
    const pulled = u && valid("imageTag", o.source) ? pulledReference(c, u, o.source) : undefined;
    if (pulled && pulled.length > TAG_VALUE_MAX) {
      fail(ctx, [...p, "source"], o.source, `is pulled as ${pulled.length} characters ('${pulled.slice(0, 60)}...'), which the gate's task tag acr-gate-from records: past Azure's ${TAG_VALUE_MAX} for a tag value; a shorter repository or tag`);
    }
    const pushed = target && valid("imageTag", target) && loginServer(c.baseArtifactsRegistry) ? `${loginServer(c.baseArtifactsRegistry)}/${target}` : undefined;
    if (pushed && pushed.length > TAG_VALUE_MAX) {
      fail(ctx, targetPath, target, `is pushed as ${pushed.length} characters, which the gate's task tag acr-gate-builds records: past Azure's ${TAG_VALUE_MAX} for a tag value; set a shorter target`);
    }
    if (u?.via === "cache" && u.host !== SIMULATED && upstreamHost(u.host) && valid("imageTag", o.source)) {
      const cached = cachedRepository(imageRef(o.source).repository, u.host);
      const first = cacheRules.get(cached.ruleName);
      if (first && first.sourceRepo !== cached.sourceRepo) {
        fail(ctx, [...p, "source"], o.source, `gives the cache rule name ${JSON.stringify(cached.ruleName)}, as ${fmtPath(first.path)} does for another repository (Docker Hub rule names keep no hash, as deployed); give one of them via: direct`);
      } else if (!first) cacheRules.set(cached.ruleName, { sourceRepo: cached.sourceRepo, path: [...p, "source"] });
    }
    if (u?.host === SIMULATED && builtImages && valid("imageTag", o.source) && !builtImages.has(o.source)) {
      fail(ctx, [...p, "source"], o.source, `must be built by one of publicRegistry.images (${o.upstream === SIMULATED ? "its upstream" : "upstream.source"} is 'simulated')`);
    }
    const test = rec(o.test);
    const scan = rec(o.scan);
    const testEnabled = test.enabled !== false;
    const scanEnforces = scan.enabled !== false && (scan.mode ?? "enforce") === "enforce";
    const timer = gateTimer(o.timer, u);
    if (testEnabled && test.context === undefined) fail(ctx, [...p, "test", "context"], undefined, "is required when test.enabled is true");
    if (!testEnabled && !scanEnforces && o.allowUnvalidated !== true) {
      fail(ctx, p, o.source, "would be promoted unvalidated: enable test, or scan with mode 'enforce', or set allowUnvalidated: true");
    }
    if (!testEnabled && o.baseImageTrigger === true) {
      fail(ctx, [...p, "baseImageTrigger"], true, "cannot fire when test.enabled is false: no build step has the source as its base image, which is what ACR tracks");
    }
    if (!testEnabled && (timer === undefined || timer === null)) {
      // Without the test build no step has the source as its runtime base image, so ACR cannot track it.
      fail(ctx, [...p, "timer"], undefined, "is required when test.enabled is false: no base image trigger can see the source");
    } else if (o.baseImageTrigger === false && (timer === undefined || timer === null)) {
      fail(ctx, [...p, "timer"], undefined, "is required when baseImageTrigger is false: nothing would ever run the gate");
    }
    if (typeof scan.image === "string" && valid("imageReference", scan.image)) {
      if (!isPinned(scan.image)) fail(ctx, [...p, "scan", "image"], scan.image, "must be pinned to a version tag or digest (not 'latest')");
      const compromised = compromisedTrivyRelease(scan.image);
      if (compromised) {
        fail(
          ctx,
          [...p, "scan", "image"],
          scan.image,
          `is Trivy ${compromised}, a malicious release (GHSA-69fq-xp46-6x23, March 2026: 0.69.4 on every registry, 0.69.5 and 0.69.6 on Docker Hub); pin a release before or after them by digest (help/security.md)`,
        );
      }
    }
  });
  // Azure's limit per registry; rules are per upstream repository, so many tags share one.
  if (cacheRules.size > MAX_CACHE_RULES) fail(ctx, ["gatedImages"], `${cacheRules.size} cache rules`, `need ${cacheRules.size} cache rules in the base-artifacts registry, past Azure's ${MAX_CACHE_RULES}; give some gates via: direct`);
  return targets;
}

/** `upstream`: how it reaches its upstream, from {@link gateUpstreams} of the file (valid once resolved). */
export function resolveGatedImage(g: z.output<typeof gatedImageSchema>, upstream: GateUpstream) {
  return {
    source: imageRef(g.source),
    upstream,
    target: imageRef(gateTarget(g)!),
    taskName: gateTaskName(g)!,
    test: { enabled: g.test.enabled, context: g.test.context ?? "", dockerfile: g.test.dockerfile, timeoutSeconds: g.test.timeoutSeconds },
    scan: g.scan,
    timer: gateTimer(g.timer, upstream) ?? null,
    baseImageTrigger: g.baseImageTrigger ?? g.test.enabled,
    allowUnvalidated: g.allowUnvalidated,
  };
}

export type GatedImageConfig = ReturnType<typeof resolveGatedImage>;
export type ScanMode = GatedImageConfig["scan"]["mode"];
export type Severity = GatedImageConfig["scan"]["failOn"];
