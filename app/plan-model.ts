/**
 * The plan model behind `npm run diff`: reads the old and the new synthesized JSON into the
 * resources of both, matched by address, and works out what changes in each, as `terraform plan`
 * would on configuration alone (no Terraform, state or Azure account). What the provider decides
 * (which change replaces, which computed values an update changes) comes in as ProviderAnswers;
 * the verdicts (durable, locked, refused) and the report are app/diff-rules.ts's, reading the JSON
 * itself (blocks, leaves, references) app/terraform-json.ts's.
 *
 * How it thinks:
 * 1. Managed resources are keyed by address `type.name` (`moved` blocks of the new file rename old
 *    addresses first). Data sources are not applied, so they are reported apart, as "re-read", only
 *    because their values can change what references them; a config change that only says how
 *    one signs in (ProviderAnswers.signInOnly) reads the same object: nothing referencing it changes.
 * 2. Each resource's config is flattened to leaves. cdktf writes a MaxItems-1 block either as an
 *    object or as a one-element array, so a one-element array of objects is read as that object.
 *    Ignored when comparing: the `//` metadata, `depends_on`, `provider`, `lifecycle`, provisioners.
 *    A leaf changed if its text changed, or if it references (`${type.name.attr}`) a value that will
 *    change (point 4). Leaves under `lifecycle.ignore_changes` of the NEW config do not count.
 * 3. A changed leaf's schema path drops list indices (`container[0].ports[0].port` is
 *    `container.ports.port`); the provider says whether that change forces replacement.
 *    `replace_triggered_by` replaces the resource when the referenced resource is updated or
 *    replaced (or, for a reference with an attribute, when that attribute's planned value differs),
 *    as Terraform's EvaluateReplaceTriggeredBy does.
 * 4. Which values of a resource change, seen from a reference to it:
 *    - created or replaced: every computed attribute (`id`, ...) is unknown; an argument the config
 *      sets (`name`) keeps its value unless that leaf changed;
 *    - updated in place: the arguments that changed, plus the computed attributes the provider
 *      changes on update (ComputedOnUpdate); every other computed attribute keeps its value.
 *    Steps 2 to 4 repeat until nothing new changes (a fixpoint).
 * 5. "next apply": the azurerm SDKv2 provider does not mark a Key Vault secret's versioned `id`
 *    unknown when its value changes; the plan shows the old id, apply writes a new one, and
 *    resources referencing it are only updated by the FOLLOWING plan/apply. Such changes are
 *    marked `deferred` instead of being hidden.
 *
 * Not modelled (conservative where it matters): provider schema defaults (adding an attribute set
 * to its default reads as a change), set ordering, values of variables (`${var.x}` is the same
 * text on both sides, unless PlanOptions.changedVariables names it: a rotation),
 * `count`/`for_each` instances (app/diff-rules.ts lists the keys' creates and deletes of a
 * `for_each` over a variable with a literal map default: the deployers' access policies).
 */
import {
  Block,
  blocks,
  flatten,
  ignoredPaths,
  isObj,
  isPrefix,
  Leaf,
  Obj,
  overlaps,
  parseTriggerRef,
  Ref,
  refsIn,
  refTarget,
  same,
  schemaSegs,
  section,
} from "./terraform-json";
import { ComputedOnUpdate, UNKNOWN } from "../lib/resource-types";

export type Action = "create" | "delete" | "update" | "replace" | "unknown";

/** Old and new value for a one-line reason; long ones (base64 task files) are left out. */
export function fromTo(before: unknown, after: unknown): string {
  const [b, a] = [before, after].map((v) => JSON.stringify(v) ?? String(v));
  return b.length > 40 || a.length > 40 ? "" : ` (${b} -> ${a})`;
}

interface LeafChange {
  segs: string[];
  deferred: boolean;
  /** set when the change comes from a reference */
  via?: string;
  text: string;
  /** the ForceNew path (or CustomizeDiff rule) the change hits */
  forces?: string;
}

