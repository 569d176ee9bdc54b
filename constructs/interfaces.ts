/**
 * The interfaces constructs take instead of each other's classes (aws-cdk's `IBucket` pattern):
 * a registry or a vault this stack makes, or one it imports from another stack, serve alike; and
 * the files that implement them do not import each other (registry.ts makes pull tokens, which
 * take a registry).
 */
import type { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import type { KeyVaultAccessPolicyA } from "@cdktf/provider-azurerm/lib/key-vault-access-policy";
import type { KeyVaultSecret } from "@cdktf/provider-azurerm/lib/key-vault-secret";
import type { IPrincipal } from "../lib/principal";

// --- Registries ---------------------------------------------------------------------------------

/** A grant of pull access recorded for the policy check and the workflow diagram. */
export interface PullGrant {
  readonly principal: IPrincipal;
  readonly assignment: RoleAssignment;
}

/**
 * A registry: one this stack makes ({@link Registry}) or one it imports from another stack
 * ({@link Registry.fromAttributes}). Identities can be allowed to pull from it, and tasks can run in
 * it and push to it.
 */
export interface IRegistry {
  /** The Azure name as a literal. */
  readonly registryName: string;
  /** `<name>.azurecr.io`, a literal. */
  readonly loginServerName: string;
  /** The registry's resource id, a Terraform reference. */
  readonly id: string;
  /**
   * The Azure name as Terraform should see it: a reference to the resource where this stack makes
   * the registry (so what uses it waits for it), the literal name where it imports one.
   */
  readonly name: string;
  /** Its resource group's name (of an imported registry: read from its id by Terraform). */
  readonly resourceGroupName: string;
  grantPull(principal: IPrincipal): RoleAssignment;
  canPull(principal: IPrincipal): boolean;
  readonly pullGrants: PullGrant[];
}

export interface RegistryAttributes {
  /** The Azure name. */
  readonly name: string;
  /** The resource id, for example another stack's output read through remote state. */
  readonly id: string;
}

// --- Vaults -------------------------------------------------------------------------------------

/**
 * A Key Vault in access-policy mode: one this stack makes ({@link Vault}), an existing one, or
 * another stack's ({@link Vault.fromAttributes}).
 */
export interface IVault {
  /** The vault's resource id, a Terraform reference. */
  readonly id: string;
  /** The Azure name as a literal. */
  readonly vaultName: string;
  /** Writes a secret (its value a sensitive variable or a resource attribute, never a literal). */
  storeSecret(name: string, options: StoreSecretOptions): StoredSecret;
  /** A secret another stack wrote, by its versioned id. */
  secretOf(name: string, versionedId: string): StoredSecret;
  /** `Get` on secrets for `principal` (one access policy per principal). */
  grantSecretRead(principal: IPrincipal): KeyVaultAccessPolicyA;
  /** `Sign` with keys and `Get` on certificates for `principal` (Notation's Key Vault plugin). */
  grantSign(principal: IPrincipal): KeyVaultAccessPolicyA;
  /** The deployers may create and read certificates. */
  allowDeployerCertificates(): void;
  /** The deployers may read certificates. */
  allowDeployerCertificateRead(): void;
  /** What a resource a deployer writes into the vault waits for. */
  readonly writeAccess: KeyVaultAccessPolicyA[];
  /** Whether `principal` was granted secret reads here (the policy check, app/policy.ts). */
  canRead(principal: IPrincipal): boolean;
  /** Whether `principal` was granted signing here. */
  canSign(principal: IPrincipal): boolean;
  /** Every identity's policy made so far, in the order made. */
  readonly readGrants: SecretReadGrant[];
}

export interface StoreSecretOptions {
  /** The value: a sensitive variable or a resource attribute, never a literal secret. */
  readonly value: string;
  /** @default "text/plain" */
  readonly contentType?: string;
  /** RFC 3339 expiry, e.g. the token password's. @default - none */
  readonly expiresOn?: string;
}

/** A secret written by acr-gate. */
export interface StoredSecret {
  readonly name: string;
  /**
   * The versioned secret id (`https://<vault>.vault.azure.net/secrets/<name>/<version>`), as an
   * expression Terraform sees change in the same plan as the value. azurerm 4.55.0 sends a task
   * credential as a Key Vault reference only when it parses as a versioned id (a versionless URL
   * would be used as the literal user name); and the secret's own `id` keeps its old value in the
   * plan of an update, so a task reading it would point at the old version until the next apply.
   * The expression is guarded by a `terraform_data` revision of the value, unknown whenever the
   * value changes: a rotation updates every reader in the same apply (help/operations.md).
   */
  readonly id: string;
  /** `https://<vault>.vault.azure.net/secrets/<name>`, what a task YAML `secrets:` entry takes. */
  readonly versionlessId: string;
  readonly vault: IVault;
  /** The secret resource, when this stack writes it (not for a secret another stack wrote). */
  readonly resource?: KeyVaultSecret;
}

export interface SecretReadGrant {
  readonly principal: IPrincipal;
  readonly policy: KeyVaultAccessPolicyA;
  /** What the policy allows, by kind ("secret": ["Get"], "key": ["Sign"], "certificate": ["Get"]). */
  readonly permissions: { secret: Set<string>; key: Set<string>; certificate: Set<string> };
}
