/**
 * What the azurerm provider decides for a change, for `npm run diff` (app/diff-rules.ts): the
 * ForceNew map of the azurerm version that plans it (app/forcenew.json, vendored per version by
 * scripts/vendor-forcenew.js), joined to each type's record of hand-written facts
 * (lib/resource-types.ts), with notes when that version is not vendored or the pin moves.
 */
import * as fs from "fs";
import * as path from "path";
import { resourceType, ResourceTypeFacts } from "../lib/resource-types";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

interface Vendored {
  pinned: string;
  maps: Map<string, Record<string, Set<string>>>;
}

/**
 * app/forcenew.json (scripts/vendor-forcenew.js writes it): per azurerm version, the attribute paths
 * whose change forces replacement, per type. Read with fs, not import: tsc does not copy JSON into
 * dist/, and dist/app/*.js must find the file in app/ as the ts sources under jest do.
 */
let vendoredCache: Vendored | undefined;
function vendored(): Vendored {
  if (vendoredCache) return vendoredCache;
  const candidates = [path.join(__dirname, "forcenew.json"), path.join(__dirname, "..", "..", "app", "forcenew.json")];
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file) throw new Error(`app/forcenew.json not found (looked in ${candidates.join(", ")})`);
  const raw = JSON.parse(fs.readFileSync(file, "utf8")) as { _pinned: string; versions: Record<string, Record<string, unknown>> };
  const maps = new Map<string, Record<string, Set<string>>>();
  for (const [version, types] of Object.entries(raw.versions)) {
    const map: Record<string, Set<string>> = {};
    for (const [type, paths] of Object.entries(types)) if (Array.isArray(paths)) map[type] = new Set(paths as string[]);
    maps.set(version, map);
  }
  return (vendoredCache = { pinned: raw._pinned, maps });
}

/** The azurerm versions whose ForceNew facts are vendored, the pinned one first. */
export function vendoredVersions(): string[] {
  const v = vendored();
  return [v.pinned, ...[...v.maps.keys()].filter((k) => k !== v.pinned)];
}

/** The ForceNew map of one azurerm version (default: the version acr-gate pins); undefined if not vendored. */
export function forceNewMap(version?: string): Record<string, Set<string>> {
  const v = vendored();
  const map = v.maps.get(version ?? v.pinned);
  if (!map) throw new Error(`no ForceNew facts for azurerm ${version}; vendored: ${vendoredVersions().join(", ")}`);
  return map;
}

/** `terraform.required_providers.azurerm.version` of a Terraform JSON config, if any. */
export function azurermPin(tf: Obj): string | undefined {
  const rp = isObj(tf.terraform) && isObj(tf.terraform.required_providers) ? tf.terraform.required_providers : undefined;
  const v = rp && isObj(rp.azurerm) ? rp.azurerm.version : undefined;
  return typeof v === "string" ? v.replace(/^\s*=?\s*v?/, "").trim() : undefined;
}

/** A type's record with the ForceNew paths of the azurerm version that plans the change. */
export interface PlannedTypeFacts extends ResourceTypeFacts {
  /** Attribute paths whose change replaces the resource; undefined: the type is not in app/forcenew.json. */
  readonly forceNew?: ReadonlySet<string>;
}

/**
 * The facts for a change from `oldTf` to `newTf`: ForceNew paths from the map of the version the NEW
 * file pins (the provider that plans the change, after `terraform init -upgrade`), with notes when
 * that version is not vendored or when the pin moves (then the two versions' maps are compared over
 * `types`, the resource types of both files).
 */
export function factsForChange(
  oldTf: Obj,
  newTf: Obj,
  types: string[],
): { of: (type: string) => PlannedTypeFacts; version: string; notes: string[] } {
  const notes: string[] = [];
  const versions = vendoredVersions();
  const wanted = azurermPin(newTf);
  let version = versions[0];
  if (wanted === undefined) {
    notes.push(`the new file pins no azurerm version; the ForceNew facts used are azurerm ${version}'s`);
  } else if (versions.includes(wanted)) {
    version = wanted;
  } else {
    notes.push(
      `azurerm is pinned to ${wanted}; ForceNew facts are vendored for ${versions.join(", ")} only, so azurerm ${version}'s are used: ` +
        `re-vendor app/forcenew.json (scripts/vendor-forcenew.js) for ${wanted}`,
    );
  }
  const map = forceNewMap(version);
  const from = azurermPin(oldTf);
  if (from !== undefined && wanted !== undefined && from !== wanted) {
    notes.push(`azurerm moves from ${from} to ${wanted}: run \`terraform init -upgrade\` before the plan (help/versions.md)`);
    if (versions.includes(from)) {
      const old = forceNewMap(from);
      const differ = types
        .filter((t) => map[t] || old[t])
        .map((t) => {
          const a = old[t] ?? new Set<string>();
          const b = map[t] ?? new Set<string>();
          const added = [...b].filter((p) => !a.has(p));
          const dropped = [...a].filter((p) => !b.has(p));
          return added.length || dropped.length
            ? `${t}${added.length ? ` (now forcing replacement: ${added.join(", ")})` : ""}${dropped.length ? ` (no longer: ${dropped.join(", ")})` : ""}`
            : "";
        })
        .filter(Boolean);
      notes.push(
        differ.length
          ? `the ForceNew facts of azurerm ${from} and ${wanted} differ for ${differ.join("; ")}; the replacements above are ${wanted}'s`
          : `the ForceNew facts of azurerm ${from} and ${wanted} agree on every resource type in these files`,
      );
    } else {
      notes.push(`no ForceNew facts are vendored for the old pin ${from}; the replacements above are ${wanted}'s`);
    }
  }
  const records = new Map<string, PlannedTypeFacts>();
  const of = (type: string): PlannedTypeFacts => {
    if (!records.has(type)) {
      const forceNew = Object.prototype.hasOwnProperty.call(map, type) ? map[type] : undefined;
      records.set(type, { ...resourceType(type), ...(forceNew ? { forceNew } : {}) });
    }
    return records.get(type)!;
  };
  return { of, version, notes };
}