/** Why a resource changes. */
export interface Reason {
  text: string;
  replace: boolean;
  /** Only after the next apply (point 5). */
  deferred: boolean;
  /** 0 literal ForceNew change, 1 reference, 2 replace_triggered_by, 3 in-place */
  rank: number;
}

/** One managed resource, in the old config, the new one, or both. */
export interface PlannedResource {
  address: string;
  type: string;
  old?: Block;
  new?: Block;
  oldLeaves: Map<string, Leaf>;
  newLeaves: Map<string, Leaf>;
  action: Action | "noop";
  /** The action shows only in the plan after the next apply (point 5). */
  deferred: boolean;
  /** changed leaves before ignore_changes (what a replacement re-creates) */
  raw: LeafChange[];
  /** changed leaves after ignore_changes (what an update sends) */
  effective: LeafChange[];
  /** Most decisive first: replacing before in-place, immediate before deferred, then by rank. */
  reasons: Reason[];
}

/** What the provider decides when Terraform plans a resource (its PlanResourceChange), as far as the model asks. */
export interface ProviderAnswers {
  /** false: the type's ForceNew facts are unknown, so an update cannot be told from a replacement. */
  knows(type: string): boolean;
  /** The ForceNew path (or CustomizeDiff rule) a change of `segs` hits, if any; `after` may be UNKNOWN. */
  forcesReplacement(type: string, segs: string[], before: unknown, after: unknown): string | undefined;
  /** The computed attributes an in-place update changes. */
  computedOnUpdate(type: string): readonly ComputedOnUpdate[];
  /**
   * A change of a data source's config path `attr` that leaves the object it reads, and so its
   * results, as they were (how it signs in); `before`/`after` are its bodies.
   */
  signInOnly(dataType: string, attr: string, before: Obj, after: Obj): boolean;
  /**
   * The config paths of a data source whose change names the same object once a documented state
   * migration moved it (a team's read of the platform state in its environment's container), with
   * the note to show; none otherwise.
   */
  movedOnly(dataType: string, before: Obj, after: Obj): { paths: string[]; note: string } | undefined;
}

export interface PlanOptions {
  /**
   * Variables whose VALUE changes between the two plans (a rotated secret, `TF_VAR_github_token`):
   * the JSON shows the same `${var.x}` text on both sides, so without this a rotation reads as no
   * change.
   */
  changedVariables?: readonly string[];
}

export interface PlanModel {
  oldTf: Obj;
  newTf: Obj;
  /** The old config's managed resources, renamed by the new config's `moved` blocks. */
  oldManaged: Map<string, Block>;
  newManaged: Map<string, Block>;
  /** Every managed address of either side. */
  resources: Map<string, PlannedResource>;
  /** Old addresses renamed by a `moved` block between two resources: new address -> old. */
  renamed: Map<string, string>;
  /** A single resource moved into one instance of its own new for_each (`a.x` -> `a.x["k"]`): address -> `["k"]`. */
  movedIntoInstance: Map<string, string>;
  /** Moves between two keys of one resource (`a.x["k"]` -> `a.x["j"]`, a rename): address -> [from, to] keys. */
  movedBetweenKeys: Map<string, [string, string][]>;
  /**
   * Data sources read again (their config changed, or they are read during apply); filled by settle.
   * `sameResults`: only how they sign in changed, so what references them sees is unchanged.
   */
  dataChanged: Map<string, DataChange>;
}

/** Why a data source is read again, and whether its results can differ. */
export interface DataChange {
  reason: string;
  deferred: boolean;
  sameResults?: boolean;
}

