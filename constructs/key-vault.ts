import { Construct } from "constructs";
import { Fn, Op, TerraformIterator, Token } from "cdktf";
import { KeyVault } from "@cdktf/provider-azurerm/lib/key-vault";
import { DataAzurermKeyVault } from "@cdktf/provider-azurerm/lib/data-azurerm-key-vault";
import { KeyVaultSecret } from "@cdktf/provider-azurerm/lib/key-vault-secret";
import { KeyVaultAccessPolicyA } from "@cdktf/provider-azurerm/lib/key-vault-access-policy";
import { DataAzurermClientConfig } from "@cdktf/provider-azurerm/lib/data-azurerm-client-config";
import { assertName } from "../lib/rules";
import { addressPart, IPrincipal } from "../lib/principal";
import { pinAddress } from "../lib/address";
import type { MonitorDiagnosticSetting } from "@cdktf/provider-azurerm/lib/monitor-diagnostic-setting";
import { AUDIT_CATEGORIES, LogWorkspace } from "./log-workspace";
import { TerraformData } from "../lib/terraform-data";
import { Moved } from "../lib/moved";
import type { IVault, SecretReadGrant, StoredSecret, StoreSecretOptions } from "./interfaces";

export interface VaultProps {
  /** Globally unique vault name: 3-24 characters, see lib/rules.ts. */
  readonly name: string;
  readonly resourceGroupName: string;
  /** Required when the vault is created. */
  readonly location?: string;
  /**
   * Use a vault that already exists (the walkthrough assumes it may) instead of creating one.
   * An existing vault must be in access-policy mode, not RBAC mode.
   * @default false
   */
  readonly existing?: boolean;
  /**
   * The id of a vault another stack manages (see {@link Vault.fromAttributes}): nothing of the vault
   * is read or created here, only the secrets and policies this stack adds to it.
   * @default - the vault is created, or read when `existing`
   */
  readonly importedId?: string;
  /**
   * Give the deployers the secret permissions they need to write the secrets.
   * @default true for a created vault, false for an existing one (whose owner already has access;
   * a second policy for the same object would fail with "already exists")
   */
  readonly grantDeployer?: boolean;
  /**
   * The identities that deploy, as a Terraform map of name to Entra ID object id (the `deployers`
   * variable's value): one access policy each, `...deployer["<name>"]`, whoever runs apply. A
   * second operator or a CI identity is one more entry, one more policy, nothing replaced.
   * Required with grantDeployer.
   */
  readonly deployers?: string;
  /**
   * The name a deployer policy from before named deployers moves to (`moved` block): the old single
   * policy, keyed by nobody, becomes that deployer's. Name the identity that applied until now. When
   * {@link deployerRenames} renames it too, the move goes to its former name (a chain of two moves).
   * @default - no move (the old policy, if any, is deleted and the named ones created)
   */
  readonly previousDeployer?: string;
  /**
   * Deployers renamed since the last apply, `[former name, name]`: each policy moves to the new key
   * (`moved` block) instead of being deleted and created again, which would race over one object id.
   * @default []
   */
  readonly deployerRenames?: readonly (readonly [string, string])[];
  /** @default 90 */
  readonly softDeleteRetentionDays?: number;
  /**
   * IPv4 addresses or CIDR ranges allowed through the vault firewall. When set, the firewall
   * denies everything else except trusted Azure services. Only for readers with fixed addresses:
   * ACR Tasks on shared agents have none and are not a trusted service, so acr-gate's config
   * refuses this option. Not possible with `existing` (the vault is not managed here).
   * @default - no firewall
   */
  readonly allowedIpRanges?: readonly string[];
  /** @default true */
  readonly preventDestroy?: boolean;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

/**
 * The Key Vault holding registry credentials and the Git token, in access-policy mode.
 *
 * Access-policy mode is set explicitly: the walkthrough grants with `az keyvault set-policy`, and
 * since Azure CLI 2.61 new vaults default to RBAC, where such policies are silently ignored.
 * Policies are separate `azurerm_key_vault_access_policy` resources only; inline policies on the
 * vault would fight them. Soft delete and purge protection are on.
 */
export class Vault extends Construct implements IVault {
  readonly id: string;
  readonly vaultUri: string;
  readonly tenantId: string;
  readonly vaultName: string;
  readonly secrets: StoredSecret[] = [];
  private readonly grants = new Map<IPrincipal, SecretReadGrant>();
  private readonly deployerPolicy?: KeyVaultAccessPolicyA;
  /** True when this stack creates the vault (not existing, not another stack's). */
  readonly managed: boolean;
  private auditLogs?: MonitorDiagnosticSetting;

