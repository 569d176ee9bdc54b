/**
 * `npm run diff`'s verdict against Terraform's own plan (issue 27): the preview's model, run
 * in-process on the same two JSONs (app/diff-rules.ts, app/plan-model.ts: what `npm run diff --
 * before.json after.json` prints), set beside the plan `terraform test` made of the after JSON on
 * the state the before JSON was applied to (mocked providers). Both are read into one form,
 * "address: create|delete|update|replace" and "from -> to" for the moves, and must be equal once the
 * known differences below are mapped, each one explicitly and with its reason
 * (help/validation.md, "npm run diff against Terraform's plan"):
 *
 * 1. ForceNew under mocks: a mocked provider plans every change in place (it does not answer
 *    RequiresReplace), so a replacement the preview derives from a path of app/forcenew.json shows
 *    as an update in the test's plan. Mapped only when every reason the preview gives for the
 *    replacement is such a path (a `replace_triggered_by`, which Terraform itself evaluates, stays
 *    a replacement on both sides).
 * 2. A resource that gains `for_each` without a moved block: the preview says "replace" of the
 *    resource (it does not expand instances over a variable without a literal default); Terraform
 *    deletes the unkeyed instance and creates one per key of the variable's value.
 * 3. "[next apply]" changes (a secret's new versioned id, app/plan-model.ts point 5): the preview
 *    lists them although this plan does not show them, by design; they are left out here.
 * 4. What follows from a value (1) leaves alone: a replacement the preview derives only from
 *    ForceNew paths that reference resources mapped by (1) (a token password whose expiry reads a
 *    replaced time_static) is no change at all in the test's plan: the mocked update keeps the
 *    referenced value.
 * 5. `timeouts` alone: a mocked provider plans an update, the real provider the prior state (its
 *    plugin SDK keeps timeouts out of the diff; provider-plan.test.ts), and so does the preview: such
 *    an update is left out of the plan's side (tf-runner.ts `timeoutsOnly`).
 * 6. One object id for every mocked identity: a replacement (1) forced by `principal_id` alone (a
 *    grant moving from one identity to another, e.g. a split team's tasks to the team identity)
 *    is no change at all in the test's plan when the plan shows none, since every mocked identity,
 *    the old and the new, has the same principal_id.
 * 7. An import block beside the JSON (the upgrade's group imports, acr-gate --group-import-script):
 *    the preview creates what the plan imports with no change.
 * 8. A new resource with `for_each` over a variable (a split team's vault's deployer policies): the
 *    preview creates the resource (it does not expand instances over a variable without a literal
 *    default, as in 2); Terraform creates one instance per key of the variable's value.
 */
import { previewReplacements } from "../../app/diff-rules";
import { readPlan } from "../../app/plan-model";
import { azurermPin, forceNewMap, vendoredVersions } from "../../app/provider-facts";
import { blocks } from "../../app/terraform-json";
import { DEFAULT_AZURERM_VERSION } from "../../lib/provider-versions";
import { timeoutsOnly } from "./tf-runner";

export interface Agreement {
  /** Terraform's plan: "address: action" for every resource it changes, and "from -> to" for every move; sorted. */
  terraform: string[];
  /** The preview's, in the same form, after the known differences are mapped; sorted. */
  diff: string[];
  /** Each known difference applied: "address: what the preview says => what the plan shows (which one)". */
  mapped: string[];
}

const actionOf = (actions: string[]): string => {
  const a = actions.join("+");
  if (a === "delete+create" || a === "create+delete") return "replace";
  return a;
};

/** Terraform's plan (test_plan of `terraform test -json -verbose`) in the common form. */
export function planChanges(plan: any): string[] {
  const rc: any[] = plan.resource_changes ?? [];
  return [
    ...rc.filter((c) => c.change.actions.join() !== "no-op" && !timeoutsOnly(c)).map((c) => `${c.address}: ${actionOf(c.change.actions)}`),
    ...rc.filter((c) => c.previous_address).map((c) => `${c.previous_address} -> ${c.address}`),
  ].sort();
}

/** `${var.x}` of a for_each, or undefined. */
const forEachVariable = (body: any): string | undefined => {
  const m = typeof body?.for_each === "string" ? /^\$\{var\.([A-Za-z_][A-Za-z0-9_-]*)\}$/.exec(body.for_each) : null;
  return m?.[1];
};

/**
 * The preview of (before, after) in the common form, mapped as the header says. `variables`: the
 * values the test gave the variables without a default (the keys of a for_each over one).
 */