/** The resources of both configs, matched by address after the new config's `moved` blocks; nothing decided yet. */
export function readPlan(oldTf: object, newTf: object): PlanModel {
  const oldObj = oldTf as Obj;
  const newObj = newTf as Obj;
  // `moved` blocks of the new config rename old addresses (a rename without one is delete + create).
  const oldManaged = blocks(oldObj, "resource");
  const newManaged = blocks(newObj, "resource");
  const moves = (Array.isArray(newObj.moved) ? newObj.moved : []).filter(
    (mv): mv is { from: string; to: string } => isObj(mv) && typeof mv.from === "string" && typeof mv.to === "string",
  );
  const movedIntoInstance = new Map<string, string>();
  const movedBetweenKeys = new Map<string, [string, string][]>();
  const renamed = new Map<string, string>();
  for (const mv of moves) {
    const f = /^(.*?)\["([^"]*)"\]$/.exec(mv.from);
    const t = /^(.*?)\["([^"]*)"\]$/.exec(mv.to);
    if (f && t && f[1] === t[1]) movedBetweenKeys.set(f[1], [...(movedBetweenKeys.get(f[1]) ?? []), [f[2], t[2]]]);
  }
  for (const mv of moves) {
    const from = mv.from.replace(/^\$\{|\}$/g, "");
    const to = mv.to.replace(/^\$\{|\}$/g, "");
    const b = oldManaged.get(from);
    const instance = /^(.*?)(\[.*\])$/.exec(to);
    if (b && instance && instance[1] === from) {
      movedIntoInstance.set(from, instance[2]);
      continue;
    }
    if (b && !oldManaged.has(to)) {
      oldManaged.delete(from);
      oldManaged.set(to, { ...b, address: to });
      renamed.set(to, from);
    }
  }

  /**
   * The one instance a single resource moves into (a.x -> a.x["k"], then any moves between keys):
   * when its for_each is a variable with a literal map default, `each.key` and `each.value` of that
   * instance are known, so the new body is compared with them in place (an object id the old body
   * held as a literal and the new one as `${each.value}` is the same value, not a change).
   */
  const asInstance = (address: string, o: Block | undefined, n: Block | undefined): Obj | undefined => {
    const into = movedIntoInstance.get(address);
    const first = into ? /^\["([^"]*)"\]$/.exec(into)?.[1] : undefined;
    const fe = n?.body.for_each;
    const variable = typeof fe === "string" ? /^\$\{var\.([A-Za-z_][A-Za-z0-9_-]*)\}$/.exec(fe)?.[1] : undefined;
    const v = variable ? section(newObj, "variable", variable) : undefined;
    if (first === undefined || !o || o.body.for_each !== undefined || !isObj(v) || !isObj(v.default)) return undefined;
    const between = movedBetweenKeys.get(address) ?? [];
    let key = first;
    for (let hops = 0; hops <= between.length; hops++) key = between.find(([from]) => from === key)?.[1] ?? key;
    if (!(key in v.default)) return undefined;
    const value = (v.default as Obj)[key];
    const put = (x: unknown): unknown =>
      x === "${each.key}" ? key : x === "${each.value}" ? value : Array.isArray(x) ? x.map(put) : isObj(x) ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, put(y)])) : x;
    return put(n!.body) as Obj;
  };

  const resources = new Map<string, PlannedResource>();
  for (const address of new Set([...oldManaged.keys(), ...newManaged.keys()])) {
    const o = oldManaged.get(address);
    const n = newManaged.get(address);
    const instance = asInstance(address, o, n);
    resources.set(address, {
      address,
      type: (n ?? o)!.type,
      old: o,
      new: n,
      oldLeaves: o ? flatten(o.body, o.type) : new Map(),
      newLeaves: n ? flatten(instance ?? n.body, n.type) : new Map(),
      action: !o ? "create" : !n ? "delete" : "noop",
      deferred: false,
      raw: [],
      effective: [],
      reasons: [],
    });
  }
  return { oldTf: oldObj, newTf: newObj, oldManaged, newManaged, resources, renamed, movedIntoInstance, movedBetweenKeys, dataChanged: new Map() };
}