  constructor(scope: Construct, id: string, props: VaultProps) {
    super(scope, id);
    assertName("keyVault", `${this.node.path}.name`, props.name);
    this.vaultName = props.name;
    this.managed = !props.existing && props.importedId === undefined;
    const client = new DataAzurermClientConfig(this, "client");
    // Every vault reads the same caller identity: two identical copies of this data source under one
    // address are harmless, so it is not pinned like the resources.
    client.overrideLogicalId("current");
    this.tenantId = client.tenantId;

    if (props.importedId !== undefined) {
      this.id = props.importedId;
      this.vaultUri = `https://${props.name}.vault.azure.net/`;
    } else if (props.existing) {
      if (props.allowedIpRanges?.length) {
        throw new Error(`${this.node.path}.allowedIpRanges: cannot set the firewall of an existing vault (it is not managed here)`);
      }
      const vault = new DataAzurermKeyVault(this, "vault", {
        name: props.name,
        resourceGroupName: props.resourceGroupName,
      });
      this.id = vault.id;
      this.vaultUri = vault.vaultUri;
    } else {
      if (!props.location) throw new Error(`${this.node.path}.location: is required when the vault is created`);
      const days = props.softDeleteRetentionDays ?? 90;
      if (!Number.isInteger(days) || days < 7 || days > 90) {
        throw new Error(`${this.node.path}.softDeleteRetentionDays: ${days} must be a whole number from 7 to 90`);
      }
      const ranges = props.allowedIpRanges ?? [];
      const vault = new KeyVault(this, "vault", {
        name: props.name,
        resourceGroupName: props.resourceGroupName,
        location: props.location,
        tenantId: this.tenantId,
        skuName: "standard",
        rbacAuthorizationEnabled: false,
        purgeProtectionEnabled: true,
        softDeleteRetentionDays: days,
        enabledForDeployment: false,
        enabledForDiskEncryption: false,
        enabledForTemplateDeployment: false,
        publicNetworkAccessEnabled: true,
        networkAcls: {
          bypass: "AzureServices",
          defaultAction: ranges.length > 0 ? "Deny" : "Allow",
          ipRules: ranges.length > 0 ? [...ranges] : undefined,
        },
        tags: props.tags,
        lifecycle: { preventDestroy: props.preventDestroy ?? true },
      });
      pinAddress(vault, `key_vault_${addressPart(props.name)}`);
      this.id = vault.id;
      this.vaultUri = vault.vaultUri;
    }

    if (props.grantDeployer ?? (!props.existing && props.importedId === undefined)) {
      if (props.deployers === undefined) throw new Error(`${this.node.path}.deployers: required to grant the deployers`);
      const each = TerraformIterator.fromMap(Token.asAnyMap(props.deployers));
      this.deployerPolicy = new KeyVaultAccessPolicyA(this, "deployer", {
        forEach: each,
        keyVaultId: this.id,
        tenantId: this.tenantId,
        objectId: Token.asString(each.value),
        secretPermissions: ["Get", "List", "Set", "Delete", "Recover"],
      });
      const address = `kv_policy_${addressPart(props.name)}_deployer`;
      pinAddress(this.deployerPolicy, address);
      const at = `azurerm_key_vault_access_policy.${address}`;
      const renames = props.deployerRenames ?? [];
      if (props.previousDeployer !== undefined) {
        // Each instance can be moved into from one address only (a second `moved` into it is
        // "Ambiguous move statements" at every plan, which validate does not see): when that deployer
        // is renamed too, the old single policy moves to its former name, and the rename carries it on.
        const former = renames.find(([, to]) => to === props.previousDeployer)?.[0] ?? props.previousDeployer;
        new Moved(this, "deployer-moved", at, `${at}[${JSON.stringify(former)}]`);
      }
      for (const [from, to] of renames) {
        new Moved(this, `deployer-renamed-${from}`, `${at}[${JSON.stringify(from)}]`, `${at}[${JSON.stringify(to)}]`);
      }
    }
  }

  /**
   * A vault another stack manages, seen from this one: the secrets this stack writes into it and
   * the `Get` policies for this stack's identities are resources of this stack (help/split.md).
   */
  static fromAttributes(scope: Construct, id: string, attrs: { name: string; id: string }): Vault {
    return new Vault(scope, id, { name: attrs.name, resourceGroupName: "", importedId: attrs.id });
  }

  /** A secret another stack wrote into this vault, by its versioned id (another stack's output). */
  secretOf(name: string, versionedId: string): StoredSecret {
    assertName("keyVaultSecret", `${this.node.path}.secrets`, name);
    return { name, id: versionedId, versionlessId: `https://${this.vaultName}.vault.azure.net/secrets/${name}`, vault: this };
  }

  /** Writes a secret (`az keyvault secret set`). */
  storeSecret(name: string, options: StoreSecretOptions): StoredSecret {
    assertName("keyVaultSecret", `${this.node.path}.secrets`, name);
    if (this.secrets.some((s) => s.name === name)) {
      throw new Error(`${this.node.path}: secret ${JSON.stringify(name)} is stored twice`);
    }
    const secret = new KeyVaultSecret(this, `secret-${name}`, {
      name,
      keyVaultId: this.id,
      value: options.value,
      contentType: options.contentType ?? "text/plain",
      expirationDate: options.expiresOn,
      dependsOn: this.deployerPolicy ? [this.deployerPolicy] : undefined,
    });
    pinAddress(secret, `secret_${addressPart(name)}`);
    // Unknown in the plan whenever the value changes (a rotated token password is unknown; a new
    // variable value changes the hash), which makes the guarded id below unknown too.
    const revision = new TerraformData(this, `secret-${name}-revision`, { value_sha1: Fn.sha1(options.value) });
    pinAddress(revision, `secret_${addressPart(name)}_revision`);
    const stored: StoredSecret = {
      name,
      id: Token.asString(Fn.conditional(Op.eq(revision.output, Token.nullValue()), "", secret.id)),
      versionlessId: `https://${this.vaultName}.vault.azure.net/secrets/${name}`,
      vault: this,
      resource: secret,
    };
    this.secrets.push(stored);
    return stored;
  }

