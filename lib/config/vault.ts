/** `keyVault`: the vault holding the pull tokens' logins and the Git token, created or existing. */
import { z } from "zod";
import { bool, int, list, named, strict } from "./fields";
import { arr, Check, fail, rec, str, valid } from "./cross-field";
import { ResourceGroups } from "./resource-groups";

export const keyVaultSchema = strict(
  {
    name: named("keyVault", "Vault name: 3-24 letters, digits and hyphens, globally unique"),
    resourceGroup: named("resourceGroup", "Its resource group (default `<name>-rg`)").optional(),
    existing: bool(false, "Use a vault that exists (access-policy mode) instead of creating it and its group"),
    softDeleteRetentionDays: int(7, 90, 90, "Soft-delete retention of a created vault"),
    allowedIpRanges: list(
      named("ipv4Range", "IPv4 address or CIDR"),
      "Not supported: ACR task agents read the vault from addresses that are not fixed and are not a Key Vault trusted service, so a vault firewall would break every task; must be empty",
    )
      .meta({ maxItems: 0 })
      .default([]),
  },
  "The Key Vault holding tokens and the Git token",
);

/** The vault's resource group: its own, or `<name>-rg`. */
export const vaultGroup = (kv: Record<string, unknown>) => str(kv.resourceGroup) ?? (valid("keyVault", kv.name) ? `${kv.name}-rg` : undefined);

/** Whether acr-gate creates the vault (and so its group, a durable one). */
export const vaultCreated = (c: Record<string, unknown>) => rec(c.keyVault).existing !== true;

export function keyVaultRules({ ctx, c }: Check, groups: ResourceGroups): void {
  const kv = rec(c.keyVault);
  if (arr(kv.allowedIpRanges).length > 0) {
    fail(
      ctx,
      ["keyVault", "allowedIpRanges"],
      kv.allowedIpRanges,
      "cannot work: ACR task agents read secrets from addresses that are not fixed and ACR Tasks is not a Key Vault trusted service, so a vault firewall would fail every task run; leave it out (help/security.md)",
    );
  }
  if (!vaultCreated(c)) groups.claimExternal(vaultGroup(kv));
  else groups.claim(["keyVault"], kv.resourceGroup === undefined ? ["keyVault", "name"] : ["keyVault", "resourceGroup"], vaultGroup(kv), true);
}

export const resolveKeyVault = (kv: z.output<typeof keyVaultSchema>) => ({ ...kv, resourceGroup: vaultGroup(kv)! });