/** What a reference to a value sees. */
interface Seen {
  changed: boolean;
  /** only after the next apply */
  deferred: boolean;
  /** e.g. "replaced", "updated: new id after apply" */
  what: string;
}
const UNCHANGED: Seen = { changed: false, deferred: false, what: "" };

/**
 * Decides every resource present on both sides (its action, reasons, deferral) and the data
 * sources' changes, in place, to the fixpoint of points 2 to 4. Returns notes (in the order met).
 */
export function settle(plan: PlanModel, provider: ProviderAnswers, options: PlanOptions = {}): string[] {
  const { oldTf: oldObj, newTf: newObj, resources: states, dataChanged } = plan;
  const notes = new Set<string>();
  const oldData = blocks(oldObj, "data");
  const newData = blocks(newObj, "data");
  for (const a of oldData.keys()) if (!newData.has(a)) dataChanged.set(a, { reason: "removed", deferred: false });
  for (const a of newData.keys()) if (!oldData.has(a)) dataChanged.set(a, { reason: "added", deferred: false });

  const isAddress = (a: string) => states.has(a) || oldData.has(a) || newData.has(a);

  /** What a reference from the NEW config to `ref` sees. */
  const seen = (ref: Ref): Seen => {
    if (ref.target.startsWith("var.") || ref.target.startsWith("local.")) {
      const [kind, name] = ref.target.split(".");
      const key = kind === "var" ? "variable" : "locals";
      if (kind === "var" && options.changedVariables?.includes(name)) return { changed: true, deferred: false, what: "value changed" };
      // A variable's description (and other documentation) does not change what it evaluates to.
      const decl = (tf: Obj) => {
        const d = section(tf, key, name);
        if (kind !== "var" || !isObj(d)) return d;
        const { description: _description, ...rest } = d as Obj;
        return rest;
      };
      return same(decl(oldObj), decl(newObj))
        ? UNCHANGED
        : { changed: true, deferred: false, what: kind === "var" ? "declaration changed" : "changed" };
    }
    if (ref.target.startsWith("data.")) {
      const d = dataChanged.get(ref.target);
      // Read again, but from the same object: every result as it was (a new sign-in).
      if (d?.sameResults) return UNCHANGED;
      return d ? { changed: true, deferred: d.deferred, what: `data source ${d.reason}` } : UNCHANGED;
    }
    const t = states.get(ref.target)!;
    const segs = ref.segs;
    switch (t.action) {
      case "noop":
        return UNCHANGED;
      case "create":
        return { changed: true, deferred: false, what: "created" };
      case "delete":
        notes.add(`${ref.target} is referenced but no longer declared: terraform will refuse the config`);
        return { changed: true, deferred: false, what: "deleted" };
      case "replace":
      case "unknown": {
        const what = t.action === "replace" ? "replaced" : "changed, type unknown";
        if (segs.length === 0) return { changed: true, deferred: t.deferred, what };
        // An argument the config sets keeps its value on re-creation unless that leaf changed;
        // anything the config does not set is computed, hence unknown after a replacement.
        const covered = [...t.newLeaves.values()].some((l) => overlaps(schemaSegs(l.segs), segs));
        const hit = t.raw.filter((c) => overlaps(c.segs, segs));
        if (covered && hit.length === 0) return UNCHANGED;
        return { changed: true, deferred: t.deferred && hit.every((c) => c.deferred), what };
      }
      case "update": {
        if (segs.length === 0) return { changed: true, deferred: t.deferred, what: "updated" };
        const hit = t.effective.filter((c) => overlaps(c.segs, segs));
        if (hit.length) return { changed: true, deferred: hit.every((c) => c.deferred), what: "updated" };
        for (const rule of provider.computedOnUpdate(t.type)) {
          if (!rule.attrs.includes(segs[0])) continue;
          const triggers = t.effective.filter(
            (c) =>
              rule.when.some((w) => isPrefix([w], c.segs)) && !(rule.except ?? []).some((e) => isPrefix(e.split("."), c.segs))
          );
          if (triggers.length) {
            return {
              changed: true,
              deferred: !rule.atPlan || triggers.every((c) => c.deferred),
              what: rule.atPlan ? `updated: new ${segs[0]}` : `updated: new ${segs[0]} after apply`,
            };
          }
        }
        return UNCHANGED;
      }
    }
  };

  /** Recomputes a resource present on both sides; returns a signature to detect the fixpoint. */
  const evaluate = (st: PlannedResource): string => {
    const raw = new Map<string, LeafChange>();
    for (const key of new Set([...st.oldLeaves.keys(), ...st.newLeaves.keys()])) {
      const o = st.oldLeaves.get(key);
      const n = st.newLeaves.get(key);
      const segs = schemaSegs((n ?? o)!.segs);
      const p = segs.join(".");
      if (!o || !n || !same(o.value, n.value)) {
        const text = !o ? `${p} added` : !n ? `${p} removed` : `${p} changed${fromTo(o.value, n.value)}`;
        const forces = provider.forcesReplacement(st.type, segs, o?.value, n?.value);
        raw.set(key, { segs, deferred: false, text, forces });
        continue;
      }
      if (typeof n.value !== "string") continue;
      let best: LeafChange | undefined;
      for (const ref of refsIn(n.value, isAddress)) {
        const s = seen(ref);
        if (!s.changed || (best && !best.deferred)) continue;
        if (best && s.deferred) continue;
        const forces = provider.forcesReplacement(st.type, segs, o.value, UNKNOWN);
        best = { segs, deferred: s.deferred, via: ref.target, text: `${p} references ${ref.target} (${s.what})`, forces };
      }
      if (best) raw.set(key, best);
    }
    st.raw = [...raw.values()];
    const ignored = ignoredPaths(st.new!.body);
    st.effective = ignored === "all" ? [] : st.raw.filter((c) => !ignored.some((ig) => isPrefix(ig, c.segs)));

    const reasons: Reason[] = [];
    const seenText = new Set<string>();
    const known = provider.knows(st.type);
    for (const c of st.effective) {
      const forceText = c.forces
        ? c.forces === c.segs.join(".")
          ? ": forces replacement"
          : `: forces replacement via ${c.forces}`
        : "";
      const text = `${c.text}${forceText}`;
      if (seenText.has(text)) continue; // list elements share a schema path
      seenText.add(text);
      reasons.push({ text, replace: known && !!c.forces, deferred: c.deferred, rank: !c.forces ? 3 : c.via ? 1 : 0 });
    }
    const lc = st.new!.body.lifecycle;
    const triggers = isObj(lc) && Array.isArray(lc.replace_triggered_by) ? lc.replace_triggered_by : [];
    for (const entry of triggers) {
      if (typeof entry !== "string") continue;
      const ref = parseTriggerRef(entry);
      const t = ref && states.get(refTarget(ref.target));
      if (!ref || !t) continue;
      // Terraform: only an update or a replacement of the referenced resource triggers, and with an
      // attribute, only a planned value that differs. A value that changes only during apply (not
      // at plan) never triggers: the next plan compares the already-new state with itself.
      if (t.action !== "update" && t.action !== "replace" && t.action !== "unknown") continue;
      const s = ref.segs.length
        ? seen({ target: t.address, segs: ref.segs })
        : { changed: true, deferred: t.deferred, what: t.action === "update" ? "updated" : "replaced" };
      if (!s.changed) continue;
      if (ref.segs.length && s.deferred) {
        notes.add(
          `${st.address}: replace_triggered_by ${entry} will not fire; that value changes only during apply, after the plan compared it`
        );
        continue;
      }
      reasons.push({
        text: `replace_triggered_by ${entry}: ${t.address} ${s.what}`,
        replace: true,
        deferred: s.deferred,
        rank: 2,
      });
    }

    reasons.sort((a, b) => Number(b.replace) - Number(a.replace) || Number(a.deferred) - Number(b.deferred) || a.rank - b.rank);
    st.reasons = reasons;
    if (reasons.length === 0) st.action = "noop";
    else if (reasons.some((r) => r.replace)) st.action = "replace";
    else st.action = known ? "update" : "unknown";
    const deciding = reasons.filter((r) => r.replace === (st.action === "replace"));
    st.deferred = deciding.length > 0 && deciding.every((r) => r.deferred);
    return `${st.action}|${st.deferred}|${reasons.map((r) => `${r.text}/${r.deferred}`).join(",")}`;
  };

  /**
   * A data source is read again if its config changed, with new results unless only how it signs in
   * changed (ProviderAnswers.signInOnly: the same object read, the same results); its results are
   * unknown at plan (read during apply) if it references a value unknown at plan or depends_on a
   * changing resource. Terraform reads a data source whose config is known during the plan, so a
   * resource that references it changes only if a result does: a changed config that reads the
   * same object replaces nothing, even where the resource's attribute is ForceNew.
   */
  const evaluateData = (address: string): string => {
    if (!oldData.has(address) || !newData.has(address)) return dataChanged.get(address)?.reason ?? "";
    const before = oldData.get(address)!;
    const after = newData.get(address)!;
    const ol = flatten(before.body);
    const nl = flatten(after.body);
    const changed: string[] = [];
    let during: DataChange | undefined;
    for (const key of new Set([...ol.keys(), ...nl.keys()])) {
      const o = ol.get(key);
      const n = nl.get(key);
      if (!o || !n || !same(o.value, n.value)) changed.push(schemaSegs((n ?? o)!.segs).join("."));
      if (!during && n && typeof n.value === "string") {
        const r = refsIn(n.value, isAddress).find((ref) => seen(ref).changed);
        if (r) during = { reason: `read during apply: references ${r.target} (${seen(r).what})`, deferred: seen(r).deferred };
      }
    }
    const signIn = changed.filter((p) => provider.signInOnly(after.type, p, before.body, after.body));
    const move = provider.movedOnly(after.type, before.body, after.body);
    const moved = changed.filter((p) => !signIn.includes(p) && (move?.paths.includes(p) ?? false));
    const selecting = changed.filter((p) => !signIn.includes(p) && !moved.includes(p));
    let result: DataChange | undefined = selecting.length ? { reason: `config changed (${selecting[0]})`, deferred: false } : during;
    const deps = after.body.depends_on;
    if (!result && Array.isArray(deps)) {
      for (const d of deps) {
        const t = typeof d === "string" ? states.get(refTarget(d.replace(/^\$\{|\}$/g, ""))) : undefined;
        if (t && t.action !== "noop") {
          result = { reason: `read during apply: depends_on ${t.address} (${t.action})`, deferred: t.deferred };
          break;
        }
      }
    }
    if (!result && moved.length)
      result = { reason: `config changed (${[...moved, ...signIn].join(", ")}): ${move!.note}`, deferred: false, sameResults: true };
    else if (!result && signIn.length)
      result = { reason: `config changed (${signIn.join(", ")}): only how it signs in; it reads the same object, its results do not change`, deferred: false, sameResults: true };
    if (result) dataChanged.set(address, result);
    else dataChanged.delete(address);
    return result ? `${result.reason}/${result.deferred}` : "";
  };

  // Fixpoint. Every step can only add changes (or make a deferred one immediate), so it ends;
  // the bound is a guard against a bug, not a tuning knob.
  const both = [...states.values()].filter((s) => s.old && s.new);
  let signature = "";
  for (let round = 0; ; round++) {
    if (round > states.size + newData.size + 10) throw new Error("the plan did not converge (a bug in app/plan-model.ts)");
    const next = [...both.map(evaluate), ...[...newData.keys()].map(evaluateData)].join("\n");
    if (next === signature) break;
    signature = next;
  }
  return [...notes];
}