export function diffChanges(before: any, after: any, variables: Record<string, unknown>): { diff: string[]; mapped: string[] } {
  const preview = previewReplacements(before, after);
  const pin = azurermPin(after) ?? DEFAULT_AZURERM_VERSION;
  const forceNew = forceNewMap(vendoredVersions().includes(pin) ? pin : DEFAULT_AZURERM_VERSION);
  const diff: string[] = [];
  const mapped: string[] = [];
  const keysOf = (tf: any, variable: string): string[] => {
    const d = tf.variable?.[variable]?.default;
    return Object.keys(d !== null && typeof d === "object" ? d : ((variables[variable] as object) ?? {}));
  };
  /**
   * The ForceNew paths a replacement's every cause forces, and what each references ("<path>
   * references <address> (replaced)"); undefined unless every cause is a path of app/forcenew.json.
   * Reasons read "<path> changed...: forces replacement" or "...: forces replacement via <path>".
   */
  const forcedPaths = (c: (typeof preview.changes)[number]): { path: string; via?: string }[] | undefined => {
    // The note of a move into a for_each instance is not a cause of the replacement.
    const causes = c.reasons.filter((r) => !r.startsWith("for_each added: the existing instance moves"));
    const forced = causes.map((r) => {
      const m = /^(\S+) .*: forces replacement(?: via (\S+))?$/.exec(r);
      return m ? { path: m[2] ?? m[1], via: /^\S+ references (\S+) \(replaced\)/.exec(r)?.[1] } : undefined;
    });
    return forced.every((f) => f !== undefined && forceNew[c.type]?.has(f.path)) ? (forced as { path: string; via?: string }[]) : undefined;
  };
  // Handed over to another state (a `removed` block, destroy = false): both say forget.
  for (const a of preview.forgotten) diff.push(`${a}: forget`);
  // (1) over every change first: (4) asks whether what a replacement references was mapped by it.
  const mockUpdated = new Set(preview.changes.filter((c) => c.action === "replace" && !c.nextApply && forcedPaths(c)).map((c) => c.address));
  for (const c of preview.changes) {
    if (c.nextApply) {
      mapped.push(`${c.address}: ${c.action} [next apply] => not in this plan (3)`);
      continue;
    }
    if (c.action === "replace" && c.reasons[0].startsWith("for_each added without a moved block")) {
      const variable = forEachVariable(after.resource[c.type][c.address.slice(c.type.length + 1)])!;
      const instances = keysOf(after, variable).map((k) => `${c.address}[${JSON.stringify(k)}]: create`);
      diff.push(`${c.address}: delete`, ...instances);
      mapped.push(`${c.address}: replace => delete, ${instances.join(", ")} (2)`);
      continue;
    }
    const forced = c.action === "replace" ? forcedPaths(c) : undefined;
    const paths = [...new Set((forced ?? []).map((f) => f.path))].join(", ");
    if (forced?.every((f) => f.via !== undefined && mockUpdated.has(f.via))) {
      mapped.push(`${c.address}: replace (ForceNew ${paths} from ${[...new Set(forced.map((f) => f.via))].join(", ")}) => no change (4)`);
      continue;
    }
    if (forced) {
      diff.push(`${c.address}: update`);
      mapped.push(`${c.address}: replace (ForceNew ${paths}) => update (1)`);
      continue;
    }
    const variable = c.action === "create" ? forEachVariable(after.resource?.[c.type]?.[c.address.slice(c.type.length + 1)] ?? {}) : undefined;
    if (variable !== undefined) {
      const instances = keysOf(after, variable).map((k) => `${c.address}[${JSON.stringify(k)}]: create`);
      diff.push(...instances);
      mapped.push(`${c.address}: create => ${instances.join(", ")} (8)`);
      continue;
    }
    diff.push(`${c.address}: ${c.action}`);
  }
  // The moves the preview's model applies, followed through chains (a.x -> a.x["k"] -> a.x["j"]),
  // from every instance the old state holds.
  const model = readPlan(before, after);
  const edges = new Map<string, string>();
  for (const [to, from] of model.renamed) edges.set(from, to);
  for (const [address, key] of model.movedIntoInstance) edges.set(address, `${address}${key}`);
  for (const [address, pairs] of model.movedBetweenKeys) for (const [f, t] of pairs) edges.set(`${address}[${JSON.stringify(f)}]`, `${address}[${JSON.stringify(t)}]`);
  for (const b of blocks(before, "resource").values()) {
    const variable = forEachVariable(b.body);
    const instances = variable === undefined ? [b.address] : keysOf(before, variable).map((k) => `${b.address}[${JSON.stringify(k)}]`);
    for (const start of instances) {
      let at = start;
      for (let hops = 0; edges.has(at) && hops <= edges.size; hops++) at = edges.get(at)!;
      if (at !== start) diff.push(`${start} -> ${at}`);
    }
  }
  return { diff: diff.sort(), mapped };
}

/** Both sides, for one expect(...).toEqual. */
export function diffAgainstPlan(before: any, after: any, plan: any, variables: Record<string, unknown>): Agreement {
  const terraform = planChanges(plan);
  const { diff, mapped } = diffChanges(before, after, variables);
  const planned = new Set(terraform.map((c) => c.split(":")[0]));
  // (6): only what (1) mapped for principal_id alone, and only where the plan shows nothing.
  for (const [i, m] of mapped.entries()) {
    const address = / \(ForceNew principal_id\) => update \(1\)$/.test(m) ? m.split(":")[0] : undefined;
    if (address === undefined || planned.has(address)) continue;
    diff.splice(diff.indexOf(`${address}: update`), 1);
    mapped[i] = `${address}: replace (ForceNew principal_id) => no change (6)`;
  }
  // (7): an import block beside the JSON (acr-gate --group-import-script writes one for a single
  // apply): the preview, which reads the JSON alone, creates what the plan imports. Only where the
  // plan imports that address and shows no change of it.
  for (const c of (plan.resource_changes ?? []) as any[]) {
    if (!c.change.importing || planned.has(c.address) || !diff.includes(`${c.address}: create`)) continue;
    diff.splice(diff.indexOf(`${c.address}: create`), 1);
    mapped.push(`${c.address}: create => imported, no change (7)`);
  }
  return { terraform, diff, mapped };
}
