/**
 * The workflow's access policy, checked at synth time (a stack validation, so `app.synth()` and
 * `cdktf synth` fail on a violation before anything is written):
 *
 * 1. every task that uses a Key Vault secret has a `Get` policy on that vault;
 * 2. every custom registry credential is identity-only, or passes versioned Key Vault secret ids
 *    (azurerm 4.55.0 sends anything else, e.g. a versionless URL, as the literal user name);
 * 3. an identity-only credential for an Azure registry comes with `AcrPull` on that registry;
 *    (1 and 3 for a split team's task identity are checked against the platform's grants in
 *    constructs/team-stack.ts: the platform makes them);
 * 4. no role assignment is broader than a resource group, and none grants an administrative role;
 *    the one exception is the subscription reader (constructs/subscription-reader.ts), a custom
 *    role with exactly `Microsoft.Resources/subscriptions/read`, at the subscription.
 */
import { DefaultTokenResolver, StringConcat, Tokenization } from "cdktf";
import { Construct, IValidation } from "constructs";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { RegistryTask } from "../constructs/registry-task";
import { GatedImport } from "../constructs/gated-import";
import { SigningCertificate } from "../constructs/signing-certificate";
import { ImportedRegistry, Registry } from "../constructs/registry";
import { SubscriptionReader } from "../constructs/subscription-reader";
import { resourceType } from "../lib/resource-types";

/** Roles that can grant themselves anything, or change anything: never handed to a workflow identity. */
export const FORBIDDEN_ROLES = [
  "Owner",
  "Contributor",
  "User Access Administrator",
  "Role Based Access Control Administrator",
];

/**
 * A versioned secret id: the secret's `id` (or `resource_id`), alone or guarded by the secret's
 * revision (StoredSecret.id), which makes it change in the same plan as the value; or, in a team
 * stack of the split layout, a `*_secret_id` output of the platform stack, which is such an id.
 */
const VERSIONED_SECRET_REF =
  /^\$\{(?:(?:\(terraform_data\.[\w-]+\.output == null\) \? "" : )?azurerm_key_vault_secret\.[\w-]+\.(id|resource_id)|data\.terraform_remote_state\.platform\.outputs\.\w+_secret_id)\}$/;

export class WorkflowPolicy implements IValidation {
  constructor(private readonly scope: Construct) {}

  validate(): string[] {
    // Strings resolved once each: a thousand tasks share a handful of secret ids (at scale the
    // policy resolves ~2,000 values; without the cache that was 0.3 s of a 5 s synth).
    const resolver = new DefaultTokenResolver(new StringConcat());
    const cache = new Map<string, unknown>();
    const resolveString = (value: string): unknown => {
      if (!cache.has(value)) cache.set(value, Tokenization.resolve(value, { scope: this.scope, preparing: false, resolver }));
      return cache.get(value);
    };
    const resolve = (value: unknown): any => {
      if (typeof value === "string") return resolveString(value);
      if (Array.isArray(value)) return value.map(resolve);
      if (value !== null && typeof value === "object" && !Tokenization.isResolvable(value)) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
      }
      return Tokenization.resolve(value, { scope: this.scope, preparing: false, resolver });
    };
    const all = this.scope.node.findAll();
    const problems: string[] = [];
    const registries = new Map(
      all
        .filter((c): c is Registry | ImportedRegistry => c instanceof Registry || c instanceof ImportedRegistry)
        .map((r) => [r.loginServerName, r] as const),
    );

