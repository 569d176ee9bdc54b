/**
 * Terraform's `moved` block: a deliberate address change, which Terraform applies to the state
 * instead of destroying the old address and creating the new one (Terraform 1.1). cdktf 0.21 can
 * move a whole resource (`moveTo`), not to one instance of a `for_each`, which is what acr-gate
 * needs when a single resource becomes one instance of many (lib/moved.ts is that, nothing more).
 */
import { Construct } from "constructs";
import { TerraformElement } from "cdktf";

export class Moved extends TerraformElement {
  constructor(
    scope: Construct,
    id: string,
    /** Bare addresses, as Terraform's JSON syntax takes them: `type.name`, `type.name["key"]`. */
    private readonly from: string,
    private readonly to: string,
  ) {
    super(scope, id);
  }

  toTerraform(): Record<string, unknown> {
    return { moved: [{ from: this.from, to: this.to }] };
  }
}
