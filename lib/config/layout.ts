/**
 * `layout`: one stack, or a platform stack plus a stack per team registry, each with its own state
 * (help/split.md). The split layout's rules read the other sections' derived names: team stack
 * names derive from registry names, and each stack creates (and locks) the groups of what it owns.
 */
import { oneOf } from "./fields";
import { arr, Check, fail, fmtPath, Path, rec, str, valid } from "./cross-field";
import { checkName } from "../rules";
import { DEFAULT_STACK_NAME } from "./stack";
import { backendType } from "./backend";
import { registryGroup } from "./registries";
import { vaultCreated, vaultGroup } from "./vault";
import { workspaceCreated, workspaceGroup } from "./diagnostics";
import { aciGroup } from "./apps";

export const layoutField = oneOf(
  ["single", "split"] as const,
  "single",
  "`single`: one stack, one state (the walkthrough's); `split`: a platform stack plus one stack per team registry, each with its own state (help/split.md)",
);

export function layoutRules({ ctx, c }: Check): void {
  if (c.layout !== "split") return;
  if (backendType(c) === "partial") {
    fail(ctx, ["layout"], "split", "needs backend.type 'local' or 'azurerm': team stacks read the platform stack's outputs from its state, whose settings a partial backend leaves to terraform init");
  }
  const teams = arr(c.teamRegistries);
  const stackName = str(c.stackName) ?? DEFAULT_STACK_NAME;
  teams.forEach((t, i) => {
    const name = rec(t).name;
    if (!valid("registry", name)) return;
    const teamStack = `${stackName}-${name}`;
    const problem = checkName("stackName", teamStack);
    if (problem) fail(ctx, ["teamRegistries", i, "name"], name, `gives the team stack name ${JSON.stringify(teamStack)}, which ${problem}; shorten stackName or the registry name`);
  });
  // Each group belongs to one stack: the platform's own, or one team's (made by the platform, locked
  // and built in by the team). A group of two owners would be locked twice and read by both. Owners: the platform (public and
  // base-artifacts registries, the vault, the audit workspace) and each team (its registry, its
  // apps' container groups).
  const owners = new Map<string, { owner: string; path: Path }>();
  const own = (owner: string, path: Path, name: string | undefined) => {
    if (!name || !valid("resourceGroup", name)) return;
    const first = owners.get(name.toLowerCase());
    if (!first) owners.set(name.toLowerCase(), { owner, path });
    else if (first.owner !== owner) {
      fail(ctx, path, name, `is also the resource group of ${fmtPath(first.path)} (${first.owner}): with layout 'split' each group belongs to one stack (the platform makes the teams' groups too, but each team builds in and locks its own), so the ${owner} and the ${first.owner} cannot share one`);
    }
  };
  const at = (path: Path, r: Record<string, unknown>, nameKey: string): Path => (r.resourceGroup !== undefined ? [...path, "resourceGroup"] : [...path, nameKey]);
  if (c.publicRegistry) own("platform stack", at(["publicRegistry"], rec(c.publicRegistry), "name"), registryGroup(rec(c.publicRegistry)));
  own("platform stack", at(["baseArtifactsRegistry"], rec(c.baseArtifactsRegistry), "name"), registryGroup(rec(c.baseArtifactsRegistry)));
  if (vaultCreated(c)) own("platform stack", at(["keyVault"], rec(c.keyVault), "name"), vaultGroup(rec(c.keyVault)));
  if (workspaceCreated(c)) own("platform stack", at(["diagnostics"], rec(c.diagnostics), "enabled"), workspaceGroup(c));
  teams.forEach((t, i) => own(`stack of team ${str(rec(t).name) ?? i}`, at(["teamRegistries", i], rec(t), "name"), registryGroup(rec(t))));
  arr(c.apps).forEach((a, i) => {
    const o = rec(a);
    const team = str(o.registry);
    if (!team) return;
    own(`stack of team ${team}`, o.aci !== undefined && rec(o.aci).resourceGroup !== undefined ? ["apps", i, "aci", "resourceGroup"] : ["apps", i, "name"], aciGroup(o));
  });
}
