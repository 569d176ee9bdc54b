/**
 * The model behind `npm run diff` (the command: app/diff-cli.ts; the provider's rules it applies:
 * app/provider-facts.ts).
 *
 * Tells what `terraform apply` would do to go from the old synthesized stack to the new one,
 * without Terraform, state or an Azure account: resources created, deleted, updated in place and
 * REPLACED (destroyed and re-created), with the attribute that forces each replacement. Platform
 * teams apply our JSON for years; a replaced registry loses its images, a replaced vault its
 * secrets, so replacements of durable resources are flagged.
 *
 * How it thinks (like `terraform plan`, on configuration only):
 * 1. Managed resources are keyed by address `type.name` (`moved` blocks of the new file rename old
 *    addresses first). Data sources are not applied, so they are reported apart, as "re-read", only
 *    because their values can change what references them.
 * 2. Each resource's config is flattened to leaves. cdktf writes a MaxItems-1 block either as an
 *    object or as a one-element array, so a one-element array of objects is read as that object.
 *    Ignored when comparing: the `//` metadata, `depends_on`, `provider`, `lifecycle`, provisioners.
 *    A leaf changed if its text changed, or if it references (`${type.name.attr}`) a value that will
 *    change (point 4). Leaves under `lifecycle.ignore_changes` of the NEW config do not count.
 * 3. A changed leaf's schema path drops list indices (`container[0].ports[0].port` is
 *    `container.ports.port`); the change forces replacement if that path or an ancestor is in
 *    app/forcenew.json for the type (plus CUSTOMIZE_DIFF_FORCENEW). `replace_triggered_by` replaces
 *    the resource when the referenced resource is updated or replaced (or, for a reference with an
 *    attribute, when that attribute's planned value differs), as Terraform's
 *    EvaluateReplaceTriggeredBy does.
 * 4. Which values of a resource change, seen from a reference to it:
 *    - created or replaced: every computed attribute (`id`, ...) is unknown; an argument the config
 *      sets (`name`) keeps its value unless that leaf changed;
 *    - updated in place: the arguments that changed, plus the computed attributes listed in
 *      COMPUTED_ON_UPDATE; every other computed attribute keeps its value (no CustomizeDiff with
 *      SetNewComputed in the provider, checked at the tags we pin).
 *    Steps 2 to 4 repeat until nothing new changes (a fixpoint).
 * 5. "next apply": the azurerm SDKv2 provider does not mark a Key Vault secret's versioned `id`
 *    unknown when its value changes; the plan shows the old id, apply writes a new one, and
 *    resources referencing it are only updated by the FOLLOWING plan/apply. Such changes are
 *    listed with `nextApply: true` instead of being hidden.
 *
 * Not modelled (conservative where it matters): provider schema defaults (adding an attribute set
 * to its default reads as a change), set ordering, values of variables (`${var.x}` is the same
 * text on both sides, unless PreviewOptions.changedVariables names it: a rotation),
 * `count`/`for_each` instances (except a `for_each` over a variable with a literal map default:
 * its keys' creates and deletes are listed).
 */
import { templateParts } from "./task-inputs";
import {
  COMPUTED_ON_UPDATE,
  CUSTOMIZE_DIFF_FORCENEW,
  DURABLE_TYPES,
  factsFor,
  UNKNOWN,
  UPDATE_REFUSED,
} from "./provider-facts";
import { LOCK_BLOCKS_DELETE, lockedBy, PLACEMENT_ATTRIBUTES } from "../lib/lock-cover";
import { byText } from "../lib/order";

export type Action = "create" | "delete" | "update" | "replace" | "unknown";

