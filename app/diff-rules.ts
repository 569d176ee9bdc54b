/**
 * The rules of `npm run diff` (the command: app/diff-cli.ts): they answer for the provider while
 * app/plan-model.ts works out what changes, then judge each change. Platform teams apply our JSON
 * for years; a replaced registry loses its images, a replaced vault its secrets, so:
 * - which change replaces: the ForceNew paths of the azurerm version the new file pins
 *   (app/forcenew.json), or a ForceNew ancestor, or the provider's CustomizeDiff rules; the computed
 *   attributes an in-place update changes. All from the resource type records (lib/resource-types.ts,
 *   joined with the ForceNew map by app/provider-facts.ts);
 * - which resources are durable (durableAddresses), so that their replacement is REPLACE DURABLE;
 * - what Azure or the provider refuses at apply, after the apply has made its other changes, which
 *   `terraform plan` shows as routine: a delete under a CanNotDelete lock (LOCKED), an update the
 *   provider refuses, two instances racing over one object, a twin token renewed while in use
 *   (REFUSED).
 */
import { Action, fromTo, PlanModel, PlannedResource, PlanOptions, ProviderAnswers, readPlan, settle } from "./plan-model";
import { blocks, isObj, leafKey, Obj, refsIn, same, section } from "./terraform-json";
import { factsForChange } from "./provider-facts";
import { lockedBy, PLACEMENT_ATTRIBUTES } from "../lib/lock-cover";
import { byText } from "../lib/order";
import { upstreamMoves } from "./upstream-moves";
import { dataSourceType, resourceType } from "../lib/resource-types";

