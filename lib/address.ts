/**
 * Terraform addresses of what acr-gate creates: pinned to Azure names, one resource each.
 *
 * A logical id set with `overrideLogicalId` is the resource's Terraform address. Two resources of
 * one type given the same id do not fail cdktf's synth: the JSON object keeps the last one and the
 * other silently disappears (and Terraform would destroy it). The config schema rejects names that
 * would collide; this is the backstop for constructs used without that config, or a future bug.
 */
import { TerraformDataSource, TerraformResource, TerraformStack } from "cdktf";

const claimed = new WeakMap<TerraformStack, Map<string, string>>();

/** Sets `element`'s logical id; throws when another element of the stack already holds that address. */
export function pinAddress(element: TerraformResource | TerraformDataSource, logicalId: string): void {
  const stack = TerraformStack.of(element);
  let addresses = claimed.get(stack);
  if (!addresses) claimed.set(stack, (addresses = new Map()));
  const prefix = element instanceof TerraformDataSource ? "data." : "";
  const address = `${prefix}${element.terraformResourceType}.${logicalId}`;
  const holder = addresses.get(address);
  if (holder !== undefined && holder !== element.node.path) {
    throw new Error(
      `Terraform address ${address} is claimed by both ${holder} and ${element.node.path}: one of them would silently disappear from the JSON; rename one of them`,
    );
  }
  addresses.set(address, element.node.path);
  element.overrideLogicalId(logicalId);
}

/**
 * The bare address `type.name` of a resource, for `lifecycle.replace_triggered_by`: in Terraform's
 * JSON syntax that list takes references without `${}` (cdktf 0.21 writes `${...}`, which
 * `terraform init` rejects), like `depends_on`.
 */
export function addressOf(resource: TerraformResource): string {
  return `${resource.terraformResourceType}.${resource.friendlyUniqueId}`;
}
