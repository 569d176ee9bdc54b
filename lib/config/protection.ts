/**
 * `protection`: locks and `prevent_destroy` on durable content. `liftLocks` names groups of other
 * sections (registries, the vault, the audit workspace), so its rule reads their derived groups.
 */
import { bool, list, named, strict } from "./fields";
import { arr, Check, fail, rec } from "./cross-field";
import { registriesOf, registryGroup } from "./registries";
import { vaultCreated, vaultGroup } from "./vault";
import { workspaceCreated, workspaceGroup } from "./diagnostics";

export const protectionSchema = strict(
  {
    locks: bool(true, "CanNotDelete lock on each durable resource group (registries, vault)"),
    preventDestroy: bool(true, "Terraform refuses to plan the destruction of a registry or the vault (`lifecycle.prevent_destroy`); false only for a sandbox you tear down"),
    liftLocks: list(
      named("resourceGroup", "A durable resource group of this config"),
      "Durable resource groups whose lock is lifted for one apply, to delete something in them (`npm run diff` names them under [LOCKED]); remove them again after that apply (help/operations.md, \"Locks\")",
    ).default([]),
  },
  "Protection of durable content",
).prefault({});

/** `protection.liftLocks`: only groups this config locks. */
export function protectionRules({ ctx, c }: Check): void {
  const lift = arr(rec(c.protection).liftLocks);
  if (lift.length && rec(c.protection).locks === false) fail(ctx, ["protection", "liftLocks"], lift, "has no effect: protection.locks is false, so no group is locked");
  else if (lift.length) {
    const durable = new Set(
      [
        ...registriesOf(c).map(({ r }) => registryGroup(r)),
        vaultCreated(c) ? vaultGroup(rec(c.keyVault)) : undefined,
        workspaceCreated(c) ? workspaceGroup(c) : undefined,
      ]
        .filter((g): g is string => g !== undefined)
        .map((g) => g.toLowerCase()),
    );
    lift.forEach((g, i) => {
      if (typeof g === "string" && !durable.has(g.toLowerCase()))
        fail(ctx, ["protection", "liftLocks", i], g, `is not a durable resource group of this config (those are: ${[...durable].sort().join(", ")})`);
    });
  }
}
