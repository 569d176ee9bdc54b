import { Construct } from "constructs";
import { Fn } from "cdktf";
import { ContainerRegistryScopeMap } from "@cdktf/provider-azurerm/lib/container-registry-scope-map";
import { ContainerRegistryToken } from "@cdktf/provider-azurerm/lib/container-registry-token";
import { ContainerRegistryTokenPassword } from "@cdktf/provider-azurerm/lib/container-registry-token-password";
import { StaticResource } from "@cdktf/provider-time/lib/static-resource";
import { assertName, checkName } from "../lib/rules";
import { addressPart } from "../lib/principal";
import type { IRegistry, IVault, StoredSecret } from "./interfaces";
import { pinAddress } from "../lib/address";

export interface PullTokenOptions {
  /** Token name; it is also the user name at `docker login`. 5-49 letters, digits, hyphens. */
  readonly name: string;
  /**
   * Repositories the token may read (`content/read`). Omit to reference the built-in
   * `_repositories_pull` scope map (every repository), as the walkthrough does for the public registry.
   * @default - all repositories, through `_repositories_pull`
   */
  readonly repositories?: readonly string[];
  /**
   * Days from the token's creation until its password expires. The start is fixed once by a
   * `time_static` resource, so plans stay quiet; to rotate, replace that resource
   * (`terraform apply -replace=...`, see help/operations.md).
   * @default 365
   */
  readonly expiryDays?: number;
  /**
   * Rotation with an overlap. Set, the token gets a twin (`<name without -user>-alt`, same scope
   * map, its own password and start), and the two alternate: the active one is slot
   * `rotation % 2` (0 the token named `name`, 1 the twin), whose login {@link storeIn} stores.
   * Raising it by one gives the other slot a fresh password and makes it active, while the previous
   * one is not touched and keeps working until the rotation after: a reader that pinned the previous
   * secret version (a split team stack that has not applied yet) still pulls.
   * @default - one token; rotate by replacing its `time_static`
   */
  readonly rotation?: number;
}

export interface PullTokenProps extends PullTokenOptions {
  readonly registry: IRegistry;
}

/** The token's user name and password as Key Vault secrets, the walkthrough's `registry-<r>-user/-password`. */
export interface StoredToken {
  readonly user: StoredSecret;
  readonly password: StoredSecret;
  readonly vault: IVault;
}

/**
 * A pull-only registry token: scope map (or the built-in one), token and an expiring password.
 * Create it with `Registry.createPullToken` (constructs/registry.ts).
 */
export class PullToken extends Construct {
  /** The active token's name (with `rotation`, the slot in use). */
  readonly tokenName: string;
  readonly registry: IRegistry;
  /** The password, a sensitive Terraform reference: never a literal in the JSON. */
  readonly password: string;
  readonly expiresOn: string;
  readonly repositories: readonly string[] | "all";
  /** Replaced on every rotation: what consumers of the password re-run on. */
  readonly passwordResource: ContainerRegistryTokenPassword;
  private stored?: StoredToken;