export interface ResourceChange {
  address: string;
  type: string;
  /** `unknown`: the type is not in app/forcenew.json, so update and replace cannot be told apart. */
  action: Action;
  /** A resource whose loss loses data or protection (see durableAddresses). */
  durable: boolean;
  /** Why, most decisive first (the text puts reasons[0] on the resource's line, or after "because"). */
  reasons: string[];
  /** Terraform's next plan does not show this yet; the plan after that apply does (app/plan-model.ts, point 5). */
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
   * (the type's refusedUpdates, lib/resource-types.ts), a deployer renamed with its object id, both
   * twin tokens renewed at once. Why, and the way out.
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
  /**
   * Resources the state forgets and Azure keeps: a `removed` block with `destroy = false` for an old
   * address (handOver), which `terraform plan` shows as "forget".
   */
  forgotten: string[];
}

/**
 * Addresses of durable resources in one config: the durable types, and every resource group that
 * holds a store (a registry, vault or workspace: its `resource_group_name` references the group or
 * equals its literal name) or that a management lock protects (the lock's `scope` references it).
 */
export function durableAddresses(tf: object): string[] {
  const managed = blocks(tf as Obj, "resource");
  const out = new Set<string>();
  const groups = [...managed.values()].filter((b) => b.type === "azurerm_resource_group");
  const groupAt = new Set(groups.map((g) => g.address));
  const groupNamed = new Map(groups.filter((g) => typeof g.body.name === "string").map((g) => [g.body.name as string, g.address]));
  // The groups a store lives in (by reference or by name), and the groups a lock protects.
  const groupsIn = (value: unknown): string[] =>
    typeof value !== "string" ? [] : [...refsIn(value, (a) => groupAt.has(a)).map((r) => r.target), ...(groupNamed.has(value) ? [groupNamed.get(value)!] : [])];
  for (const b of managed.values()) {
    const facts = resourceType(b.type);
    if (facts.durable) out.add(b.address);
    if (facts.holds !== undefined) for (const g of groupsIn(b.body.resource_group_name)) out.add(g);
    if (b.type === "azurerm_management_lock" && typeof b.body.scope === "string") for (const r of refsIn(b.body.scope, (a) => groupAt.has(a))) out.add(r.target);
  }
  return [...out].sort();
}

/** What `terraform apply` would do to go from the old synthesized stack to the new one, judged. */
export function previewReplacements(oldTf: object, newTf: object, options: PlanOptions = {}): Preview {
  const handed = handOver(oldTf, newTf);
  const plan = readPlan(handed.oldTf, newTf);
  const { oldTf: oldObj, newTf: newObj, oldManaged, newManaged, resources: states } = plan;
  // The provider that plans the change is the one the NEW file pins (after `terraform init -upgrade`).
  const facts = factsForChange(oldObj, newObj, [...new Set([...states.values()].map((s) => s.type))]);
  const provider: ProviderAnswers = {
    knows: (type) => facts.of(type).forceNew !== undefined,
    // The change's path, or its nearest ancestor, in the ForceNew map; else a CustomizeDiff rule.
    forcesReplacement: (type, segs, before, after) => {
      const t = facts.of(type);
      for (let i = segs.length; i >= 1; i--) {
        const p = segs.slice(0, i).join(".");
        if (t.forceNew?.has(p)) return p;
      }
      if (t.forcesReplacementInCustomizeDiff?.(segs.join("."), before, after)) return `${segs.join(".")} (provider CustomizeDiff)`;
      return undefined;
    },
    computedOnUpdate: (type) => facts.of(type).computedOnUpdate ?? [],
    signInOnly: (dataType, attr, before, after) => dataSourceType(dataType).signInOnly(attr, before, after),
    movedOnly: (dataType, before, after) => dataSourceType(dataType).movedOnly?.(before, after),
  };
  const notes = new Set([...handed.notes, ...facts.notes, ...settle(plan, provider, options)]);

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
      resourceType(b.type).lockBlocksDelete &&
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
  const refusedOf = (st: PlannedResource): string[] => {
    const out: string[] = [];
    for (const rule of resourceType(st.type).refusedUpdates ?? []) {
      const before = st.oldLeaves.get(leafKey(rule.attr))?.value;
      const after = st.newLeaves.get(leafKey(rule.attr))?.value;
      if (!same(before, after) && rule.refuses(before, after)) out.push(`${rule.attr}${fromTo(before, after)}: ${rule.why}`);
    }
    return out;
  };
  const unknownTypes = [...new Set([...states.values()].map((s) => s.type))].filter((t) => !provider.knows(t)).sort();
  const changes: ResourceChange[] = [];
  /**
   * A resource moved into one instance of its new for_each over a variable's literal map (the
   * deployers' policies, named in the config): Terraform plans per instance, so the existing one is
   * listed under the key it ends at (through moves between keys, a rename) and every other key as a
   * create. Over a variable without a literal map the keys are unknown here: the resource's address.
   */
  const movedInto = (st: PlannedResource): { key: string; others: string[]; variable: string } | undefined => {
    // Only where the old resource had no for_each: a moved block into its first key stays in the config after.
    const into = st.old?.body.for_each === undefined ? plan.movedIntoInstance.get(st.address) : undefined;
    const fe = st.new?.body.for_each;
    const variable = typeof fe === "string" ? /^\$\{var\.([A-Za-z_][A-Za-z0-9_-]*)\}$/.exec(fe)?.[1] : undefined;
    const first = into ? /^\["([^"]*)"\]$/.exec(into)?.[1] : undefined;
    const v = variable ? section(newObj, "variable", variable) : undefined;
    if (first === undefined || !variable || !isObj(v) || !isObj(v.default) || options.changedVariables?.includes(variable)) return undefined;
    const between = plan.movedBetweenKeys.get(st.address) ?? [];
    let key = first;
    for (let hops = 0; hops <= between.length; hops++) key = between.find(([from]) => from === key)?.[1] ?? key;
    return { key, others: Object.keys(v.default).filter((k) => k !== key).sort(), variable };
  };
  for (const st of states.values()) {
    const into = movedInto(st);
    for (const k of into?.others ?? []) {
      changes.push({
        address: `${st.address}[${JSON.stringify(k)}]`,
        type: st.type,
        action: "create",
        durable: durable.has(st.address),
        reasons: [`key ${JSON.stringify(k)} of var.${into!.variable}: created with the for_each`],
        nextApply: false,
        preventDestroy: false,
      });
    }
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
      const key = plan.movedIntoInstance.get(st.address);
      reasons.unshift(
        key
          ? `for_each added: the existing instance moves to ${into ? `[${JSON.stringify(into.key)}]` : key} (moved block${into && `["${into.key}"]` !== key ? "s" : ""}), every other key is created`
          : "for_each added without a moved block: the existing instance is destroyed and one instance per key created " +
              "(terraform state mv into a key first, to keep it)",
      );
    }
    const lc = st.new?.body.lifecycle;
    const refused = st.action === "update" ? refusedOf(st) : [];
    const locked = st.action === "delete" || st.action === "replace" ? lockStops(st.address) : undefined;
    changes.push({
      address: into ? `${st.address}[${JSON.stringify(into.key)}]` : st.address,
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
  // The instances of a for_each over a variable's literal map (the deployers' policies).
  for (const st of states.values()) {
    const instances = instanceChanges(plan, st, options);
    const locked = instances.length ? lockStops(st.address) : undefined;
    for (const i of instances) {
      changes.push({
        address: i.address,
        type: st.type,
        action: i.action,
        durable: durable.has(st.address),
        reasons: [
          i.action === "create"
            ? `key ${JSON.stringify(i.key)} added to var.${i.variable}`
            : i.action === "delete"
              ? `key ${JSON.stringify(i.key)} removed from var.${i.variable}`
              : `var.${i.variable}[${JSON.stringify(i.key)}] changed (each.value; a ForceNew argument here replaces the instance)`,
        ],
        nextApply: false,
        preventDestroy: false,
        ...(i.action !== "create" && locked ? { locked } : {}),
        // Two instances holding the same object id at once (Key Vault keeps one access policy per
        // object id; case does not matter to Entra ID): the create and the delete race.
        ...(i.valueFrom !== undefined
          ? {
              refused: [
                `the value key ${JSON.stringify(i.valueFrom)} holds until now: the two instances race over one object ` +
                  `(Key Vault keeps one access policy per object id); a rename is deployers[].renamedFrom (a moved block), ` +
                  `any other reuse of an object id takes two applies (remove, apply, add, apply)`,
              ],
            }
          : {}),
      });
    }
  }
  refuseRenewingTokenInUse(changes, oldManaged, newManaged);
  const moved = backendMove(oldObj, newObj);
  if (moved) notes.add(moved);
  for (const n of upstreamMoves(oldObj, newObj)) notes.add(n);
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
    dataSources: [...plan.dataChanged.entries()]
      .map(([address, d]) => ({ address, reason: d.reason }))
      .sort((a, b) => byText(a.address, b.address)),
    unknownTypes,
    notes: [...notes],
    forgotten: handed.forgotten,
  };
}

/**
 * A rotation with an overlap (twin tokens) must never renew or remove the token whose login the
 * vault holds now: readers pinned to that secret version (split team stacks not applied yet) would
 * stop pulling. That token is the one the old config's password secret reads. Marks such changes
 * refused, in place. One token without a twin: a rotation renews it, as documented.
 */
function refuseRenewingTokenInUse(changes: ResourceChange[], oldManaged: PlanModel["oldManaged"], newManaged: PlanModel["newManaged"]): void {
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
    if (!twinned.has(c.address.replace(/_alt$/, ""))) continue;
    c.refused = [
      ...(c.refused ?? []),
      "this is the token the vault's login names now: readers that still use that secret version (split team stacks not applied yet) stop pulling; " +
        "raise tokenRotation by exactly one per apply, never set it first above 1, never unset it once past 1",
    ];
  }
}