    for (const task of all.filter((c): c is RegistryTask => c instanceof RegistryTask)) {
      const who = `task ${task.principalName}`;
      const custom = (resolve(task.resource.registryCredentialInput)?.custom ?? []) as Array<{
        login_server?: string;
        loginServer?: string;
        username?: string;
        password?: string;
        identity?: string;
      }>;
      for (const c of custom) {
        const server = c.loginServer ?? c.login_server;
        if (c.username === undefined && c.password === undefined) {
          if (c.identity === undefined) problems.push(`${who}: credential for ${server} has neither secrets nor identity`);
          const reg = server ? registries.get(server) : undefined;
          // A split team's identity is granted by the platform; TeamStack checks those grants.
          if (reg && !task.identity && !reg.canPull(task)) {
            problems.push(`${who}: identity credential for ${server} but no AcrPull on ${reg.registryName}`);
          }
          continue;
        }
        for (const [field, value] of [["username", c.username], ["password", c.password]] as const) {
          if (typeof value !== "string" || !VERSIONED_SECRET_REF.test(value)) {
            problems.push(
              `${who}: credential ${field} for ${server} is ${JSON.stringify(value)}, not a versioned Key Vault secret id`,
            );
          }
        }
        if (c.identity === undefined) problems.push(`${who}: credential for ${server} names no identity to read its secrets`);
      }
      const used = [...task.credentials.flatMap((c) => c.secrets), ...task.secretsRead];
      for (const secret of used) {
        if (!task.identity && !secret.vault.canRead(task)) {
          problems.push(`${who}: uses secret ${secret.name} but has no Get policy on vault ${secret.vault.vaultName}`);
        }
      }
    }

    // A signing gate's identity may sign with the certificate's vault, and nothing else may.
    const certificates = all.filter((c): c is SigningCertificate => c instanceof SigningCertificate);
    for (const gate of all.filter((c): c is GatedImport => c instanceof GatedImport)) {
      if (!gate.signing) continue;
      const cert = certificates.find((c) => c.keyId === gate.signing!.keyId);
      if (!cert) problems.push(`task ${gate.task.principalName}: signs with ${gate.signing.keyId}, which no signing certificate of this stack is`);
      else if (!cert.vault.canSign(gate.task)) problems.push(`task ${gate.task.principalName}: signs with ${cert.name} but has no Sign policy on vault ${cert.vault.vaultName}`);
    }
    const signers = new Set(all.filter((c): c is GatedImport => c instanceof GatedImport && c.signing !== undefined).map((g) => g.task as unknown));
    for (const cert of certificates) {
      for (const g of cert.vault.readGrants) {
        if (g.permissions.key.size > 0 && !signers.has(g.principal)) problems.push(`${g.principal.principalName}: may use keys of vault ${cert.vault.vaultName} but signs nothing`);
      }
    }

    const readers = all.filter((c): c is SubscriptionReader => c instanceof SubscriptionReader);
    for (const r of readers) {
      const actions = resolve(r.definition.permissionsInput) as { actions?: string[]; data_actions?: string[]; not_actions?: string[] }[];
      const granted = JSON.stringify(actions?.map((p) => p.actions ?? []));
      if (granted !== JSON.stringify([["Microsoft.Resources/subscriptions/read"]])) {
        problems.push(`subscription reader ${r.node.path}: grants ${granted}; it may grant Microsoft.Resources/subscriptions/read only`);
      }
    }
    const readerScopes = new Map(readers.map((r) => [resolve(r.definition.roleDefinitionResourceId) as string, resolve(r.scope) as string]));
    for (const ra of all.filter((c): c is RoleAssignment => c instanceof RoleAssignment)) {
      const role = ra.roleDefinitionNameInput;
      if (role && FORBIDDEN_ROLES.some((f) => f.toLowerCase() === role.toLowerCase())) {
        problems.push(`role assignment ${ra.node.path}: grants ${role}; grant the narrowest role instead`);
      }
      const scope = resolve(ra.scopeInput) as string;
      // A resource's id, or (team stacks) the platform's registry id output, which is one; its type
      // must be a group or a resource in one (roleAssignmentScope, lib/resource-types.ts).
      const ref = /^\$\{([\w]+)\.[\w-]+\.id\}$/.exec(scope) ?? (/^\$\{data\.terraform_remote_state\.platform\.outputs\.\w+_registry_id\}$/.test(scope) ? [scope, "azurerm_container_registry"] : null);
      const literalOk = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+(\/.+)?$/i.test(scope);
      const readerOk = readerScopes.get(resolve(ra.roleDefinitionIdInput) as string) === scope;
      if (!(ref && resourceType(ref[1]).roleAssignmentScope) && !literalOk && !readerOk) {
        problems.push(`role assignment ${ra.node.path}: scope ${scope} is broader than a resource group`);
      }
    }
    return problems;
  }
}
