/**
 * Reading a synthesized Terraform JSON config, for the plan model of `npm run diff`
 * (app/plan-model.ts): its blocks by address, each body flattened to leaves, the references in its
 * `${...}` expressions, its lifecycle settings, and values compared as JSON.
 */
import { templateParts } from "./task-inputs";

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Keys of a resource body that are Terraform meta-arguments, not provider attributes. */
const META_KEYS = new Set(["//", "depends_on", "provider", "lifecycle", "provisioner", "connection", "count", "for_each"]);

/**
 * azurerm's `timeouts` change nothing a plan shows: the provider's plugin SDK keeps them out of its
 * diff (a change of timeouts alone plans the prior state; __tests__/provider-plan.test.ts shows it
 * with the real provider, 4.81.0 and 5.2.0); new timeouts take effect with the resource's next
 * create or update. Not so for a provider on the plugin framework (time, azapi), where `timeouts`
 * is an attribute like any other.
 */
const outsideDiff = (type: string | undefined, key: string) => key === "timeouts" && type?.startsWith("azurerm_") === true;

export interface Block {
  address: string;
  type: string;
  body: Obj;
}

/** address -> block, for `resource` (managed) or `data` (address prefixed `data.`). */
export function blocks(tf: Obj, kind: "resource" | "data"): Map<string, Block> {
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
export interface Leaf {
  segs: (string | number)[];
  value: unknown;
}

/** A one-element array of objects is how cdktf may write a MaxItems-1 block: read it as the object. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v) && v.length === 1 && isObj(v[0])) return v[0];
  return v;
}

/** The body's leaves, keyed by JSON.stringify(segs) (leafKey for a top-level attribute). */
export function flatten(body: Obj, type?: string): Map<string, Leaf> {
  const out = new Map<string, Leaf>();
  const walk = (v: unknown, segs: (string | number)[]) => {
    v = canonical(v);
    if (Array.isArray(v) && v.length > 0) v.forEach((x, i) => walk(x, [...segs, i]));
    else if (isObj(v) && Object.keys(v).length > 0) {
      for (const [k, x] of Object.entries(v)) if (k !== "//") walk(x, [...segs, k]);
    } else out.set(JSON.stringify(segs), { segs, value: v });
  };
  for (const [k, v] of Object.entries(body)) if (!META_KEYS.has(k) && !outsideDiff(type, k)) walk(v, [k]);
  return out;
}

/** The key of a top-level attribute in flattened leaves. */
export const leafKey = (attr: string): string => JSON.stringify([attr]);

export const schemaSegs = (segs: (string | number)[]): string[] => segs.filter((s): s is string => typeof s === "string");
/** a is b or an ancestor of b */
export const isPrefix = (a: readonly string[], b: readonly string[]) => a.length <= b.length && a.every((s, i) => s === b[i]);
export const overlaps = (a: string[], b: string[]) => isPrefix(a, b) || isPrefix(b, a);

/** `container[0].image`, `tags["x"]`, `container.*.image` -> ["container", "image"] / ["tags", "x"]. */
function traversalSegs(text: string): string[] {
  const segs: string[] = [];
  for (const m of text.matchAll(/\.([A-Za-z_][A-Za-z0-9_-]*)|\[\s*"([^"]*)"\s*\]|^([A-Za-z_][A-Za-z0-9_-]*)/g)) {
    const s = m[1] ?? m[2] ?? m[3];
    if (s !== undefined) segs.push(s);
  }
  return segs;
}

export interface Ref {
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
export function refsIn(s: string, isAddress: (a: string) => boolean): Ref[] {
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
export function parseTriggerRef(entry: string): Ref | undefined {
  const text = entry.trim().replace(/^\$\{/, "").replace(/\}$/, "");
  const m = /^((?:data\.)?[A-Za-z][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*)(.*)$/.exec(text);
  return m ? { target: m[1], segs: traversalSegs(m[2]) } : undefined;
}

/** lifecycle.ignore_changes as schema paths; `all` ignores everything. */
export function ignoredPaths(body: Obj): string[][] | "all" {
  const lc = body.lifecycle;
  if (!isObj(lc)) return [];
  const ic = lc.ignore_changes;
  if (ic === "all") return "all";
  if (!Array.isArray(ic)) return [];
  if (ic.some((x) => x === "all")) return "all";
  return ic.filter((x): x is string => typeof x === "string").map((x) => traversalSegs(x.replace(/^\$\{|\}$/g, "")));
}

/** `type.name.attr` -> `type.name`, `data.type.name.attr` -> `data.type.name`. */
export function refTarget(ref: string): string {
  return ref
    .split(".")
    .slice(0, ref.startsWith("data.") ? 3 : 2)
    .join(".");
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
export const same = (a: unknown, b: unknown) => sortedJson(a) === sortedJson(b);

/** `tf[key][name]`: a variable's or a local's declaration. */
export const section = (tf: Obj, key: string, name: string) => (isObj(tf[key]) ? (tf[key] as Obj)[name] : undefined);