/** One instance of a `for_each` over a variable's literal map: its key, and what happens to it. */
interface InstanceChange {
  /** `type.name["key"]` */
  address: string;
  key: string;
  /** The variable the resource iterates over. */
  variable: string;
  action: "create" | "delete" | "replace";
  /**
   * The key that held this instance's value until now and loses it (deleted or changed): for a
   * moment two instances hold the same value, and the create and the delete race.
   */
  valueFrom?: string;
}

/**
 * The instances of a resource whose `for_each` is the same variable on both sides, with a literal
 * map default in both (the deployers' policies): added and removed keys are creates and deletes,
 * and a key whose value changed is a change of what the instance reads (`each.value`). `moved`
 * blocks between two keys rename the old instance first. Values compare without letter case when
 * telling who held a value (Entra ID object ids).
 */
function instanceChanges(plan: PlanModel, st: PlannedResource, options: PlanOptions = {}): InstanceChange[] {
  if (!st.old || !st.new || st.action === "replace" || st.action === "delete") return [];
  const fe = st.new.body.for_each;
  const m = typeof fe === "string" ? /^\$\{var\.([A-Za-z_][A-Za-z0-9_-]*)\}$/.exec(fe) : null;
  if (!m || st.old.body.for_each !== fe || options.changedVariables?.includes(m[1])) return [];
  const variable = m[1];
  const defaults = (tf: Obj) => {
    const v = section(tf, "variable", variable);
    return isObj(v) && isObj(v.default) ? (v.default as Obj) : undefined;
  };
  const [was0, now] = [defaults(plan.oldTf), defaults(plan.newTf)];
  if (!was0 || !now) return [];
  const was: Obj = { ...was0 };
  for (const [from, to] of plan.movedBetweenKeys.get(st.address) ?? []) {
    if (from in was && !(to in was)) {
      was[to] = was[from];
      delete was[from];
    }
  }
  const low = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : JSON.stringify(v));
  const actionOf = (key: string): InstanceChange["action"] | undefined =>
    !(key in was) ? "create" : !(key in now) ? "delete" : same(was[key], now[key]) ? undefined : "replace";
  const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])].sort();
  const out: InstanceChange[] = [];
  for (const key of keys) {
    const action = actionOf(key);
    if (!action) continue;
    const valueFrom =
      action === "create" || action === "replace"
        ? keys.find((k) => k !== key && k in was && low(was[k]) === low(now[key]) && (actionOf(k) === "delete" || actionOf(k) === "replace"))
        : undefined;
    out.push({ address: `${st.address}[${JSON.stringify(key)}]`, key, variable, action, ...(valueFrom !== undefined ? { valueFrom } : {}) });
  }
  return out;
}

