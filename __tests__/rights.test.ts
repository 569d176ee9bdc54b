/**
 * help/rights.md's table of rights per deployer kind is what the JSON needs, no more, no less
 * (issue 28): the rights every stack of the default config and every example needs
 * (app/deployer-rights.ts: each resource written, the operations it calls, at the scope it is
 * written), classed per deployer kind, against the rows of the page's table.
 */
import * as fs from "fs";
import * as path from "path";
import { Right, rightsNeeded, Scope } from "../app/deployer-rights";
import { synthesizeInMemory } from "../app/synth";
import { DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import type { AcrGateConfig } from "../lib/config/schema";

const repo = path.join(__dirname, "..");
const configs: [string, string][] = [
  ["default", DEFAULT_CONFIG_YAML],
  ...fs
    .readdirSync(path.join(repo, "examples"))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f): [string, string] => [f, fs.readFileSync(path.join(repo, "examples", f), "utf8")]),
  // The split layout with its states in Azure storage, per environment (help/operations.md).
  ["split on azurerm, dev", `${fs.readFileSync(path.join(repo, "examples", "split.yaml"), "utf8")}\nenvironment: dev\nbackend: { type: azurerm, resourceGroupName: tfstate-rg, storageAccountName: acrgatestate }\n`],
];

type Kind = "platform" | "team" | "ci";

/**
 * A stack's own resource groups: those it creates, and for a split team the groups the config gives
 * it (its registry's, its apps'), which the platform creates for it.
 */
function groupsOf(tf: any, config: AcrGateConfig, stack: string): Set<string> {
  const team = config.layout === "split" ? config.teamRegistries.find((t) => `${config.stackName}-${t.name}` === stack) : undefined;
  const given = team ? [team.resourceGroup, ...config.apps.filter((a) => a.registry === team.name).map((a) => a.aci.resourceGroup)] : [];
  return new Set([...Object.values<any>(tf.resource?.azurerm_resource_group ?? {}).map((g) => String(g.name)), ...given]);
}

/**
 * The group a platform output's resource lives in, read from the platform's JSON (a team identity:
 * the team registry's group), or undefined.
 */
function groupOfOutput(platform: any, output: string): string | undefined {
  const m = /^\$\{([a-z_]+)\.([\w-]+)\.id\}$/.exec(String(platform.output?.[output]?.value ?? ""));
  const rg = m ? platform.resource?.[m[1]]?.[m[2]]?.resource_group_name : undefined;
  const g = typeof rg === "string" ? /^\$\{azurerm_resource_group\.([\w-]+)\.name\}$/.exec(rg) : null;
  return g ? platform.resource.azurerm_resource_group[g[1]].name : typeof rg === "string" && !rg.includes("${") ? rg : undefined;
}

/**
 * A scope as the table names it, for the deployer of that stack: its own groups, the subscription,
 * its state, or what it reads from the platform. Anything else is a right outside the kind's reach
 * and is named as such (the test then fails on it).
 */
function classify(scope: Scope, own: Set<string>, kind: Kind, platform: any): string {
  switch (scope.kind) {
    case "subscription":
      return "the subscription";
    case "resourceGroup":
      return own.has(scope.name) ? "its resource groups" : `resource group ${scope.name}, not its own`;
    case "remote": {
      // What the platform made inside this team's groups (its task identity) is in its groups.
      const g = groupOfOutput(platform, scope.output);
      return g !== undefined && own.has(g) ? "its resource groups" : `the platform's ${scope.output}`;
    }
    case "state":
      return scope.own ? "its state container" : kind === "team" ? "its environment's platform state container" : "a state it reads";
  }
}

/** What plan alone calls: reads (refresh), and the state's lease (the lock; none with -lock=false). */
const readOnly = (action: string) =>
  /\/read$|\/listDetails\/action$|sharedKeys\/action$|: (secrets|certificates) get$|: blobs read$/.test(action) &&
  // Reads that only a create or a delete makes (a name's availability, a deleted vault, a group's contents).
  !/checkNameAvailability\/read$|deletedVaults\/read$|resourceGroups\/resources\/read$/.test(action);

function derived(): Map<Kind, Set<string>> {
  const out = new Map<Kind, Set<string>>([
    ["platform", new Set()],
    ["team", new Set()],
    ["ci", new Set()],
  ]);
  for (const [, yaml] of configs) {
    const config = parseConfig(yaml);
    const stacks = [...synthesizeInMemory(config).entries()];
    const [platformName, platform] = stacks[0];
    for (const [name, tf] of stacks) {
      const kind: Kind = name === platformName ? "platform" : "team";
      const own = groupsOf(tf, config, name);
      for (const r of rightsNeeded(tf) as Right[]) {
        const where = classify(r.scope, own, kind, platform);
        out.get(kind)!.add(`${r.action} | ${where}`);
        if (readOnly(r.action)) out.get("ci")!.add(`${r.action} | ${kind === "team" && where === "its resource groups" ? "the teams' resource groups" : where === "its resource groups" ? "the platform's resource groups" : where}`);
      }
      // The plan's lock: a lease on its own state blob (help/split.md, "State").
      if (rightsNeeded(tf).some((r) => r.scope.kind === "state" && r.scope.own)) out.get("ci")!.add("Storage data: blobs write (the plan's lock) | its state container");
    }
  }
  return out;
}

/** The table of help/rights.md: `| kind | action | scope |` rows. */
function table(): Map<Kind, Set<string>> {
  const text = fs.readFileSync(path.join(repo, "help", "rights.md"), "utf8");
  const out = new Map<Kind, Set<string>>([
    ["platform", new Set()],
    ["team", new Set()],
    ["ci", new Set()],
  ]);
  for (const m of text.matchAll(/^\| (platform|team|ci) \| `([^`]+)` \| ([^|]+) \|$/gm)) out.get(m[1] as Kind)!.add(`${m[2]} | ${m[3].trim()}`);
  return out;
}

describe("help/rights.md: what each deployer kind needs, derived from the JSON of every example", () => {
  const need = derived();
  const granted = table();
  test.each(["platform", "team", "ci"] as Kind[])("%s: the table grants exactly what the stacks need", (kind) => {
    const missing = [...need.get(kind)!].filter((r) => !granted.get(kind)!.has(r)).sort();
    const extra = [...granted.get(kind)!].filter((r) => !need.get(kind)!.has(r)).sort();
    expect({ kind, missing, extra }).toEqual({ kind, missing: [], extra: [] });
  });

  // Issue 28 asks for none; two subscription-wide name lookups remain, which a create makes (help/rights.md,
  // "What a team deployer still needs outside its groups"), listed exactly so that no other can join them unnoticed.
  test("a team deployer needs nothing outside its own resource groups but its registry's name check and its vault's deleted-name lookup", () => {
    const outside = [...need.get("team")!].filter((r) => !/\| (its resource groups|its state container|its environment's platform state container)$/.test(r)).sort();
    expect(outside).toEqual(["Microsoft.ContainerRegistry/checkNameAvailability/read | the subscription", "Microsoft.KeyVault/locations/deletedVaults/read | the subscription"]);
    // Not vacuous: the team's stacks do attach the platform's identity, and read their groups, inside them.
    expect(need.get("team")).toContain("Microsoft.ManagedIdentity/userAssignedIdentities/assign/action | its resource groups");
    expect(need.get("team")).toContain("Microsoft.Resources/subscriptions/resourceGroups/read | its resource groups");
  });
});
