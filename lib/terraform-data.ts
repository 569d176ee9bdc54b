/**
 * Terraform's built-in `terraform_data` resource, without cdktf's `DataResource` validation, which
 * runs `terraform version` in a subprocess once per resource on every synth (75 ms each, and an
 * error on a machine that only synthesizes). terraform_data (Terraform 1.4.0) is the newest language
 * feature the JSON uses; the floor `required_version` enforces is the Terraform CI plans and applies
 * on (lib/provider-versions.ts TERRAFORM_FLOOR).
 */
import { Construct } from "constructs";
import { TerraformResource, TerraformResourceLifecycle } from "cdktf";

export class TerraformData extends TerraformResource {
  static readonly tfResourceType = "terraform_data";

  constructor(
    scope: Construct,
    id: string,
    /** `input`: a change updates the resource in place and makes `output` unknown until apply. */
    private readonly input: Record<string, unknown>,
    lifecycle?: TerraformResourceLifecycle,
  ) {
    super(scope, id, {
      terraformResourceType: TerraformData.tfResourceType,
      terraformGeneratorMetadata: { providerName: "terraform" },
      lifecycle,
    });
  }

  /** The stored copy of `input` (a Terraform reference). */
  get output(): string {
    return this.getStringAttribute("output");
  }

  protected synthesizeAttributes(): Record<string, unknown> {
    return { input: this.input };
  }
}
