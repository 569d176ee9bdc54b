/**
 * Which resources of a Terraform JSON config a CanNotDelete management lock covers, and the order
 * that lets a lock be lifted in the same apply that deletes what it covers.
 *
 * Azure applies a resource group's lock to everything in it: the ARM DELETE of a task, a token, a
 * role assignment scoped to a registry in the group is refused (ScopeLocked). Terraform deletes two
 * resources removed in one apply at the same time, unless the state records that one depends on the
 * other; then it deletes the dependent first (internal/terraform/transform_destroy_edge.go). So each
 * lock `depends_on` what it covers: lifting a lock (config protection.liftLocks) and deleting what
 * it covers then works in one apply, the lock first; and on create the lock comes last.
 *
 * Pure JSON analysis, shared by the stacks (which add the ordering) and `npm run diff` (which flags
 * deletes a lock would refuse).
 */
import { resourceType } from "./resource-types";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The attributes through which a resource sits in a group, or on a resource that does. */
export const PLACEMENT_ATTRIBUTES = ["resource_group_name", "scope", "target_resource_id", "container_registry_id", "container_registry_name", "key_vault_id"];

/** `type.name` addresses referenced in the `${...}` of a string. */
function addressesIn(s: string): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(/\$\{([^}]*)\}/g)) {
    for (const r of m[1].matchAll(/(?<![\w.])([a-z][a-z0-9_]*\.[a-z0-9_][a-z0-9_-]*)/g)) out.push(r[1]);
  }
  return out;
}

/** For each resource (address) that a lock covers, the lock's address. */
export function lockedBy(tf: object): Map<string, string> {
  const resource = isObj((tf as Obj).resource) ? ((tf as Obj).resource as Obj) : {};
  const bodies = new Map<string, { type: string; body: Obj }>();
  for (const [type, byName] of Object.entries(resource)) {
    if (!isObj(byName)) continue;
    for (const [name, body] of Object.entries(byName)) if (isObj(body)) bodies.set(`${type}.${name}`, { type, body });
  }
  const lockOf = new Map<string, string>(); // group address -> lock address
  const groupNamed = new Map<string, string>();
  // A group another stack makes, read here by name (a split team's): its lock is this stack's.
  const readGroups = isObj((tf as Obj).data) && isObj(((tf as Obj).data as Obj).azurerm_resource_group) ? (((tf as Obj).data as Obj).azurerm_resource_group as Obj) : {};
  const lockOfRead = new Map<string, string>(); // group name -> lock address
  for (const [address, { type, body }] of bodies) {
    if (type === "azurerm_resource_group" && typeof body.name === "string") groupNamed.set(body.name, address);
    if (type === "azurerm_management_lock" && typeof body.scope === "string") {
      for (const a of addressesIn(body.scope)) if (bodies.get(a)?.type === "azurerm_resource_group") lockOf.set(a, address);
      for (const m of body.scope.matchAll(/\$\{data\.azurerm_resource_group\.([a-z0-9_][a-z0-9_-]*)\.id\}/g)) {
        const read = readGroups[m[1]];
        if (isObj(read) && typeof read.name === "string") lockOfRead.set(read.name, address);
      }
    }
  }
  const memo = new Map<string, string | undefined>();
  const coverOf = (address: string, seen: Set<string>): string | undefined => {
    if (lockOf.has(address)) return lockOf.get(address);
    if (memo.has(address)) return memo.get(address);
    const b = bodies.get(address);
    if (!b || seen.has(address)) return undefined;
    seen.add(address);
    let found: string | undefined;
    for (const attr of PLACEMENT_ATTRIBUTES) {
      const v = b.body[attr];
      if (typeof v !== "string") continue;
      if (attr === "resource_group_name" && groupNamed.has(v)) found ??= lockOf.get(groupNamed.get(v)!);
      if (attr === "resource_group_name") found ??= lockOfRead.get(v);
      for (const a of addressesIn(v)) if (bodies.has(a)) found ??= coverOf(a, seen);
    }
    memo.set(address, found);
    return found;
  };
  const out = new Map<string, string>();
  for (const [address, { type }] of bodies) {
    if (!resourceType(type).lockBlocksDelete || lockOf.has(address)) continue;
    const lock = coverOf(address, new Set());
    if (lock) out.set(address, lock);
  }
  return out;
}

/**
 * Adds to each lock's `depends_on` every resource it covers (sorted, after what it had), in place;
 * returns `tf`. A lock's own group stays out: the lock references it already.
 */
export function orderLocksAfterContents<T extends object>(tf: T): T {
  const byLock = new Map<string, string[]>();
  for (const [address, lock] of lockedBy(tf)) byLock.set(lock, [...(byLock.get(lock) ?? []), address]);
  const locks = ((tf as Obj).resource as Obj | undefined)?.azurerm_management_lock;
  if (!isObj(locks)) return tf;
  for (const [name, body] of Object.entries(locks)) {
    const covered = byLock.get(`azurerm_management_lock.${name}`);
    if (!isObj(body) || !covered) continue;
    const had = Array.isArray(body.depends_on) ? (body.depends_on as string[]) : [];
    body.depends_on = [...had, ...covered.filter((a) => !had.includes(a)).sort()];
  }
  return tf;
}
