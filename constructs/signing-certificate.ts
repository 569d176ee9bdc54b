import { Construct } from "constructs";
import { Fn } from "cdktf";
import { KeyVaultCertificate } from "@cdktf/provider-azurerm/lib/key-vault-certificate";
import { DataAzurermKeyVaultCertificate } from "@cdktf/provider-azurerm/lib/data-azurerm-key-vault-certificate";
import { assertName } from "../lib/rules";
import { addressPart, IPrincipal } from "../lib/principal";
import { pinAddress } from "../lib/address";
import type { IVault } from "./interfaces";

export interface SigningCertificateProps {
  /** The vault holding it (created by this stack, or existing in access-policy mode). */
  readonly vault: IVault;
  /** Certificate name in the vault: 1-127 letters, digits and hyphens. */
  readonly name: string;
  /**
   * The X.509 subject; Notation requires C, ST and O in it. Verifiers trust this subject.
   * Required unless `existing`.
   */
  readonly subject?: string;
  /**
   * Months the certificate is valid; Key Vault renews it 30 days before it expires (a new version,
   * which verifiers must add to their trust store: help/signing.md).
   * @default 12
   */
  readonly validityMonths?: number;
  /**
   * Use a certificate already in the vault instead of creating one (it must meet Notation's rules).
   * @default false
   */
  readonly existing?: boolean;
  /**
   * `lifecycle.prevent_destroy`: the certificate is the identity verifiers trust.
   * @default true
   */
  readonly preventDestroy?: boolean;
  readonly tags?: Record<string, string>;
}

/**
 * The key that signs promoted images: a self-signed code-signing certificate in Key Vault (RSA
 * 3072, not exportable, so the private key never leaves the vault), or an existing one. Tasks sign
 * with it through the notation Azure Key Vault plugin after {@link SigningCertificate.grantSign}.
 */
export class SigningCertificate extends Construct {
  /**
   * What `notation sign --id` takes: the versioned key id (`https://<vault>.vault.azure.net/keys/<name>/<version>`,
   * the certificate's `kid`), a Terraform reference to the latest version's `secret_id`. Versioned,
   * so that gates sign with the very certificate {@link certificateData} gives the verifiers: after
   * Key Vault renews it, both move together at the next apply (help/signing.md, "Renewal").
   */
  readonly keyId: string;
  /** The same version's public certificate, base64 DER (Terraform reference): what verifiers trust. */
  readonly certificateData: string;
  readonly name: string;
  readonly vault: IVault;
  readonly resource?: KeyVaultCertificate;

  constructor(scope: Construct, id: string, props: SigningCertificateProps) {
    super(scope, id);
    assertName("keyVaultCertificate", `${this.node.path}.name`, props.name);
    this.name = props.name;
    this.vault = props.vault;
    if (props.existing) {
      // Read at every plan: a version renewed in the vault reaches the gates and the apps together.
      props.vault.allowDeployerCertificateRead();
      // No depends_on: a data source that depends on a changed resource is read only at apply,
      // and every task built from it would show as changing (help/signing.md, "Renewal").
      const existing = new DataAzurermKeyVaultCertificate(this, "existing", { name: props.name, keyVaultId: props.vault.id });
      pinAddress(existing, `signing_certificate_${addressPart(props.vault.vaultName)}_${addressPart(props.name)}`);
      this.keyId = keyIdOf(existing.secretId);
      this.certificateData = existing.certificateDataBase64;
      return;
    }
    if (props.subject === undefined) throw new Error(`${this.node.path}.subject: required for a certificate acr-gate creates`);
    assertName("certificateSubject", `${this.node.path}.subject`, props.subject);
    const months = props.validityMonths ?? 12;
    if (!Number.isInteger(months) || months < 1 || months > 120) throw new Error(`${this.node.path}.validityMonths: ${months} must be a whole number from 1 to 120`);
    props.vault.allowDeployerCertificates();
    this.resource = new KeyVaultCertificate(this, "certificate", {
      name: props.name,
      keyVaultId: props.vault.id,
      certificatePolicy: {
        issuerParameters: { name: "Self" },
        keyProperties: { exportable: false, keyType: "RSA", keySize: 3072, reuseKey: true },
        secretProperties: { contentType: "application/x-pem-file" },
        // Notation's rules: digitalSignature only, and code signing as the only extended usage.
        x509CertificateProperties: {
          keyUsage: ["digitalSignature"],
          extendedKeyUsage: ["1.3.6.1.5.5.7.3.3"],
          subject: props.subject,
          validityInMonths: months,
        },
        lifetimeAction: [{ action: { actionType: "AutoRenew" }, trigger: { daysBeforeExpiry: 30 } }],
      },
      tags: props.tags,
      lifecycle: { preventDestroy: props.preventDestroy ?? true },
      // The deployer may create certificates only once its policy says so (Terraform cannot see that).
      dependsOn: props.vault.writeAccess,
    });
    pinAddress(this.resource, `signing_certificate_${addressPart(props.vault.vaultName)}_${addressPart(props.name)}`);
    this.keyId = keyIdOf(this.resource.secretId);
    this.certificateData = this.resource.certificateDataBase64;
  }

  /** Lets a task's identity sign with this certificate (`Sign` on keys, `Get` on certificates). */
  grantSign(principal: IPrincipal): void {
    this.vault.grantSign(principal);
  }
}

/**
 * `.../secrets/<name>/<version>` -> `.../keys/<name>/<version>`: a certificate's key and secret
 * have its name and version. From `secret_id`, not `id`: azurerm's read sets `secret_id` and
 * `certificate_data` from the latest version but never refreshes `id` (key_vault_certificate_resource.go
 * at v4.81.0, :750-773), so after a renewal `id` would still name the old version.
 */
function keyIdOf(secretId: string): string {
  return Fn.replace(secretId, "/secrets/", "/keys/");
}
