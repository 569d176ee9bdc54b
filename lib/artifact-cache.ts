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
import { upstreamHost } from "./upstream-hosts";

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
  if (ruleName.length > 49 || !RULE_NAME.test(ruleName)) {
    // Long paths keep a readable start and a hash of the whole, so two never share a name.
    const hash = createHash("sha256").update(dockerHub ? path : `${host}/${path}`).digest("hex").slice(0, 8);
    ruleName = `${ruleName.slice(0, 40).replace(/-+$/, "")}-${hash}`;
  }
  return { sourceRepo: `${host}/${upstream}`, targetRepo: `${namespace}/${path}`, ruleName };
}