  constructor(scope: Construct, id: string, props: PullTokenProps) {
    super(scope, id);
    assertName("token", `${this.node.path}.name`, props.name);
    const days = props.expiryDays ?? 365;
    if (!Number.isInteger(days) || days < 1 || days > 3650) {
      throw new Error(`${this.node.path}.expiryDays: ${days} must be a whole number from 1 to 3650`);
    }
    const registry = props.registry;
    this.registry = registry;
    const base = `${addressPart(registry.registryName)}_${addressPart(props.name)}`;

    let scopeMapId: string;
    if (props.repositories === undefined) {
      // `_repositories_pull` is a system scope map: it cannot be created (the provider's name
      // validator rejects '_'), only referenced.
      scopeMapId = `${registry.id}/scopeMaps/_repositories_pull`;
      this.repositories = "all";
    } else {
      if (props.repositories.length === 0) {
        throw new Error(`${this.node.path}.repositories: must list at least one repository, or be omitted for all`);
      }
      for (const repo of props.repositories) {
        const problem = checkName("repository", repo);
        if (problem) throw new Error(`${this.node.path}.repositories: ${JSON.stringify(repo)} ${problem}`);
      }
      this.repositories = [...props.repositories].sort();
      const mapName = `${props.name}-scope-map`.slice(0, 49);
      assertName("scopeMap", `${this.node.path}.scopeMap`, mapName);
      const map = new ContainerRegistryScopeMap(this, "scope-map", {
        name: mapName,
        containerRegistryName: registry.name,
        resourceGroupName: registry.resourceGroupName,
        actions: this.repositories.map((r) => `repositories/${r}/content/read`),
        description: `acr-gate: pull ${this.repositories.join(", ")}`,
      });
      pinAddress(map, `scope_map_${base}`);
      scopeMapId = map.id;
    }

    const rotation = props.rotation;
    if (rotation !== undefined && (!Number.isInteger(rotation) || rotation < 0)) {
      throw new Error(`${this.node.path}.rotation: ${rotation} must be a whole number from 0`);
    }
    /**
     * One slot: token, start time, password. A slot's start is re-taken (and so its password made
     * anew) only when the slot becomes active again: its trigger is the latest rotation number
     * n <= rotation with n % 2 == slot, and none for the very first (the single token's own start,
     * untouched when rotation is first set).
     */
    const slot = (n: 0 | 1) => {
      const suffix = n === 0 ? "" : "_alt";
      const name = n === 0 ? props.name : `${props.name.replace(/-user$/, "")}-alt`;
      if (n === 1) assertName("token", `${this.node.path}.name (its twin)`, name);
      const token = new ContainerRegistryToken(this, n === 0 ? "token" : "token-alt", {
        name,
        containerRegistryName: registry.name,
        resourceGroupName: registry.resourceGroupName,
        scopeMapId,
        enabled: true,
      });
      pinAddress(token, `token_${base}${suffix}`);
      const since = rotation === undefined ? -1 : rotation % 2 === n ? rotation : rotation - 1;
      const created = new StaticResource(this, n === 0 ? "created" : "created-alt", since > 0 ? { triggers: { rotation: String(since) } } : {});
      pinAddress(created, `token_created_${base}${suffix}`);
      const expiresOn = Fn.timeadd(created.rfc3339, `${days * 24}h`);
      const password = new ContainerRegistryTokenPassword(this, n === 0 ? "password" : "password-alt", {
        containerRegistryTokenId: token.id,
        password1: { expiry: expiresOn },
      });
      pinAddress(password, `token_password_${base}${suffix}`);
      return { name, expiresOn, password };
    };
    const slots = rotation === undefined ? [slot(0)] : [slot(0), slot(1)];
    const active = slots[rotation === undefined ? 0 : rotation % 2];
    this.tokenName = active.name;
    this.expiresOn = active.expiresOn;
    this.passwordResource = active.password;
    this.password = active.password.password1.value;
  }

  /**
   * Stores the user name and password in a vault as `registry-<registry>-user` and
   * `registry-<registry>-password` (`az keyvault secret set`), expiring with the password.
   */
  storeIn(vault: IVault): StoredToken {
    if (this.stored) return this.stored;
    const prefix = `registry-${this.registry.registryName}`;
    this.stored = {
      vault,
      user: vault.storeSecret(`${prefix}-user`, {
        value: this.tokenName,
        contentType: "registry token name",
        expiresOn: this.expiresOn,
      }),
      password: vault.storeSecret(`${prefix}-password`, {
        value: this.password,
        contentType: "registry token password",
        expiresOn: this.expiresOn,
      }),
    };
    return this.stored;
  }

  get storedSecrets(): StoredToken | undefined {
    return this.stored;
  }
}
