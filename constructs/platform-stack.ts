import { Construct } from "constructs";
import { TerraformOutput, TerraformStack } from "cdktf";
import { orderLocksAfterContents } from "../lib/lock-cover";
import type { AcrGateConfig } from "../lib/config/schema";
import { Workflow } from "./workflow";
import { addressPart } from "../lib/principal";

/** What a team stack reads from the platform stack's state: output name -> value. */
export const PLATFORM_OUTPUTS = {
  keyVaultId: "key_vault_id",
  baseArtifactsRegistryId: "base_artifacts_registry_id",
  baseTokenUserSecretId: "base_token_user_secret_id",
  baseTokenPasswordSecretId: "base_token_password_secret_id",
  logWorkspaceId: "log_analytics_workspace_id",
  signingCertificate: "signing_certificate_base64",
} as const;

/**
 * The outputs naming a split team's task identity (constructs/team-identity.ts), per team registry:
 * its resource id, client id and object id.
 */
export function teamIdentityOutputs(team: string): { id: string; clientId: string; principalId: string } {
  const t = addressPart(team);
  return { id: `team_${t}_identity_id`, clientId: `team_${t}_identity_client_id`, principalId: `team_${t}_identity_principal_id` };
}

/**
 * The platform of the split layout: everything the teams share. The upstream (simulated public
 * registry and its tasks, or Docker Hub credentials), the base-artifacts registry with its gates,
 * the vault with the Git token, and the base-artifacts pull token; and each team's task identity
 * with its grants outside the team's groups (constructs/team-identity.ts). Its state holds no other
 * team resource; team stacks read what they need from its outputs (help/split.md).
 */
export class PlatformStack extends TerraformStack {
  readonly workflow: Workflow;

  constructor(scope: Construct, id: string, config: AcrGateConfig) {
    super(scope, id);
    const w = (this.workflow = new Workflow(config));
    const githubToken = w.providers(this, config.backend);
    w.platformRegistries(this);
    w.vaultAndSecrets(this, githubToken);
    w.tokensFor(w.registries);
    w.upstreamTasks(this, githubToken);
    w.gatedImports(this, githubToken);
    w.teamGroupsOf(this);
    w.teamIdentitiesOf(this);
    w.auditWorkspace(this);
    w.auditLogs(w.registries, true);
    if (config.firstRun) w.firstRuns(this, w.tasks, [], w.registries);
    w.outputs(this, w.registries, [], true);

    // The interface to the team stacks, by name: stable across refactors (cdktf's own cross-stack
    // outputs are named after construct paths).
    new TerraformOutput(this, PLATFORM_OUTPUTS.keyVaultId, { value: w.vault.id, description: "Id of the key vault (read by team stacks)" });
    new TerraformOutput(this, PLATFORM_OUTPUTS.baseArtifactsRegistryId, {
      value: w.baseArtifacts.id,
      description: "Id of the base-artifacts registry (team stacks grant AcrPull on it)",
    });
    if (w.logWorkspace) {
      new TerraformOutput(this, PLATFORM_OUTPUTS.logWorkspaceId, { value: w.logWorkspace.id, description: "Id of the audit-log workspace (team registries send theirs)" });
    }
    if (w.signingCertificate) {
      new TerraformOutput(this, PLATFORM_OUTPUTS.signingCertificate, {
        value: w.signingCertificate.certificateData,
        description: "Public part of the gate certificate, base64 DER (team app tasks verify their base images with it)",
      });
    }
    for (const [team, identity] of w.teamIdentities) {
      const names = teamIdentityOutputs(team);
      new TerraformOutput(this, names.id, { value: identity.identity.id, description: `Id of the identity the ${team} app tasks run as` });
      new TerraformOutput(this, names.clientId, { value: identity.identity.clientId, description: `Client id of the identity the ${team} app tasks run as` });
      new TerraformOutput(this, names.principalId, {
        value: identity.identity.principalId,
        description: `Object id of the identity the ${team} app tasks run as (the team grants it its deploy roles)`,
      });
    }
    const baseToken = w.tokens.get(w.baseArtifacts)?.storedSecrets;
    if (baseToken) {
      new TerraformOutput(this, PLATFORM_OUTPUTS.baseTokenUserSecretId, { value: baseToken.user.id, description: "Versioned id of the base-artifacts token user secret" });
      new TerraformOutput(this, PLATFORM_OUTPUTS.baseTokenPasswordSecretId, {
        value: baseToken.password.id,
        description: "Versioned id of the base-artifacts token password secret",
      });
    }
  }
  /** The JSON, with each lock ordered after what it covers (lib/lock-cover.ts): liftable in one apply. */
  toTerraform(): any {
    return orderLocksAfterContents(super.toTerraform());
  }

}
