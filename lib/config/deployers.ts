/** `deployers`: the identities that run terraform plan and apply, one access policy each on the vault acr-gate creates. */
import { z } from "zod";
import { list, named, strict } from "./fields";
import { Check, fail, Namespace, rec } from "./cross-field";
import { vaultCreated } from "./vault";

const deployerSchema = strict(
  {
    name: named("deployerName", "A name for the identity, the key of its access policy (`...deployer[\"<name>\"]`)"),
    objectId: named("objectId", "Its Entra ID object id (a user, a group, or a CI service principal)"),
    renamedFrom: named("deployerName", "The name this deployer had before: its policy moves to the new name (a `moved` block) instead of being deleted and created again; drop it after the apply").optional(),
  },
  "An identity that runs terraform plan and apply on this stack",
);

export const deployersField = list(
  deployerSchema,
  "The identities that deploy (people, groups, CI principals), each with its own access policy on the vault acr-gate creates; the default of the Terraform variable `deployers`. Empty: the variable is required at plan time (help/operations.md, \"Deployers\")",
).default([]);

/** One policy each, keyed by name; Key Vault keeps one entry per object id. */
export function deployerRules({ ctx, c }: Check): void {
  if (Array.isArray(c.deployers) && c.deployers.length && !vaultCreated(c))
    fail(ctx, ["deployers"], c.deployers, "has no effect with keyVault.existing: acr-gate grants deployers only on a vault it creates (the existing vault's owner grants access)");
  if (!Array.isArray(c.deployers)) return;
  const names = new Namespace("deployer name", null);
  const ids = new Namespace("deployer object id", null);
  c.deployers.forEach((d, i) => {
    const r = rec(d);
    if (typeof r.name === "string") names.claim(ctx, ["deployers", i, "name"], r.name);
    if (typeof r.objectId === "string") ids.claim(ctx, ["deployers", i, "objectId"], r.objectId.toLowerCase());
  });
  const current = new Set(c.deployers.map((d) => rec(d).name).filter((n): n is string => typeof n === "string"));
  const renamed = new Namespace("former deployer name", null);
  c.deployers.forEach((d, i) => {
    const from = rec(d).renamedFrom;
    if (typeof from !== "string") return;
    if (current.has(from)) fail(ctx, ["deployers", i, "renamedFrom"], from, "is the name of a deployer listed now; a rename names a former one");
    else renamed.claim(ctx, ["deployers", i, "renamedFrom"], from);
  });
}

export const resolveDeployer = (d: z.output<typeof deployerSchema>) => ({ name: d.name, objectId: d.objectId.toLowerCase(), renamedFrom: d.renamedFrom ?? null });
