/**
 * The artifact cache's names (`upstream.source: cache`, help/artifact-cache.md), in one place: the
 * config rules check them, the constructs use them.
 *
 * A Docker Hub repository `node` (an official image, `library/node` upstream) is cached by a rule
 * `dockerhub-node` from `docker.io/library/node` into `dockerhub/node` in the base-artifacts
 * registry. Every cached repository sits under `dockerhub/`: a rule's target repository refuses
 * pushes, so it must never be one a gate promotes into.
 */
import { createHash } from "crypto";

export const CACHE_NAMESPACE = "dockerhub";
export const DOCKER_HUB_LOGIN_SERVER = "docker.io";
/** The credential set holding the Docker Hub login (5-50 letters, digits and hyphens). */
export const DOCKER_HUB_CREDENTIAL_SET = "dockerhub";
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

/** A Docker Hub repository as a gate names it (`node`, `library/node` or `bitnami/redis`). */
export function cachedRepository(repository: string): CachedRepository {
  const path = repository.replace(/^library\//, "");
  const upstream = path.includes("/") ? path : `library/${path}`;
  let ruleName = `${CACHE_NAMESPACE}-${path}`.replace(/[/._]+/g, "-").replace(/-+/g, "-").replace(/-$/, "");
  if (ruleName.length > 49 || !RULE_NAME.test(ruleName)) {
    // Long paths keep a readable start and a hash of the whole, so two never share a name.
    const hash = createHash("sha256").update(path).digest("hex").slice(0, 8);
    ruleName = `${ruleName.slice(0, 40).replace(/-+$/, "")}-${hash}`;
  }
  return { sourceRepo: `${DOCKER_HUB_LOGIN_SERVER}/${upstream}`, targetRepo: `${CACHE_NAMESPACE}/${path}`, ruleName };
}
