import { Construct } from "constructs";
import { UserAssignedIdentity } from "@cdktf/provider-azurerm/lib/user-assigned-identity";
import type { IRegistry, IVault } from "./interfaces";
import type { SubscriptionReader } from "./subscription-reader";
import type { LockableResourceGroup } from "./resource-group";
import type { IPrincipal } from "../lib/principal";
import { addressPart } from "../lib/principal";
import { pinAddress } from "../lib/address";

export interface TeamIdentityProps {
  /** The team registry's name: in the identity's name and address. */
  readonly team: string;
  /**
   * Where the identity lives: the team registry's group, which the platform makes for the team, so
   * that attaching the identity to the team's tasks is a right inside the team's own group
   * (help/rights.md). The team deployer could delete it there: it would only stop its own tasks.
   */
  readonly resourceGroup: LockableResourceGroup;
  readonly tags?: Record<string, string>;
}

/** What a team's tasks use outside the team's resource groups (lib: teamTaskNeeds in workflow.ts). */
export interface TeamIdentityGrants {
  /** `Get` on this vault's secrets (the tasks read the team token's or the base token's secrets). */
  readonly readSecretsIn?: IVault;
  /** `AcrPull` on this registry (the tasks pull base images with their identity). */
  readonly pullFrom?: IRegistry;
  /** Lets the identity see the subscription at `az login` (the tasks deploy apps). */
  readonly subscriptionReader?: SubscriptionReader;
}

/**
 * The identity a split team's app tasks run as, made by the platform stack with every grant that
 * lies outside the team's resource groups: the subscription reader, `Get` on the shared vault's
 * secrets, `AcrPull` on the base-artifacts registry. The team's stack then writes only inside its
 * own groups (help/split.md, "Team identities"); it reads the identity from the platform's outputs.
 *
 * One identity per team, not per task: the grants outside are the same for every app task of a
 * team (a vault access policy is vault-wide, AcrPull registry-wide), and a team's tasks share its
 * registry anyway. Inside the team, each app's deploy role is still assigned per container group.
 */
export class TeamIdentity extends Construct implements IPrincipal {
  readonly team: string;
  readonly identity: UserAssignedIdentity;
  readonly principalId: string;
  readonly principalName: string;
  readonly grants: TeamIdentityGrants;

  constructor(scope: Construct, id: string, props: TeamIdentityProps) {
    super(scope, id);
    this.team = props.team;
    this.principalName = `${props.team}-tasks`;
    this.identity = new UserAssignedIdentity(this, "identity", {
      name: this.principalName,
      resourceGroupName: props.resourceGroup.name,
      location: props.resourceGroup.location,
      tags: props.tags,
    });
    pinAddress(this.identity, `team_identity_${addressPart(props.team)}`);
    this.principalId = this.identity.principalId;
    this.grants = {};
  }

  /** Grants what the team's tasks use outside the team's groups (each at most once). */
  grant(g: TeamIdentityGrants): void {
    const grants = this.grants as { -readonly [K in keyof TeamIdentityGrants]: TeamIdentityGrants[K] };
    if (g.readSecretsIn && !grants.readSecretsIn) {
      g.readSecretsIn.grantSecretRead(this);
      grants.readSecretsIn = g.readSecretsIn;
    }
    if (g.pullFrom && !grants.pullFrom) {
      g.pullFrom.grantPull(this);
      grants.pullFrom = g.pullFrom;
    }
    if (g.subscriptionReader && !grants.subscriptionReader) {
      g.subscriptionReader.grant(this);
      grants.subscriptionReader = g.subscriptionReader;
    }
  }
}
