/**
 * Terraform's `removed` block with `lifecycle { destroy = false }` (Terraform 1.7): the state forgets
 * a resource and Azure keeps it, where deleting the resource from the config alone would destroy it.
 * For a resource handed over to another stack's state (a split team's resource groups, now made by
 * the platform stack: help/split.md). A block whose address is no longer in the state does nothing,
 * so it stays in the JSON for deployments that upgrade later.
 */
import { Construct } from "constructs";
import { TerraformElement } from "cdktf";

export class Forget extends TerraformElement {
  constructor(
    scope: Construct,
    id: string,
    /** Bare address, as Terraform's JSON syntax takes it: `type.name`. */
    private readonly from: string,
  ) {
    super(scope, id);
  }

  toTerraform(): Record<string, unknown> {
    return { removed: [{ from: this.from, lifecycle: { destroy: false } }] };
  }
}