/**
 * The stack's own backend changed where its state is (no resource changes for it, but the next
 * `terraform init` stops with "Backend configuration changed"): which way to answer, since
 * `-reconfigure` on a moved state starts from an empty one and plans to create everything.
 */
function backendMove(oldObj: Obj, newObj: Obj): string | undefined {
  const backendOf = (tf: Obj): [string, Obj] | undefined => {
    const b = section(tf, "terraform", "backend");
    const entry = isObj(b) ? Object.entries(b)[0] : undefined;
    return entry && isObj(entry[1]) ? [entry[0], entry[1] as Obj] : undefined;
  };
  const [o, n] = [backendOf(oldObj), backendOf(newObj)];
  if (!o || !n || same(o, n)) return undefined;
  const keys = [...new Set([...Object.keys(o[1]), ...Object.keys(n[1])])].filter((k) => !same(o[1][k], n[1][k])).sort(byText);
  const signIn = o[0] === "azurerm" && n[0] === "azurerm" && keys.every((k) => dataSourceType("terraform_remote_state").signInOnly(`config.${k}`, { backend: "azurerm" }, { backend: "azurerm" }));
  const shown = keys.map((k) => `${k} ${JSON.stringify(o[1][k] ?? null)} -> ${JSON.stringify(n[1][k] ?? null)}`).join(", ");
  return signIn
    ? `backend: only how it signs in changed (${shown}): the same state; its next terraform init needs -reconfigure`
    : o[0] !== n[0] || keys.length
      ? `backend: the state moves (${o[0] === n[0] ? `${o[0]}: ${shown}` : `${o[0]} -> ${n[0]}`}): run terraform init -migrate-state before any plan, never -reconfigure, which leaves the state behind and plans to create every resource (help/operations.md, "State containers per environment")`
      : undefined;
}

