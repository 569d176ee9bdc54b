/**
 * The public registries a gated image may come from (`gatedImages[].upstream`), and what Azure
 * allows with each, in one place: the config rules refuse what Azure would refuse, the constructs
 * build from the same facts, and help/artifact-cache.md's table is checked against them
 * (__tests__/upstreams.test.ts).
 *
 * Sources: Azure's "Upstream support" table (azure-management-docs,
 * articles/container-registry/artifact-cache-overview.md, August 2026), the base image tracking of
 * ACR Tasks (container-registry-tasks-base-images.md: Docker Hub, MCR, Azure registries), and the
 * azurerm 4.81.0 schema of `azurerm_container_registry_cache_rule` (no managed identity, which
 * Azure needs to cache another Azure registry: artifact-cache-acr-to-acr-cli.md).
 */

/** The simulated public registry acr-gate builds (the walkthrough's), as a gate's upstream. */
export const SIMULATED = "simulated";

/**
 * Whether a login goes with a pull from the upstream: `required` (Azure's cache refuses the upstream
 * without a credential set), `anonymous` (no login exists or Azure refuses one), `optional`.
 */
export type LoginNeed = "required" | "anonymous" | "optional";

export interface UpstreamHost {
  /** The registry, as people call it (messages, help). */
  readonly title: string;
  /** Through the artifact cache: what Azure takes, or null when acr-gate cannot cache it (the reason). */
  readonly cache: { readonly login: LoginNeed } | { readonly refused: string };
  /** Pulled by the gate itself: whether a login may be given. */
  readonly direct: { readonly login: Exclude<LoginNeed, "required"> };
  /** ACR's base image trigger polls it (Docker Hub, MCR, Azure registries); elsewhere only a timer sees a change. */
  readonly tracked: boolean;
  /** Where the cache keeps its repositories in base artifacts: `<namespace>/<repository>`. */
  readonly namespace: string;
}

const ACR_CACHE_REFUSED =
  "azurerm 4.81.0's cache rule takes no managed identity, which Azure needs to cache another Azure registry (help/artifact-cache.md)";

/** The hosts by exact name. */
const NAMED: Readonly<Record<string, UpstreamHost>> = {
  "docker.io": { title: "Docker Hub", cache: { login: "required" }, direct: { login: "optional" }, tracked: true, namespace: "dockerhub" },
  "mcr.microsoft.com": { title: "Microsoft Artifact Registry", cache: { login: "anonymous" }, direct: { login: "anonymous" }, tracked: true, namespace: "mcr" },
  "public.ecr.aws": {
    title: "Amazon ECR Public Gallery",
    cache: { login: "anonymous" },
    // Its logins are 12-hour tokens: nothing a task could keep in Key Vault.
    direct: { login: "anonymous" },
    tracked: false,
    namespace: "ecr-public",
  },
  "ghcr.io": { title: "GitHub Container Registry", cache: { login: "optional" }, direct: { login: "optional" }, tracked: false, namespace: "ghcr" },
  "quay.io": { title: "Quay", cache: { login: "optional" }, direct: { login: "optional" }, tracked: false, namespace: "quay" },
  "registry.k8s.io": { title: "Kubernetes registry", cache: { login: "optional" }, direct: { login: "optional" }, tracked: false, namespace: "k8s" },
};

const GCR = /^(?:(us|eu|asia)\.)?gcr\.io$/;
// At most 50 characters in all (a credential set's name is the host's): Google's locations are far shorter.
const GAR = /^(?=[a-z0-9-]{1,35}-docker\.pkg\.dev$)([a-z]+(?:-[a-z0-9]+){0,4})-docker\.pkg\.dev$/;
const ACR = /^([a-z0-9]{5,50})\.azurecr\.io$/;

/** The facts of an upstream host, or undefined for a host acr-gate does not know (the rule `upstreamHost` refuses it). */
export function upstreamHost(host: string): UpstreamHost | undefined {
  if (Object.prototype.hasOwnProperty.call(NAMED, host)) return NAMED[host];
  let m = GCR.exec(host);
  if (m) return { title: "Google Container Registry", cache: { login: "optional" }, direct: { login: "optional" }, tracked: false, namespace: m[1] ? `gcr-${m[1]}` : "gcr" };
  m = GAR.exec(host);
  if (m) return { title: "Google Artifact Registry", cache: { login: "required" }, direct: { login: "optional" }, tracked: false, namespace: `gar-${m[1]}` };
  m = ACR.exec(host);
  if (m) return { title: "an Azure container registry", cache: { refused: ACR_CACHE_REFUSED }, direct: { login: "optional" }, tracked: true, namespace: `acr-${m[1]}` };
  return undefined;
}

/** An Azure registry's login server: `<name>.azurecr.io`, the name in lower case (Azure's own spelling). */
export const acrLoginServer = (name: string) => `${name.toLowerCase()}.azurecr.io`;

/** Every host pattern, for the naming rule (lib/rules.ts) and the JSON Schema. */
export const UPSTREAM_HOST_PATTERN = `^(?:${SIMULATED}|${Object.keys(NAMED)
  .map((h) => h.replace(/\./g, "\\."))
  .join("|")}|${GCR.source.slice(1, -1)}|${GAR.source.slice(1, -1)}|${ACR.source.slice(1, -1)})$`;

export const UPSTREAM_HOSTS_TEXT =
  "docker.io, mcr.microsoft.com, ghcr.io, quay.io, gcr.io (or us., eu., asia.gcr.io), <location>-docker.pkg.dev, registry.k8s.io, public.ecr.aws, <registry>.azurecr.io, or 'simulated'";

/**
 * The upstream's login as it is named in Terraform and Key Vault: `ghcr.io` gives the sensitive
 * variables `upstream_ghcr_io_username`/`_password`, the secrets `registry-ghcr-io-user`/`-password`
 * and the credential set `ghcr-io`. Docker Hub keeps the names it always had.
 */
export function loginNames(host: string): { variable: string; secret: string; credentialSet: string } {
  if (host === "docker.io") return { variable: "dockerhub", secret: "registry-dockerhub", credentialSet: "dockerhub" };
  const slug = host.replace(/\./g, "-");
  return { variable: `upstream_${slug.replace(/-/g, "_")}`, secret: `registry-${slug}`, credentialSet: slug };
}
