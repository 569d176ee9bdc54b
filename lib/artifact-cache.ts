/**
 * The artifact cache's names (`upstream.source: cache`, gates `via: cache`, help/artifact-cache.md),
 * in one place: the config rules check them, the constructs use them.
 *
 * A Docker Hub repository `node` (an official image, `library/node` upstream) is cached by a rule
 * `dockerhub-node` from `docker.io/library/node` into `dockerhub/node` in the base-artifacts
 * registry. Every cached repository sits under `dockerhub/`: a rule's target repository refuses
 * pushes, so it must never be one a gate promotes into. Other upstreams have namespaces of their
 * own (lib/upstream-hosts.ts): `mcr.microsoft.com/dotnet/runtime` is `mcr/dotnet/runtime`, rule
 * `mcr-dotnet-runtime`.
 */
import { createHash } from "crypto";
import { SIMULATED, upstreamHost } from "./upstream-hosts";

const DOCKER_HUB_LOGIN_SERVER = "docker.io";
/**
 * A cache fetches from upstream only when something pulls: the gate's daily run is what pulls
 * (and so refreshes) the cached tag. Default timer of a gate in cache mode, UTC.
 */
export const CACHE_REFRESH_TIMER = "0 4 * * *";

// azurerm's validation of a cache rule name: ^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$, 5-49 characters.
const RULE_NAME = /^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$/;

export interface CachedRepository {
  /** The upstream repository, what the rule's `source_repo` takes: `docker.io/library/node`. */
  readonly sourceRepo: string;
  /** Where the base-artifacts registry keeps it: `dockerhub/node`. */
  readonly targetRepo: string;
  /** The cache rule's name: `dockerhub-node`. */
  readonly ruleName: string;
}

/**
 * A repository of an upstream as a gate names it (`node`, `library/node` or `bitnami/redis` at
 * docker.io; `dotnet/runtime` at mcr.microsoft.com), cached under the upstream's namespace
 * (lib/upstream-hosts.ts): `dockerhub/node`, `mcr/dotnet/runtime`. Docker Hub's official images
 * lose `library/` in the cache, as in a gate's default target.
 */
export function cachedRepository(repository: string, host = DOCKER_HUB_LOGIN_SERVER): CachedRepository {
  const namespace = upstreamHost(host)?.namespace;
  if (!namespace) throw new Error(`${JSON.stringify(host)} is not an upstream registry acr-gate knows`);
  const dockerHub = host === DOCKER_HUB_LOGIN_SERVER;
  const path = dockerHub ? repository.replace(/^library\//, "") : repository;
  const upstream = dockerHub && !path.includes("/") ? `library/${path}` : path;
  let ruleName = `${namespace}-${path}`.replace(/[/._]+/g, "-").replace(/-+/g, "-").replace(/-$/, "");
  // Flattening to '-' loses what told two paths apart (`bar_baz` and `bar-baz`; `gar-us` + `x/y` and
  // `gar-us-x` + `y`): outside Docker Hub (whose names stay what they always were) such a name
  // carries a hash of the whole, so no two repositories of any upstreams share one.
  const lossy = !dockerHub && (namespace.includes("-") || /[._-]/.test(path));
  if (lossy || ruleName.length > 49 || !RULE_NAME.test(ruleName)) {
    // Long paths keep a readable start and a hash of the whole, so two never share a name.
    const hash = createHash("sha256").update(dockerHub ? path : `${host}/${path}`).digest("hex").slice(0, 8);
    ruleName = `${ruleName.slice(0, 40).replace(/-+$/, "")}-${hash}`;
  }
  return { sourceRepo: `${host}/${upstream}`, targetRepo: `${namespace}/${path}`, ruleName };
}

/**
 * Where a gate pulls its source from, in one place (the gate construct's `REGISTRY_FROM_URL`, the
 * config's tag-length rule, acb-check's expectation): `prefix` + `repository:tag`. From the
 * simulated registry or pulled directly, the source as it is at its host; through the cache, the
 * cached repository in base artifacts (`<base>/mcr/dotnet/runtime`, `<base>/dockerhub/node`).
 */
export function gatePull(
  upstream: { readonly host: string; readonly via: "cache" | "direct" },
  repository: string,
  servers: { readonly simulated?: string; readonly base: string },
): { prefix: string; repository: string; cached?: CachedRepository } {
  if (upstream.host === SIMULATED) return { prefix: `${servers.simulated}/`, repository };
  if (upstream.via === "direct") return { prefix: `${upstream.host}/`, repository };
  const cached = cachedRepository(repository, upstream.host);
  const namespace = upstreamHost(upstream.host)!.namespace;
  return { prefix: `${servers.base}/${namespace}/`, repository: cached.targetRepo.slice(namespace.length + 1), cached };
}