/**
 * Resources the new config hands over to another stack's state: a `removed` block with
 * `lifecycle { destroy = false }` for an address of the old config (Terraform forgets it, Azure
 * keeps it; a split team's resource groups, made by the platform since issue 28). Out of the old
 * config before the plan is read, so that they are neither deleted nor created here. Where the new
 * config reads the same object back (a data source of the same type and name, by the same `name`),
 * the old references become references to that data source: `name` is the literal, `location` the
 * old literal, anything else (`id`) the data source's attribute, which Azure gives alike.
 */
export function handOver(oldTf: object, newTf: object): { oldTf: object; notes: string[]; forgotten: string[] } {
  const removed = Array.isArray((newTf as Obj).removed) ? ((newTf as Obj).removed as unknown[]) : [];
  const forgotten = removed.filter((r): r is Obj => isObj(r) && typeof r.from === "string" && isObj(r.lifecycle) && (r.lifecycle as Obj).destroy === false).map((r) => String(r.from));
  const old = blocks(oldTf as Obj, "resource");
  const gone = forgotten.filter((a) => old.has(a));
  if (!gone.length) return { oldTf, notes: [], forgotten: [] };
  const copy = JSON.parse(JSON.stringify(oldTf)) as Obj;
  const notes: string[] = [];
  const newData = blocks(newTf as Obj, "data");
  const rewrites: [RegExp, string][] = [];
  for (const address of gone) {
    const [type, name] = address.split(".");
    const body = ((copy.resource as Obj)[type] as Obj)[name] as Obj;
    delete ((copy.resource as Obj)[type] as Obj)[name];
    if (!Object.keys((copy.resource as Obj)[type] as Obj).length) delete (copy.resource as Obj)[type];
    const read = newData.get(`data.${address}`);
    const esc = address.replace(/\./g, "\\.");
    if (read && typeof body.name === "string" && same(read.body.name, body.name)) {
      rewrites.push([new RegExp(`^\\$\\{${esc}\\.name\\}$`), body.name]);
      if (typeof body.location === "string" && !body.location.includes("${")) rewrites.push([new RegExp(`^\\$\\{${esc}\\.location\\}$`), body.location]);
      rewrites.push([new RegExp(`(?<![\\w.])${esc}\\.`, "g"), `data.${address}.`]);
      const data = ((copy.data ??= {}) as Obj)[type] ??= {};
      (data as Obj)[name] = JSON.parse(JSON.stringify(read.body));
      notes.push(`${address}: handed over (removed block, destroy = false): leaves this state, stays in Azure; read here as data.${address} (import it into the stack that makes it first: help/split.md)`);
    } else {
      notes.push(`${address}: forgotten (removed block, destroy = false): leaves this state, stays in Azure`);
    }
    const drop = (v: unknown): unknown => (Array.isArray(v) ? v.filter((d) => d !== address) : v);
    for (const rs of Object.values(isObj(copy.resource) ? copy.resource : {})) for (const r of Object.values(isObj(rs) ? rs : {})) if (isObj(r) && r.depends_on) r.depends_on = drop(r.depends_on);
  }
  const rewrite = (v: unknown): unknown => {
    if (typeof v === "string") {
      let text = v;
      for (const [re, to] of rewrites) {
        if (!re.global && re.test(text)) return to;
        if (re.global) text = text.replace(re, to);
      }
      return text;
    }
    if (Array.isArray(v)) return v.map(rewrite);
    if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewrite(x)]));
    return v;
  };
  copy.resource = rewrite(copy.resource);
  return { oldTf: copy, notes, forgotten: gone };
}
