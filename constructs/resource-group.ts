import { Construct } from "constructs";
import { ResourceGroup } from "@cdktf/provider-azurerm/lib/resource-group";
import { ManagementLock } from "@cdktf/provider-azurerm/lib/management-lock";
import { DataAzurermResourceGroup } from "@cdktf/provider-azurerm/lib/data-azurerm-resource-group";
import { assertName } from "../lib/rules";
import { addressPart } from "../lib/principal";
import { pinAddress } from "../lib/address";
import { Forget } from "../lib/removed";

export interface LockableResourceGroupProps {
  /** Azure name of the group (1-90 characters, see lib/rules.ts). */
  readonly name: string;
  readonly location: string;
  /**
   * A management lock on the group. `CanNotDelete` stops `az group delete`, a portal click or a
   * stray `terraform destroy` from taking durable content with it.
   * @default - no lock
   */
  readonly lock?: "CanNotDelete" | "ReadOnly";
  /** @default {} */
  readonly tags?: Record<string, string>;
  /**
   * The group is created by another stack (a split team's groups, by the platform stack): this
   * one reads it (`data.azurerm_resource_group`, by its name) and holds only its lock, if any.
   * Creating a group is a right at the subscription only; reading and locking one are rights on
   * the group (help/rights.md).
   * @default false - this stack creates the group
   */
  readonly madeElsewhere?: boolean;
}

/**
 * A resource group, optionally locked.
 *
 * Its Terraform address is derived from the Azure name (`azurerm_resource_group.rg_<name>`), not
 * from the construct path, so moving the construct in code never plans a destroy.
 */
export class LockableResourceGroup extends Construct {
  readonly name: string;
  /** The Azure name as a literal, for messages and diagrams. */
  readonly groupName: string;
  readonly location: string;
  /** The location as a literal, for generated task files. */
  readonly locationName: string;
  readonly id: string;
  /** The group, when this stack creates it. */
  readonly resource?: ResourceGroup;
  readonly lock?: ManagementLock;

  constructor(scope: Construct, id: string, props: LockableResourceGroupProps) {
    super(scope, id);
    assertName("resourceGroup", `${this.node.path}.name`, props.name);
    this.groupName = props.name;
    this.locationName = props.location;
    if (props.madeElsewhere) {
      // By name, a literal: the stack that makes the group is applied first (help/split.md). The
      // location is the config's, as the maker gives it, so that nothing waits on the read.
      const read = new DataAzurermResourceGroup(this, "group", { name: props.name });
      pinAddress(read, `rg_${addressPart(props.name)}`);
      // Deployments from before the platform made the groups have the group in this stack's state:
      // forgotten here, never destroyed; the platform imports it first (help/split.md, "Upgrading").
      new Forget(this, "handed-over", `azurerm_resource_group.rg_${addressPart(props.name)}`);
      this.name = props.name;
      this.location = props.location;
      this.id = read.id;
    } else {
      this.resource = new ResourceGroup(this, "group", {
        name: props.name,
        location: props.location,
        tags: props.tags,
      });
      pinAddress(this.resource, `rg_${addressPart(props.name)}`);
      this.name = this.resource.name;
      this.location = this.resource.location;
      this.id = this.resource.id;
    }
    if (props.lock) {
      this.lock = new ManagementLock(this, "lock", {
        name: `${props.name}-${props.lock === "CanNotDelete" ? "no-delete" : "read-only"}`,
        scope: this.id,
        lockLevel: props.lock,
        notes: "Managed by acr-gate: holds durable content (registries, key vault). Lift deliberately.",
      });
      pinAddress(this.lock, `lock_${addressPart(props.name)}`);
    }
  }
}
