import { Construct } from "constructs";
import { ContainerRegistryCredentialSet } from "@cdktf/provider-azurerm/lib/container-registry-credential-set";
import { ContainerRegistryCacheRule } from "@cdktf/provider-azurerm/lib/container-registry-cache-rule";
import type { ITerraformDependable } from "cdktf";
import type { IPrincipal } from "../lib/principal";
import { addressPart } from "../lib/principal";
import { pinAddress } from "../lib/address";
import { CachedRepository } from "../lib/artifact-cache";
import type { StoredSecret } from "./interfaces";

export interface CredentialSetProps {
  /** The registry the set belongs to: its resource id and Azure name. */
  readonly registryId: string;
  readonly registryName: string;
  /** The set's name: 5-50 letters, digits and hyphens. */
  readonly name: string;
  /** The upstream's login server, `docker.io` for Docker Hub. */
  readonly loginServer: string;
  /** The upstream login, as Key Vault secrets the set's own identity reads (never a task). */
  readonly user: StoredSecret;
  readonly password: StoredSecret;
}

/**
 * An upstream login the registry itself uses to fill its cache (`az acr credential-set create`):
 * its system identity reads the user name and password from Key Vault by their versionless ids
 * (the service reads the current version on each upstream fetch, and refuses versioned ids).
 * Created by {@link Registry.createCredentialSet}, which also gives the identity `Get` on the vault.
 */
export class CredentialSet extends Construct implements IPrincipal {
  readonly resource: ContainerRegistryCredentialSet;
  readonly id: string;
  readonly principalId: string;
  readonly principalName: string;

  constructor(scope: Construct, id: string, props: CredentialSetProps) {
    super(scope, id);
    if (!/^[a-zA-Z0-9-]{5,50}$/.test(props.name)) {
      throw new Error(`${this.node.path}.name: ${JSON.stringify(props.name)} must be 5-50 letters, digits and hyphens`);
    }
    this.resource = new ContainerRegistryCredentialSet(this, "set", {
      name: props.name,
      containerRegistryId: props.registryId,
      loginServer: props.loginServer,
      identity: { type: "SystemAssigned" },
      authenticationCredentials: {
        usernameSecretId: props.user.resource?.versionlessId ?? props.user.versionlessId,
        passwordSecretId: props.password.resource?.versionlessId ?? props.password.versionlessId,
      },
    });
    pinAddress(this.resource, `credential_set_${addressPart(props.registryName)}_${addressPart(props.name)}`);
    // Named with its registry: task principals are `<registry>/<task>`, so no task's can equal it.
    this.principalName = `${props.registryName}/credential-set/${props.name}`;
    this.id = this.resource.id;
    this.principalId = this.resource.identity.principalId;
  }
}

/**
 * One upstream repository cached in the registry (`az acr cache create`): the first pull of a tag
 * from the target repository fetches it from upstream, through the credential set if it has one
 * (anonymously without: MCR, ECR Public, public GHCR or Quay repositories).
 */
export class CacheRule extends Construct {
  readonly resource: ContainerRegistryCacheRule;
  readonly repository: CachedRepository;

  constructor(scope: Construct, id: string, props: { registryId: string; registryName: string; repository: CachedRepository; credentialSet?: CredentialSet; after: ITerraformDependable[] }) {
    super(scope, id);
    this.repository = props.repository;
    this.resource = new ContainerRegistryCacheRule(this, "rule", {
      name: props.repository.ruleName,
      containerRegistryId: props.registryId,
      sourceRepo: props.repository.sourceRepo,
      targetRepo: props.repository.targetRepo,
      credentialSetId: props.credentialSet?.id,
      // The set's identity must read the vault before the rule is used; Terraform cannot see that.
      dependsOn: props.after.length ? props.after : undefined,
    });
    pinAddress(this.resource, `cache_rule_${addressPart(props.registryName)}_${addressPart(props.repository.ruleName)}`);
  }
}
