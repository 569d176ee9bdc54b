/**
 * A registry's `network`: public network access, IP rules, the trusted-services bypass and the
 * ACR Tasks bypass (help/security.md, "Private registries"). The rules here refuse what cannot
 * work on the ACR Tasks public agent pool and Azure Container Instances without VNet integration,
 * neither of which acr-gate builds; what the tasks need (the bypass for their system identities)
 * is derived, not asked for.
 *
 * Absent, the registry is the walkthrough's: public, no network rules, and the JSON carries none
 * of these attributes (every existing config synthesizes byte for byte as before). Present, even
 * empty, all four attributes are written, so that returning to an open registry is an explicit
 * change Terraform applies: `network_rule_set` is optional and computed in the provider, so
 * dropping it from the JSON would leave the last rules in place.
 */
import { z } from "zod";
import { list, named, oneOf, strict, unsetBool } from "./fields";
import { arr, Check, fail, fmtPath, Path, rec, some, str } from "./cross-field";
import { checkName } from "../rules";
import { gateUpstreams } from "./gate-upstream";

export const registryNetworkSchema = strict(
  {
    publicAccess: oneOf(
      ["enabled", "disabled"] as const,
      "enabled",
      "`disabled`: no access over the public endpoint at all (reach it through a private endpoint you create); ACR Tasks still reach it through the tasks' bypass; refused on a team registry with apps (their container groups pull over the public endpoint)",
    ),
    allowIps: list(
      named("ipv4Range", "A public IPv4 address or CIDR range allowed to reach the registry (private, loopback, link-local, multicast and reserved blocks are refused)"),
      "With publicAccess enabled: only these addresses may reach the public endpoint (network rules, default action Deny); empty: every address. Not `0.0.0.0/0`, no host bits set, no repeats",
    )
      .meta({ uniqueItems: true })
      .default([]),
    trustedServices: unsetBool(
      "Let trusted Azure services bypass the network rules (`network_rule_bypass_option` AzureServices, else None); default: true where ACR Tasks reach the registry (they need it), else false. `false` is refused where tasks reach it",
    ),
  },
  "Network access (help/security.md, \"Private registries\"); absent: public with no network rules, as in the walkthrough",
).optional();

/** One registry's network settings, every one stated; null: none written (the walkthrough's registry). */
export interface RegistryNetwork {
  /** `public_network_access_enabled`. */
  readonly publicAccess: boolean;
  /** `network_rule_set.ip_rule`, in the order written; with any, the default action is Deny. */
  readonly allowIps: readonly string[];
  /** Public access off or IP rules: outside addresses are refused. */
  readonly restricted: boolean;
  /** `network_rule_bypass_option`: AzureServices (true) or None. */
  readonly trustedServices: boolean;
  /** `network_rule_bypass_for_tasks_enabled`: the tasks' system identities pass the rules. */
  readonly tasksBypass: boolean;
}

const octets = (ip: string) => ip.split(".").map(Number);

/**
 * Ranges that are not public addresses (RFC 6890's special-purpose blocks): a registry's IP rules
 * filter the public endpoint, which no such address reaches. The documentation ranges (RFC 5737:
 * 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) stay allowed: examples use them.
 */
