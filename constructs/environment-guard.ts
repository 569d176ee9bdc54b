import { Construct } from "constructs";
import { Op, ref, Token } from "cdktf";
import { TerraformData } from "../lib/terraform-data";
import { pinAddress } from "../lib/address";

export interface EnvironmentGuardProps {
  /** The subscription the provider runs in, as Terraform sees it (`data.azurerm_client_config`). */
  readonly subscriptionId: string;
  /** The tenant, likewise. */
  readonly tenantId: string;
  /**
   * The environment's name (config `environment`), recorded beside the subscription.
   * @default "" - none named
   */
  readonly environment?: string;
}

/**
 * Records, in the state, the subscription (and tenant) a state was made for, and makes every later
 * plan fail before any change when the provider runs in another one: the same JSON pointed at a
 * second subscription with the first one's state would otherwise plan to create the second
 * environment's resources and destroy nothing it can see, or, without protection, destroy the
 * first environment (help/operations.md, "A second environment").
 *
 * One `terraform_data.environment`: its input is taken on create and never updated
 * (`ignore_changes`), and a postcondition compares what it recorded with where the provider runs
 * now. Terraform checks a postcondition while planning whenever the values are known, so a plan in
 * the wrong subscription stops with the message below; on the first apply the recorded value is
 * unknown until created, and the check passes. A deliberate move of a state to another
 * subscription: `terraform apply -replace=terraform_data.environment` (help/operations.md).
 */
export class EnvironmentGuard extends Construct {
  readonly resource: TerraformData;

  constructor(scope: Construct, id: string, props: EnvironmentGuardProps) {
    super(scope, id);
    this.resource = new TerraformData(
      this,
      "environment",
      { subscription_id: props.subscriptionId, tenant_id: props.tenantId, environment: props.environment ?? "" },
      {
        ignoreChanges: ["input"],
        postcondition: [
          {
            condition: Token.asAny(
              Op.and(Op.eq(ref("self.output.subscription_id"), props.subscriptionId), Op.eq(ref("self.output.tenant_id"), props.tenantId)),
            ),
            errorMessage:
              `This state was made for subscription \${self.output.subscription_id} (tenant \${self.output.tenant_id}), ` +
              `but the provider now runs in subscription ${props.subscriptionId} (tenant ${props.tenantId}). ` +
              "Nothing was changed. Point subscription_id (or ARM_SUBSCRIPTION_ID) back at the state's subscription, or use that " +
              "environment's own state (config environment, backend); to move this state on purpose: terraform apply -replace=terraform_data.environment.",
          },
        ],
      },
    );
    pinAddress(this.resource, "environment");
  }
}
