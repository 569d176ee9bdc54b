import { Construct } from "constructs";
import { Fn } from "cdktf";
import { RoleDefinition } from "@cdktf/provider-azurerm/lib/role-definition";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { addressPart, IPrincipal } from "../lib/principal";
import { pinAddress } from "../lib/address";

export interface SubscriptionReaderProps {
  /** The subscription's id, as Terraform sees it (`data.azurerm_client_config.current.subscription_id`). */
  readonly subscriptionId: string;
  /**
   * The team registry whose app tasks it serves, in the role's name and address: custom role names
   * are unique in the whole tenant (registry names are global), and in the split layout each team's
   * stack owns its own.
   */
  readonly team: string;
  /**
   * What the role's name says in its parentheses. A split platform names its team readers
   * `<team> tasks`, so that the role it creates never has the name of the one an older team stack
   * still holds until that team applies (role names are unique in the tenant; the platform applies
   * first). @default the team
   */
  readonly label?: string;
}

/**
 * A custom role that can read the subscription's own record and nothing else
 * (`Microsoft.Resources/subscriptions/read`), assigned at the subscription to each app task.
 *
 * Why: an app task runs `az login --identity --allow-no-subscriptions` and then
 * `az container create --subscription <id>`. azure-cli builds its account list at login from
 * `GET /subscriptions` (azure/cli/core/_profile.py, Profile.login_with_managed_identity ->
 * SubscriptionFinder.find_using_specific_tenant), and a command's `--subscription` must be in that
 * list (Profile.get_subscription: "Subscription '...' not found"). Whether ARM lists a subscription
 * to an identity whose only roles sit on one container group and one identity is documented
 * nowhere; a role at the subscription itself makes it listed, whatever the answer. This one reads
 * no resource group, no resource, no secret (help/security.md).
 */
export class SubscriptionReader extends Construct {
  readonly scope: string;
  readonly definition: RoleDefinition;
  private readonly assignments = new Map<IPrincipal, RoleAssignment>();

  constructor(scope: Construct, id: string, props: SubscriptionReaderProps) {
    super(scope, id);
    this.scope = `/subscriptions/${props.subscriptionId}`;
    this.definition = new RoleDefinition(this, "role", {
      // Unique in the tenant: the team registry's name and 8 hex of the subscription id (a second
      // environment in another subscription gets its own).
      name: `acr-gate subscription reader (${props.label ?? props.team}) ${Fn.substr(Fn.sha1(props.subscriptionId), 0, 8)}`,
      scope: this.scope,
      description: "acr-gate: lets an app task's identity see its subscription at az login, and nothing else",
      permissions: [{ actions: ["Microsoft.Resources/subscriptions/read"] }],
      assignableScopes: [this.scope],
    });
    pinAddress(this.definition, `subscription_reader_role_${addressPart(props.team)}`);
  }

  /** Lets `principal` see the subscription at `az login` (one assignment per principal). */
  grant(principal: IPrincipal): RoleAssignment {
    const existing = this.assignments.get(principal);
    if (existing) return existing;
    const assignment = new RoleAssignment(this, `grant-${addressPart(principal.principalName)}`, {
      scope: this.scope,
      roleDefinitionId: this.definition.roleDefinitionResourceId,
      principalId: principal.principalId,
      principalType: "ServicePrincipal",
      description: `acr-gate: ${principal.principalName} sees its subscription at az login`,
    });
    pinAddress(assignment, `subscription_reader_${addressPart(principal.principalName)}`);
    this.assignments.set(principal, assignment);
    return assignment;
  }
}
