/** Something that can be granted access: a managed identity of a task or an app. */
export interface IPrincipal {
  /** Object id of the identity (a Terraform reference). */
  readonly principalId: string;
  /** Human-readable name used in policy messages and the workflow diagram. */
  readonly principalName: string;
}

/** Lower-case Terraform-safe fragment of a name, for logical ids that must never move. */
export function addressPart(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
}