export interface ResourceChange {
  address: string;
  type: string;
  /** `unknown`: the type is not in app/forcenew.json, so update and replace cannot be told apart. */
  action: Action;
  /** A resource whose loss loses data or protection (see durableAddresses). */
  durable: boolean;
  /** Why, most decisive first (reasons[0] is the one printed for a replacement). */
  reasons: string[];
  /** Terraform's next plan does not show this yet; the plan after that apply does (point 5 above). */
  nextApply: boolean;
  /** The new config has lifecycle.prevent_destroy: `terraform plan` refuses this replacement. */
  preventDestroy: boolean;
  /**
   * A delete (or the delete half of a replacement) under a CanNotDelete lock of the old config that
   * is still in place when the delete runs: Azure refuses it (ScopeLocked), the apply fails half way.
   * The lock's address.
   */
  locked?: string;
  /**
   * A change Azure or the provider refuses, or that breaks a reader: an update the provider refuses
   * (app/provider-facts.ts UPDATE_REFUSED), a deployer renamed with its object id, both twin tokens
   * renewed at once. Why, and the way out.
   */
  refused?: string[];
}

export interface Preview {
  /** Only resources with an action, sorted by group then address. */
  changes: ResourceChange[];
  counts: {
    replaceDurable: number;
    replace: number;
    update: number;
    create: number;
    delete: number;
    unknown: number;
    /** Deletes Azure refuses under a lock, and updates the provider refuses. */
    locked: number;
    refused: number;
  };
  /** Data sources whose results can differ (re-read, or read only during apply). Not applied. */
  dataSources: { address: string; reason: string }[];
  /** Resource types in either file that app/forcenew.json does not cover. */
  unknownTypes: string[];
  notes: string[];
}

// ---------------------------------------------------------------------------------------------
// Reading the JSON
// ---------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Keys of a resource body that are Terraform meta-arguments, not provider attributes. */
const META_KEYS = new Set(["//", "depends_on", "provider", "lifecycle", "provisioner", "connection", "count", "for_each"]);

interface Block {
  address: string;
  type: string;
  body: Obj;
}

/** address -> block, for `resource` (managed) or `data` (address prefixed `data.`). */
function blocks(tf: Obj, kind: "resource" | "data"): Map<string, Block> {
  const out = new Map<string, Block>();
  const section = tf[kind];
  if (!isObj(section)) return out;
  for (const [type, byName] of Object.entries(section)) {
    if (!isObj(byName)) continue;
    for (const [name, body] of Object.entries(byName)) {
      if (!isObj(body)) continue;
      const address = kind === "data" ? `data.${type}.${name}` : `${type}.${name}`;
      out.set(address, { address, type, body });
    }
  }
  return out;
}

/** One leaf of a flattened config: `segs` keeps list indices as numbers. */
interface Leaf {
  segs: (string | number)[];
  value: unknown;
}

/** A one-element array of objects is how cdktf may write a MaxItems-1 block: read it as the object. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v) && v.length === 1 && isObj(v[0])) return v[0];
  return v;
}

function flatten(body: Obj): Map<string, Leaf> {
  const out = new Map<string, Leaf>();
  const walk = (v: unknown, segs: (string | number)[]) => {
    v = canonical(v);
    if (Array.isArray(v) && v.length > 0) v.forEach((x, i) => walk(x, [...segs, i]));
    else if (isObj(v) && Object.keys(v).length > 0) {
      for (const [k, x] of Object.entries(v)) if (k !== "//") walk(x, [...segs, k]);
    } else out.set(JSON.stringify(segs), { segs, value: v });
  };
  for (const [k, v] of Object.entries(body)) if (!META_KEYS.has(k)) walk(v, [k]);
  return out;
}

const schemaSegs = (segs: (string | number)[]): string[] => segs.filter((s): s is string => typeof s === "string");
/** a is b or an ancestor of b */
const isPrefix = (a: string[], b: string[]) => a.length <= b.length && a.every((s, i) => s === b[i]);
const overlaps = (a: string[], b: string[]) => isPrefix(a, b) || isPrefix(b, a);

/** `container[0].image`, `tags["x"]`, `container.*.image` -> ["container", "image"] / ["tags", "x"]. */
function traversalSegs(text: string): string[] {
  const segs: string[] = [];
  for (const m of text.matchAll(/\.([A-Za-z_][A-Za-z0-9_-]*)|\[\s*"([^"]*)"\s*\]|^([A-Za-z_][A-Za-z0-9_-]*)/g)) {
    const s = m[1] ?? m[2] ?? m[3];
    if (s !== undefined) segs.push(s);
  }
  return segs;
}

interface Ref {
  /** `type.name`, `data.type.name`, `var.x` or `local.x` */
  target: string;
  segs: string[];
}