  /** Lets an identity read secret values, nothing more (`az keyvault set-policy --secret-permissions get`). */
  grantSecretRead(principal: IPrincipal): KeyVaultAccessPolicyA {
    return this.grant(principal, { secret: ["Get"] });
  }

  /**
   * Lets an identity sign with a certificate's key held in the vault, nothing more: `Sign` on keys
   * and `Get` on certificates (the notation Azure Key Vault plugin reads the certificate, then asks
   * the vault to sign; the private key never leaves it).
   */
  grantSign(principal: IPrincipal): KeyVaultAccessPolicyA {
    return this.grant(principal, { key: ["Sign"], certificate: ["Get"] });
  }

  /**
   * One access policy per identity: Key Vault keeps one entry per object id, so two policy
   * resources for one identity would overwrite each other. Later grants widen the same policy.
   */
  private grant(principal: IPrincipal, add: { secret?: string[]; key?: string[]; certificate?: string[] }): KeyVaultAccessPolicyA {
    let g = this.grants.get(principal);
    if (!g) {
      const policy = new KeyVaultAccessPolicyA(this, `read-${addressPart(principal.principalName)}`, {
        keyVaultId: this.id,
        tenantId: this.tenantId,
        objectId: principal.principalId,
      });
      pinAddress(policy, `kv_policy_${addressPart(this.vaultName)}_${addressPart(principal.principalName)}`);
      g = { principal, policy, permissions: { secret: new Set(), key: new Set(), certificate: new Set() } };
      this.grants.set(principal, g);
    }
    for (const p of add.secret ?? []) g.permissions.secret.add(p);
    for (const p of add.key ?? []) g.permissions.key.add(p);
    for (const p of add.certificate ?? []) g.permissions.certificate.add(p);
    const list = (s: Set<string>) => (s.size ? [...s] : undefined);
    g.policy.secretPermissions = list(g.permissions.secret) as string[];
    g.policy.keyPermissions = list(g.permissions.key) as string[];
    g.policy.certificatePermissions = list(g.permissions.certificate) as string[];
    return g.policy;
  }

  /** Whether the identity may read secret values. */
  canRead(principal: IPrincipal): boolean {
    return this.grants.get(principal)?.permissions.secret.has("Get") ?? false;
  }

  /** Whether the identity may sign with the vault's keys. */
  canSign(principal: IPrincipal): boolean {
    const p = this.grants.get(principal)?.permissions;
    return !!p && p.key.has("Sign") && p.certificate.has("Get");
  }

  /**
   * The deployers may also manage certificates: creating the signing certificate, and reading it
   * on every plan.
   */
  allowDeployerCertificates(): void {
    this.deployerCertificates = "manage";
    if (this.deployerPolicy) this.deployerPolicy.certificatePermissions = ["Create", "Delete", "Get", "List", "Recover", "Update"];
  }

  /** Lets the deployers read certificates (a data source of an existing one, at every plan), unless they may manage them already. */
  allowDeployerCertificateRead(): void {
    if (this.deployerCertificates) return;
    this.deployerCertificates = "read";
    if (this.deployerPolicy) this.deployerPolicy.certificatePermissions = ["Get"];
  }
  private deployerCertificates?: "manage" | "read";

  /** What a resource written into the vault by a deployer waits for: the deployers' policies, if this stack makes them. */
  get writeAccess(): KeyVaultAccessPolicyA[] {
    return this.deployerPolicy ? [this.deployerPolicy] : [];
  }

  /** Every identity's policy made so far (secret reads, signing), in the order made. */
  get readGrants(): SecretReadGrant[] {
    return [...this.grants.values()];
  }

  /**
   * Sends the vault's audit events (every read and write of a secret, key or certificate, every
   * access policy change) to `workspace`. Only for a vault this stack creates: an existing vault's
   * diagnostics are its owner's, and another stack's vault is that stack's.
   */
  sendAuditLogsTo(workspace: LogWorkspace): MonitorDiagnosticSetting {
    if (!this.managed) throw new Error(`${this.node.path}: the audit logs of a vault this stack does not create are set where it is managed`);
    if (this.auditLogs) return this.auditLogs;
    this.auditLogs = workspace.receive(this, { id: this.id, addressName: `kv_${addressPart(this.vaultName)}` }, AUDIT_CATEGORIES.vault);
    return this.auditLogs;
  }
}