const NOT_PUBLIC: [string, number, string][] = [
  ["0.0.0.0", 8, "'this network'"],
  ["10.0.0.0", 8, "private (RFC 1918)"],
  ["100.64.0.0", 10, "shared address space (carrier-grade NAT)"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private (RFC 1918)"],
  ["192.0.0.0", 24, "IETF protocol assignments"],
  ["192.168.0.0", 16, "private (RFC 1918)"],
  ["198.18.0.0", 15, "benchmarking"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
];

/** Why a range that passed the ipv4Range grammar still has no place in a registry's IP rules. */
function rangeProblem(range: string): string | undefined {
  const [ip, prefixText] = range.split("/");
  const start = octets(ip).reduce((acc, o) => acc * 256 + o, 0);
  const width = prefixText === undefined ? 32 : Number(prefixText);
  for (const [block, bits, what] of NOT_PUBLIC) {
    const b = octets(block).reduce((acc, o) => acc * 256 + o, 0);
    // Overlapping: the range and the block share an address.
    const [lo, hi] = [start - (start % 2 ** (32 - width)), start - (start % 2 ** (32 - width)) + 2 ** (32 - width) - 1];
    if (width > 0 && lo <= b + 2 ** (32 - bits) - 1 && b <= hi) return `is not a public address: ${block}/${bits} is ${what}, which never reaches a registry's public endpoint`;
  }
  if (prefixText === undefined) return undefined;
  const prefix = width;
  if (prefix === 0) return "allows every address: leave allowIps empty instead (or list the addresses meant)";
  const value = octets(ip).reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  if (value % size !== 0) {
    const base = value - (value % size);
    const network = [24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".");
    return `has host bits set: the range /${prefix} starts at ${network}; write ${network}/${prefix}`;
  }
  return undefined;
}

/** The same range, whether written `a.b.c.d` or `a.b.c.d/32`. */
const canonical = (range: string) => (range.includes("/") ? range : `${range}/32`);

/**
 * The registries ACR Tasks reach: the simulated public registry (its image tasks run there and the
 * gates pull from it), the base-artifacts registry (the gates run there; apps pull from it), and a
 * team registry with an app (the app's task runs there). A team registry without apps runs no task.
 */
export function tasksReach(c: Record<string, unknown>, path: Path): boolean {
  if (path[0] !== "teamRegistries") return true;
  const name = rec(arr(c.teamRegistries)[path[1] as number]).name;
  return typeof name === "string" && arr(c.apps).some((a) => rec(a).registry === name);
}

/** `registries`: every registry of the file with its path (lib/config/registries.ts, registriesOf). */
export function registryNetworkRules({ ctx, c }: Check, registries: readonly { path: Path; r: Record<string, unknown> }[]): void {
  const apps = arr(c.apps).map((a) => rec(a));
  for (const { path, r } of registries) {
    if (r.network === undefined || r.network === null) continue;
    const n = rec(r.network);
    const at = (...k: Path) => [...path, "network", ...k];
    const disabled = n.publicAccess === "disabled";
    const ips = arr(n.allowIps);
    const seen = new Map<string, number>();
    ips.forEach((ip, j) => {
      if (typeof ip !== "string" || checkName("ipv4Range", ip) !== undefined) return; // its own rule said why
      const problem = rangeProblem(ip);
      if (problem) fail(ctx, at("allowIps", j), ip, problem);
      const k = seen.get(canonical(ip));
      if (k !== undefined) fail(ctx, at("allowIps", j), ip, `repeats allowIps[${k}]`);
      else seen.set(canonical(ip), j);
    });
    if (disabled && ips.length > 0) {
      fail(ctx, at("allowIps"), n.allowIps, "has no effect with publicAccess 'disabled': IP rules only filter the public endpoint, which is then closed; remove one of them");
    }
    const restricted = disabled || ips.length > 0;
    if (!restricted) continue;
    // Which key made the registry restricted: the one a message about it names.
    const cause = disabled ? at("publicAccess") : at("allowIps");
    const causeValue = disabled ? "disabled" : n.allowIps;
    const causeText = `${fmtPath(cause)} ${disabled ? "'disabled'" : "set"}`;
    const tasks = tasksReach(c, path);
    if (tasks && n.trustedServices === false) {
      fail(
        ctx,
        at("trustedServices"),
        false,
        "cannot be false on a restricted registry ACR Tasks reach: the tasks run on the public agent pool, whose addresses no rule can list, and pass only through the trusted-services bypass (help/security.md, \"Private registries\")",
      );
    }
    const who = path[0];
    // A taskCredential of a wrong value already failed its own rule.
    const tokenPulls = r.taskCredential === undefined || r.taskCredential === "keyVaultToken";
    if (who === "publicRegistry" && tokenPulls) {
      fail(
        ctx,
        [...path, "taskCredential"],
        r.taskCredential ?? "keyVaultToken",
        `must be 'identity' with ${causeText}: the gates pull from this registry on the public agent pool, and only the tasks' own identities pass its network rules (network_rule_bypass_for_tasks_enabled), not a pull token's login`,
      );
    }
    if (who === "baseArtifactsRegistry" && apps.length > 0 && tokenPulls) {
      const cache = gateUpstreams(c).some((u) => u?.via === "cache");
      fail(
        ctx,
        cache ? cause : [...path, "taskCredential"],
        cache ? causeValue : (r.taskCredential ?? "keyVaultToken"),
        cache
          ? "cannot work with images through the artifact cache and apps: the app tasks pull their base images from this registry with its pull token (identity is refused with the cache), and only the tasks' own identities pass its network rules; leave this registry open, or the apps out"
          : `must be 'identity' with ${causeText}: the app tasks pull their base images from this registry on the public agent pool, and only the tasks' own identities pass its network rules (network_rule_bypass_for_tasks_enabled), not a pull token's login`,
      );
    }
    if (who === "teamRegistries") {
      const name = str(r.name);
      const deployed = apps.filter((a) => name !== undefined && a.registry === name).map((a) => (typeof a.name === "string" ? a.name : "?"));
      if (deployed.length > 0) {
        fail(
          ctx,
          cause,
          causeValue,
          `cannot work with the apps ${some(deployed)}: their container groups pull from this registry, ${
            disabled
              ? "and with public access disabled only a container group in a virtual network reaches it (through a private endpoint), which acr-gate does not build"
              : "and Azure Container Instances pulls from addresses that are not fixed, so no IP rule can allow it"
          }; leave this registry's network open, or move the apps to an open team registry`,
        );
      }
    }
  }
}

/** The registry's settings as written to the JSON; `tasks`: whether ACR Tasks reach it ({@link tasksReach}). */
export function resolveRegistryNetwork(n: z.output<typeof registryNetworkSchema>, tasks: boolean): RegistryNetwork | null {
  if (!n) return null;
  const publicAccess = n.publicAccess === "enabled";
  const restricted = !publicAccess || n.allowIps.length > 0;
  return {
    publicAccess,
    allowIps: n.allowIps,
    restricted,
    trustedServices: n.trustedServices ?? tasks,
    // Since 2025-06-01 ACR refuses the bypass to tasks' system identities unless this is set.
    tasksBypass: restricted && tasks,
  };
}