/** The `${...}` expressions of a string (app/task-inputs.ts's parser: nesting, quotes and `$${` escapes). */
function interpolations(s: string): string[] {
  return templateParts(s).flatMap((p) => ("expr" in p && !p.directive ? [p.expr] : []));
}

const REF_RE =
  /(?<![\w.])((?:data\.)?[A-Za-z][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*)((?:\s*\.\s*[A-Za-z_*][A-Za-z0-9_-]*|\[[^\]]*\])*)/g;

/** References in a config string to things whose value may change: resources, data, var, local. */
function refsIn(s: string, isAddress: (a: string) => boolean): Ref[] {
  const out: Ref[] = [];
  for (const expr of interpolations(s)) {
    for (const m of expr.matchAll(REF_RE)) {
      const target = m[1];
      if (target.startsWith("var.") || target.startsWith("local.") || isAddress(target)) {
        out.push({ target, segs: traversalSegs(m[2].replace(/\s+/g, "")) });
      }
    }
  }
  return out;
}

/** `"${terraform_data.x.output}"` or `terraform_data.x.output` -> {target, segs}. */
function parseTriggerRef(entry: string): Ref | undefined {
  const text = entry.trim().replace(/^\$\{/, "").replace(/\}$/, "");
  const m = /^((?:data\.)?[A-Za-z][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*)(.*)$/.exec(text);
  return m ? { target: m[1], segs: traversalSegs(m[2]) } : undefined;
}

/** lifecycle.ignore_changes as schema paths; `all` ignores everything. */
function ignoredPaths(body: Obj): string[][] | "all" {
  const lc = body.lifecycle;
  if (!isObj(lc)) return [];
  const ic = lc.ignore_changes;
  if (ic === "all") return "all";
  if (!Array.isArray(ic)) return [];
  if (ic.some((x) => x === "all")) return "all";
  return ic.filter((x): x is string => typeof x === "string").map((x) => traversalSegs(x.replace(/^\$\{|\}$/g, "")));
}

function refTarget(ref: string): string {
  return ref
    .split(".")
    .slice(0, ref.startsWith("data.") ? 3 : 2)
    .join(".");
}

// ---------------------------------------------------------------------------------------------
// Durable resources
// ---------------------------------------------------------------------------------------------

/**
 * Addresses of durable resources in one config: the DURABLE_TYPES, and every resource group that
 * holds a registry or key vault (its `resource_group_name` references the group or equals its
 * literal name) or that a management lock protects (the lock's `scope` references it).
 */
export function durableAddresses(tf: object): string[] {
  const managed = blocks(tf as Obj, "resource");
  const out = new Set<string>();
  const groups = [...managed.values()].filter((b) => b.type === "azurerm_resource_group");
  const groupAt = new Set(groups.map((g) => g.address));
  const groupNamed = new Map(groups.filter((g) => typeof g.body.name === "string").map((g) => [g.body.name as string, g.address]));
  // The groups a registry or vault lives in (by reference or by name), and the groups a lock protects.
  const groupsIn = (value: unknown): string[] =>
    typeof value !== "string" ? [] : [...refsIn(value, (a) => groupAt.has(a)).map((r) => r.target), ...(groupNamed.has(value) ? [groupNamed.get(value)!] : [])];
  for (const b of managed.values()) {
    if (DURABLE_TYPES.has(b.type)) out.add(b.address);
    if (b.type === "azurerm_container_registry" || b.type === "azurerm_key_vault" || b.type === "azurerm_log_analytics_workspace") {
      for (const g of groupsIn(b.body.resource_group_name)) out.add(g);
    }
    if (b.type === "azurerm_management_lock" && typeof b.body.scope === "string") for (const r of refsIn(b.body.scope, (a) => groupAt.has(a))) out.add(r.target);
  }
  return [...out].sort();
}

// ---------------------------------------------------------------------------------------------
// The analysis
// ---------------------------------------------------------------------------------------------

/** What a reference to a value sees. */
interface Seen {
  changed: boolean;
  /** only after the next apply */
  deferred: boolean;
  /** e.g. "replaced", "updated: new id after apply" */
  what: string;
}
const UNCHANGED: Seen = { changed: false, deferred: false, what: "" };

interface LeafChange {
  segs: string[];
  deferred: boolean;
  /** set when the change comes from a reference */
  via?: string;
  text: string;
  forces?: string;
}

interface Reason {
  text: string;
  replace: boolean;
  deferred: boolean;
  /** 0 literal ForceNew change, 1 reference, 2 replace_triggered_by, 3 in-place */
  rank: number;
}

interface State {
  address: string;
  type: string;
  old?: Block;
  new?: Block;
  oldLeaves: Map<string, Leaf>;
  newLeaves: Map<string, Leaf>;
  action: Action | "noop";
  deferred: boolean;
  /** changed leaves before ignore_changes (what a replacement re-creates) */
  raw: LeafChange[];
  /** changed leaves after ignore_changes (what an update sends) */
  effective: LeafChange[];
  reasons: Reason[];
}

/** Key order is not meaning: the CLI writes sorted keys, an in-memory synth does not. */
const sortedJson = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(sortedJson).join(",")}]`
    : isObj(v)
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${sortedJson(v[k])}`)
          .join(",")}}`
      : JSON.stringify(v);
const same = (a: unknown, b: unknown) => sortedJson(a) === sortedJson(b);

/** Old and new value for a one-line reason; long ones (base64 task files) are left out. */
function fromTo(before: unknown, after: unknown): string {
  const [b, a] = [before, after].map((v) => JSON.stringify(v) ?? String(v));
  return b.length > 40 || a.length > 40 ? "" : ` (${b} -> ${a})`;
}

export interface PreviewOptions {
  /**
   * Variables whose VALUE changes between the two plans (a rotated secret, `TF_VAR_github_token`):
   * the JSON shows the same `${var.x}` text on both sides, so without this a rotation reads as no
   * change.
   */
  changedVariables?: readonly string[];
}

export function previewReplacements(oldTf: object, newTf: object, options: PreviewOptions = {}): Preview {
  const oldObj = oldTf as Obj;
  const newObj = newTf as Obj;
  const notes = new Set<string>();

  // `moved` blocks of the new config rename old addresses (a rename without one is delete + create).
  const oldManaged = blocks(oldObj, "resource");
  const newManaged = blocks(newObj, "resource");
  // A move of a single resource into one instance of its own new for_each (`a.x` -> `a.x["k"]`),
  // and moves between two keys of one resource (`a.x["k"]` -> `a.x["j"]`: a rename).
  const movedIntoInstance = new Map<string, string>();
  const movedBetweenKeys = new Map<string, [string, string][]>();
  for (const mv of Array.isArray(newObj.moved) ? newObj.moved : []) {
    if (!isObj(mv) || typeof mv.from !== "string" || typeof mv.to !== "string") continue;
    const f = /^(.*?)\["([^"]*)"\]$/.exec(mv.from);
    const t = /^(.*?)\["([^"]*)"\]$/.exec(mv.to);
    if (f && t && f[1] === t[1]) movedBetweenKeys.set(f[1], [...(movedBetweenKeys.get(f[1]) ?? []), [f[2], t[2]]]);
  }
  for (const mv of Array.isArray(newObj.moved) ? newObj.moved : []) {
    if (!isObj(mv) || typeof mv.from !== "string" || typeof mv.to !== "string") continue;
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
    }
  }

  const states = new Map<string, State>();
  for (const address of new Set([...oldManaged.keys(), ...newManaged.keys()])) {
    const o = oldManaged.get(address);
    const n = newManaged.get(address);
    states.set(address, {
      address,
      type: (n ?? o)!.type,
      old: o,
      new: n,
      oldLeaves: o ? flatten(o.body) : new Map(),
      newLeaves: n ? flatten(n.body) : new Map(),
      action: !o ? "create" : !n ? "delete" : "noop",
      deferred: false,
      raw: [],
      effective: [],
      reasons: [],
    });
  }

  // The provider that plans the change is the one the NEW file pins (after `terraform init -upgrade`).
  const facts = factsFor(oldObj, newObj, [...new Set([...states.values()].map((s) => s.type))]);
  const forceNew = facts.map;
  for (const n of facts.notes) notes.add(n);

  const oldData = blocks(oldObj, "data");
  const newData = blocks(newObj, "data");
  const dataChanged = new Map<string, { reason: string; deferred: boolean }>();
  for (const a of oldData.keys()) if (!newData.has(a)) dataChanged.set(a, { reason: "removed", deferred: false });
  for (const a of newData.keys()) if (!oldData.has(a)) dataChanged.set(a, { reason: "added", deferred: false });

  const isAddress = (a: string) => states.has(a) || oldData.has(a) || newData.has(a);

  const section = (tf: Obj, key: string, name: string) => (isObj(tf[key]) ? (tf[key] as Obj)[name] : undefined);

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
        for (const rule of COMPUTED_ON_UPDATE[t.type] ?? []) {
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

  /** The ForceNew map path (or CustomizeDiff rule) that a change of `segs` hits, if any. */
  const forcedBy = (type: string, segs: string[], before: unknown, after: unknown): string | undefined => {
    const set = forceNew[type];
    for (let i = segs.length; i >= 1; i--) {
      const p = segs.slice(0, i).join(".");
      if (set?.has(p)) return p;
    }
    const cd = CUSTOMIZE_DIFF_FORCENEW[type];
    if (cd && cd(segs.join("."), before, after)) return `${segs.join(".")} (provider CustomizeDiff)`;
    return undefined;
  };

  /** Recomputes a resource present on both sides; returns a signature to detect the fixpoint. */
  const evaluate = (st: State): string => {
    const raw = new Map<string, LeafChange>();
    for (const key of new Set([...st.oldLeaves.keys(), ...st.newLeaves.keys()])) {
      const o = st.oldLeaves.get(key);
      const n = st.newLeaves.get(key);
      const segs = schemaSegs((n ?? o)!.segs);
      const p = segs.join(".");
      if (!o || !n || !same(o.value, n.value)) {
        const text = !o ? `${p} added` : !n ? `${p} removed` : `${p} changed${fromTo(o.value, n.value)}`;
        const forces = forcedBy(st.type, segs, o?.value, n?.value);
        raw.set(key, { segs, deferred: false, text, forces });
        continue;
      }
      if (typeof n.value !== "string") continue;
      let best: LeafChange | undefined;
      for (const ref of refsIn(n.value, isAddress)) {
        const s = seen(ref);
        if (!s.changed || (best && !best.deferred)) continue;
        if (best && s.deferred) continue;
        const forces = forcedBy(st.type, segs, o.value, UNKNOWN);
        best = { segs, deferred: s.deferred, via: ref.target, text: `${p} references ${ref.target} (${s.what})`, forces };
      }
      if (best) raw.set(key, best);
    }
    st.raw = [...raw.values()];
    const ignored = ignoredPaths(st.new!.body);
    st.effective = ignored === "all" ? [] : st.raw.filter((c) => !ignored.some((ig) => isPrefix(ig, c.segs)));

    const reasons: Reason[] = [];
    const seenText = new Set<string>();
    const known = forceNew[st.type] !== undefined;
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

  /** A data source is re-read with new results if its config changed, or read only during apply
   * (unknown results) if it references a value unknown at plan or depends_on a changing resource. */
  const evaluateData = (address: string): string => {
    if (!oldData.has(address) || !newData.has(address)) return dataChanged.get(address)?.reason ?? "";
    const ol = flatten(oldData.get(address)!.body);
    const nl = flatten(newData.get(address)!.body);
    let result: { reason: string; deferred: boolean } | undefined;
    for (const key of new Set([...ol.keys(), ...nl.keys()])) {
      const o = ol.get(key);
      const n = nl.get(key);
      if (!o || !n || !same(o.value, n.value)) {
        result = { reason: `config changed (${schemaSegs((n ?? o)!.segs).join(".")})`, deferred: false };
        break;
      }
      if (typeof n.value === "string") {
        const r = refsIn(n.value, isAddress).find((ref) => seen(ref).changed);
        if (r) {
          result = { reason: `read during apply: references ${r.target} (${seen(r).what})`, deferred: seen(r).deferred };
          break;
        }
      }
    }
    const deps = newData.get(address)!.body.depends_on;
    if (!result && Array.isArray(deps)) {
      for (const d of deps) {
        const t = typeof d === "string" ? states.get(refTarget(d.replace(/^\$\{|\}$/g, ""))) : undefined;
        if (t && t.action !== "noop") {
          result = { reason: `read during apply: depends_on ${t.address} (${t.action})`, deferred: t.deferred };
          break;
        }
      }
    }
    if (result) dataChanged.set(address, result);
    else dataChanged.delete(address);
    return result ? `${result.reason}/${result.deferred}` : "";
  };

  // Fixpoint. Every step can only add changes (or make a deferred one immediate), so it ends;
  // the bound is a guard against a bug, not a tuning knob.
  const both = [...states.values()].filter((s) => s.old && s.new);
  let signature = "";
  for (let round = 0; ; round++) {
    if (round > states.size + newData.size + 10)
      throw new Error("replacement preview did not converge (a bug in app/replacement-preview.ts)");
    const next = [...both.map(evaluate), ...[...newData.keys()].map(evaluateData)].join("\n");
    if (next === signature) break;
    signature = next;
  }

  // Report.
  const durable = new Set([...durableAddresses(oldObj), ...durableAddresses(newObj)]);
  // A delete runs under the old config's locks. A lock the new config drops is gone first only if
  // it depends on the resource in the state (Terraform destroys dependents first); otherwise both
  // deletes run at once and the resource's can meet the lock.
  const oldLocks = lockedBy(oldObj);
  const newManagedLocks = new Set([...newManaged.values()].filter((b) => b.type === "azurerm_management_lock").map((b) => b.address));
  /** What sits on a resource of another stack (read through remote state): its locks are not ours to see. */
  const onOtherStack = (address: string): boolean => {
    const b = oldManaged.get(address);
    return (
      !!b &&
      LOCK_BLOCKS_DELETE.has(b.type) &&
      PLACEMENT_ATTRIBUTES.some((a) => typeof b.body[a] === "string" && /\$\{[^}]*data\.terraform_remote_state\./.test(b.body[a] as string))
    );
  };
  const lockStops = (address: string): string | undefined => {
    const lock = oldLocks.get(address);
    if (!lock) return undefined;
    if (newManagedLocks.has(lock) && states.get(lock)?.action !== "replace") return lock;
    const deps = oldManaged.get(lock)?.body.depends_on;
    return Array.isArray(deps) && deps.includes(address) ? undefined : lock;
  };
  const refusedOf = (st: State): string[] => {
    const out: string[] = [];
    for (const rule of UPDATE_REFUSED[st.type] ?? []) {
      const key = JSON.stringify([rule.attr]);
      const before = st.oldLeaves.get(key)?.value;
      const after = st.newLeaves.get(key)?.value;
      if (!same(before, after) && rule.refuses(before, after)) out.push(`${rule.attr}${fromTo(before, after)}: ${rule.why}`);
    }
    return out;
  };
  const unknownTypes = [...new Set([...states.values()].map((s) => s.type))].filter((t) => !forceNew[t]).sort();
  const changes: ResourceChange[] = [];
  for (const st of states.values()) {
    if (st.action === "noop") continue;
    const reasons =
      st.action === "create"
        ? ["not in the old config"]
        : st.action === "delete"
        ? [
            isObj(st.old!.body.lifecycle) && st.old!.body.lifecycle.prevent_destroy === true
              ? "removed from the config (its prevent_destroy went with the block: nothing stops the destroy)"
              : "removed from the config",
          ]
        : st.reasons.map((r) => (r.deferred ? `${r.text} [next apply]` : r.text));
    // Instances are not modelled, but a resource that gains for_each changes how Terraform keys it.
    if (st.old && st.new && st.old.body.for_each === undefined && st.new.body.for_each !== undefined) {
      const key = movedIntoInstance.get(st.address);
      reasons.unshift(
        key
          ? `for_each added: the existing instance moves to ${key} (moved block), every other key is created`
          : "for_each added without a moved block: the existing instance is destroyed and one instance per key created " +
              "(terraform state mv into a key first, to keep it)",
      );
    }
    const lc = st.new?.body.lifecycle;
    const refused = st.action === "update" ? refusedOf(st) : [];
    const locked = st.action === "delete" || st.action === "replace" ? lockStops(st.address) : undefined;
    changes.push({
      address: st.address,
      type: st.type,
      action: st.action,
      durable: durable.has(st.address),
      reasons,
      nextApply: st.deferred,
      preventDestroy: st.action === "replace" && isObj(lc) && lc.prevent_destroy === true,
      ...(locked ? { locked } : {}),
      ...(refused.length ? { refused } : {}),
    });
  }
  // Instances of a `for_each` over a variable whose default is a literal map on both sides (the
  // deployers' policies): added and removed keys are creates and deletes of those instances, and
  // a key whose value changed is a change of what the instance reads (`each.value`).
  for (const st of states.values()) {
    if (!st.old || !st.new || st.action === "replace" || st.action === "delete") continue;
    const fe = st.new.body.for_each;
    const m = typeof fe === "string" ? /^\$\{var\.([A-Za-z_][A-Za-z0-9_-]*)\}$/.exec(fe) : null;
    if (!m || st.old.body.for_each !== fe || options.changedVariables?.includes(m[1])) continue;
    const defaults = (tf: Obj) => {
      const v = section(tf, "variable", m[1]);
      return isObj(v) && isObj(v.default) ? (v.default as Obj) : undefined;
    };
    const [was0, now] = [defaults(oldObj), defaults(newObj)];
    if (!was0 || !now) continue;
    // `moved` blocks between two keys of this resource rename the old instance first.
    const was: Obj = { ...was0 };
    for (const [from, to] of movedBetweenKeys.get(st.address) ?? []) {
      if (from in was && !(to in was)) {
        was[to] = was[from];
        delete was[from];
      }
    }
    const low = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : JSON.stringify(v));
    const actionOf = (key: string): Action | undefined =>
      !(key in was) ? "create" : !(key in now) ? "delete" : same(was[key], now[key]) ? undefined : "replace";
    const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])].sort();
    const locked = lockStops(st.address);
    for (const key of keys) {
      const address = `${st.address}[${JSON.stringify(key)}]`;
      const action = actionOf(key);
      if (!action) continue;
      // A value that another key held before, and that key loses it (deleted or changed): two
      // instances hold the same object at once (one Key Vault policy per object id), and the
      // create and the delete race. Case does not matter to Entra ID.
      const renamedFrom =
        action === "create" || action === "replace"
          ? keys.find((k) => k !== key && k in was && low(was[k]) === low(now[key]) && (actionOf(k) === "delete" || actionOf(k) === "replace"))
          : undefined;
      changes.push({
        address,
        type: st.type,
        action,
        durable: durable.has(st.address),
        reasons: [
          action === "create"
            ? `key ${JSON.stringify(key)} added to var.${m[1]}`
            : action === "delete"
              ? `key ${JSON.stringify(key)} removed from var.${m[1]}`
              : `var.${m[1]}[${JSON.stringify(key)}] changed (each.value; a ForceNew argument here replaces the instance)`,
        ],
        nextApply: false,
        preventDestroy: false,
        ...(action !== "create" && locked ? { locked } : {}),
        ...(renamedFrom !== undefined
          ? {
              refused: [
                `the value key ${JSON.stringify(renamedFrom)} holds until now: the two instances race over one object ` +
                  `(Key Vault keeps one access policy per object id); a rename is deployers[].renamedFrom (a moved block), ` +
                  `any other reuse of an object id takes two applies (remove, apply, add, apply)`,
              ],
            }
          : {}),
      });
    }
  }
  // A rotation with an overlap (twin tokens) must never renew or remove the token whose login the
  // vault holds now: readers pinned to that secret version (split team stacks not applied yet)
  // would stop pulling. That token is the one the old config's password secret reads.
  const twinned = new Set(
    [...oldManaged.values(), ...newManaged.values()]
      .filter((b) => b.type === "azurerm_container_registry_token_password" && b.address.endsWith("_alt"))
      .map((b) => b.address.slice(0, -"_alt".length)),
  );
  const inUse = new Set<string>();
  for (const b of oldManaged.values()) {
    if (b.type !== "azurerm_key_vault_secret" || typeof b.body.value !== "string") continue;
    for (const r of refsIn(b.body.value, (a) => a.startsWith("azurerm_container_registry_token_password."))) inUse.add(r.target);
  }
  for (const c of changes) {
    if (c.type !== "azurerm_container_registry_token_password" || (c.action !== "replace" && c.action !== "delete") || !inUse.has(c.address)) continue;
    if (!twinned.has(c.address.replace(/_alt$/, ""))) continue; // one token: a rotation renews it, as documented
    c.refused = [
      ...(c.refused ?? []),
      "this is the token the vault's login names now: readers that still use that secret version (split team stacks not applied yet) stop pulling; " +
        "raise tokenRotation by exactly one per apply, never set it first above 1, never unset it once past 1",
    ];
  }
  if (options.changedVariables?.includes("subscription_id"))
    notes.add("subscription_id: a plan in another subscription than the state's stops at terraform_data.environment (help/operations.md, \"A second environment\")");
  const order = (c: ResourceChange) =>
    c.action === "replace"
      ? c.durable
        ? 0
        : 1
      : ({ unknown: 2, update: 3, create: 4, delete: 5 } as Record<string, number>)[c.action];
  changes.sort((a, b) => order(a) - order(b) || byText(a.address, b.address));

  if (changes.some((c) => c.nextApply)) {
    notes.add(
      "[next apply]: the provider keeps the old value of a versioned id in the plan; apply writes the new one, and the resources " +
        "referencing it change on the FOLLOWING plan/apply (until then they use the previous version). Apply twice."
    );
  }
  // What sits on another stack's resource (read through remote state): that stack's locks are not
  // in this JSON, so the delete is only possibly refused; said, not counted.
  const elsewhere = changes.filter((c) => (c.action === "delete" || c.action === "replace") && onOtherStack(c.address)).map((c) => c.address);
  if (elsewhere.length)
    notes.add(
      `${elsewhere.join(", ")}: on a resource of the stack read through data.terraform_remote_state; if that stack locks its group, ` +
        "Azure refuses the delete: apply that stack with protection.liftLocks naming the group first (help/split.md)",
    );
  if (changes.some((c) => c.locked)) {
    // The groups to lift: the name of the group each lock's scope references.
    const groupOf = (lock: string): string => {
      const scope = oldManaged.get(lock)?.body.scope;
      const rg = typeof scope === "string" ? refsIn(scope, (a) => oldManaged.has(a))[0]?.target : undefined;
      const name = rg ? oldManaged.get(rg)?.body.name : undefined;
      return typeof name === "string" ? name : lock;
    };
    const groups = [...new Set(changes.filter((c) => c.locked).map((c) => groupOf(c.locked!)))].sort();
    notes.add(
      "[LOCKED]: Azure refuses to delete what a CanNotDelete lock covers (ScopeLocked), after the apply has made its other changes. " +
        `Apply this change with protection.liftLocks: [${groups.join(", ")}] (the lock goes first), then without it (help/operations.md, "Locks").`
    );
  }
  if (changes.some((c) => c.refused))
    notes.add("[REFUSED]: Azure or the provider refuses these changes, or they break a reader, at apply, after the apply has made its other changes; the reason says the way out.");
  if (changes.some((c) => c.preventDestroy))
    notes.add("prevent_destroy: terraform plan stops with an error on the replacements marked so.");
  const count = (f: (c: ResourceChange) => boolean) => changes.filter(f).length;
  return {
    changes,
    counts: {
      replaceDurable: count((c) => c.action === "replace" && c.durable),
      replace: count((c) => c.action === "replace" && !c.durable),
      update: count((c) => c.action === "update"),
      create: count((c) => c.action === "create"),
      delete: count((c) => c.action === "delete"),
      unknown: count((c) => c.action === "unknown"),
      locked: count((c) => c.locked !== undefined),
      refused: count((c) => c.refused !== undefined),
    },
    dataSources: [...dataChanged.entries()]
      .map(([address, d]) => ({ address, reason: d.reason }))
      .sort((a, b) => byText(a.address, b.address)),
    unknownTypes,
    notes: [...notes],
  };
}
