/**
 * How each gated image reaches its upstream ({@link gateUpstreams}), read from the file as written:
 * its host, through the artifact cache or by the gate's own pull, with a login or not. A leaf of
 * the config's sections: the upstream section's rules (lib/config/upstream.ts), the gates'
 * (gated-images.ts), the tokens' and the registries' network rules all ask it.
 */
import { arr, rec, valid } from "./cross-field";
import { SIMULATED, upstreamHost } from "../upstream-hosts";

/** The source as written, `simulated` when unset (a wrong value stays as it is, matching no source). */
export const upstreamSource = (c: Record<string, unknown>): unknown => rec(c.upstream).source ?? "simulated";

/** A gate's registry host as written, `upstream.source`'s when it names none; undefined when invalid. */
function gateHost(c: Record<string, unknown>, g: Record<string, unknown>): string | undefined {
  const source = upstreamSource(c);
  if (g.upstream !== undefined) return valid("upstreamHost", g.upstream) ? g.upstream : undefined;
  return source === "simulated" ? SIMULATED : source === "dockerhub" || source === "cache" ? "docker.io" : undefined;
}

/** Unset, a Docker Hub login is kept where upstream.source is Docker Hub's and some gate comes from docker.io. */
export const dockerHubCredentials = (c: Record<string, unknown>) => {
  const up = rec(c.upstream);
  if (typeof up.dockerHubCredentials === "boolean") return up.dockerHubCredentials;
  return (up.source === "dockerhub" || up.source === "cache") && arr(c.gatedImages).some((g) => gateHost(c, rec(g)) === "docker.io");
};

/** The hosts of `upstream.credentials` (valid ones only). */
const credentialHosts = (c: Record<string, unknown>) => new Set(arr(rec(c.upstream).credentials).filter((h): h is string => valid("upstreamHost", h)));

export type Via = "cache" | "direct";

/** How one gated image reaches its upstream. */
export interface GateUpstream {
  /** A registry host (lib/upstream-hosts.ts), or `simulated`. */
  readonly host: string;
  /** Through the base-artifacts registry's artifact cache, or pulled by the gate itself. */
  readonly via: Via;
  /** With the upstream's login (from Key Vault), or anonymously. */
  readonly login: boolean;
}

/**
 * How each gated image (as written) reaches its upstream, undefined where its `upstream` is invalid.
 * Unset, the upstream is `upstream.source`'s (the simulated registry, or docker.io), and `via`:
 * Docker Hub as `upstream.source` says (cache or direct), any other host through the cache where
 * Azure's cache takes it with the login given, else direct. The logins are read once for all gates.
 */
export function gateUpstreams(c: Record<string, unknown>): (GateUpstream | undefined)[] {
  const source = upstreamSource(c);
  const dockerHubLogin = dockerHubCredentials(c);
  const logins = credentialHosts(c);
  return arr(c.gatedImages).map((gate) => {
    const g = rec(gate);
    const host = gateHost(c, g);
    if (host === undefined) return undefined;
    const login = host === SIMULATED ? false : host === "docker.io" ? dockerHubLogin : logins.has(host);
    if (g.via === "cache" || g.via === "direct") return { host, via: g.via, login };
    const facts = upstreamHost(host);
    const cacheable = facts !== undefined && "login" in facts.cache && (facts.cache.login !== "required" || login);
    const via: Via = host === SIMULATED ? "direct" : host === "docker.io" ? (source === "cache" ? "cache" : "direct") : cacheable ? "cache" : "direct";
    return { host, via, login };
  });
}
