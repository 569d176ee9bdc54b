/**
 * The resource groups of the file: one namespace that every section creating a group claims in
 * (registries, the vault, the audit workspace, the apps' container groups), in the order the
 * cross-field rules run (lib/config/schema.ts). The rules that span sections live here: durable
 * content (registries, key vault) never shares a group with an app, and nothing of ours lives in
 * the group of an existing vault, which acr-gate does not manage.
 */
import { Ctx, fail, fmtPath, Namespace, Path, valid } from "./cross-field";

const EXISTING_VAULT_GROUP = "is the resource group of the existing key vault (keyVault.resourceGroup), which acr-gate does not manage; use a group of its own";

export class ResourceGroups {
  private readonly groups = new Namespace("resource group", "azurerm_resource_group.rg_");
  /** Durable groups by lower-case name, with what lives in them (for messages). */
  private readonly durable = new Map<string, string>();
  private readonly external = new Set<string>();

  constructor(private readonly ctx: Ctx) {}

  /** `owner` is what the group holds, e.g. `teamRegistries[0]`; `path` the field that names or derives it. */
  claim(owner: Path, path: Path, name: string | undefined, durable: boolean): void {
    if (!name || !valid("resourceGroup", name)) return;
    if (this.external.has(name.toLowerCase())) {
      fail(this.ctx, path, name, EXISTING_VAULT_GROUP);
      return;
    }
    const earlier = this.groups.get(name);
    const holder = this.durable.get(name.toLowerCase());
    if (!durable && holder && earlier) {
      const spelled = earlier.value === name ? "" : ` (spelled ${JSON.stringify(earlier.value)} there; Azure compares group names case-insensitively)`;
      fail(this.ctx, path, name, `is the resource group of ${holder}${spelled}: durable content (registries, key vault) must not share a group with an app`);
      return;
    }
    if (earlier && earlier.value === name) return; // the same group, shared on purpose
    if (this.groups.claim(this.ctx, path, name) && durable) this.durable.set(name.toLowerCase(), fmtPath(owner));
  }

  /** The group of an existing vault: not ours, so acr-gate must neither create nor lock it, and nothing else of ours may live there. */
  claimExternal(name: string | undefined): void {
    const clash = name && this.groups.get(name);
    if (clash) fail(this.ctx, clash.path, clash.value, EXISTING_VAULT_GROUP);
    if (name) this.external.add(name.toLowerCase());
  }

  /** The group of that name this config creates, with the field that names or derives it. */
  get(name: string): { path: Path; value: string } | undefined {
    return this.groups.get(name);
  }
}
