import { Construct } from "constructs";
import { DataTerraformRemoteStateAzurerm, DataTerraformRemoteStateLocal, TerraformRemoteState, TerraformStack } from "cdktf";
import type { AcrGateConfig } from "../lib/config/schema";
import { teamVaultName, type RegistryConfig } from "../lib/config/registries";
import { plannedPullTokens } from "../lib/config/pull-tokens";
import { orderLocksAfterContents } from "../lib/lock-cover";
import { Registry } from "./registry";
import { Vault } from "./key-vault";
import type { StoredToken } from "./pull-token";
import { deployersVariable, teamBackend, Workflow } from "./workflow";
import { PLATFORM_OUTPUTS, PlatformStack, teamIdentityOutputs } from "./platform-stack";

/**
 * One team of the split layout: its registry, its pull token, its apps with their tasks and grants,
 * and its groups' locks, in a state of its own; its groups themselves are made by the platform
 * stack (a group is created with a right at the subscription only) and read here by name. It
 * reads the platform stack's outputs (the vault, the base-artifacts registry and its token's secrets, the team's task identity) from the platform's state. Its app
 * tasks run as the identity the platform made for the team and granted what lies outside the
 * team's groups (vault `Get`, `AcrPull` on base artifacts, the subscription reader); the team
 * grants it only what lies inside (each app's deploy role). A team whose apps pull with its token
 * keeps the token's two secrets in a vault of its own, in its registry's group, which its task
 * identity reads: the team writes nothing outside its groups. No cycle: teams read the platform,
 * the platform reads nobody (help/split.md).
 */
export class TeamStack extends TerraformStack {
  readonly workflow: Workflow;
  readonly team: RegistryConfig;

  constructor(scope: Construct, id: string, config: AcrGateConfig, team: RegistryConfig, platform: PlatformStack) {
    super(scope, id);
    this.team = team;
    this.addDependency(platform); // cdktf deploy '*' applies the platform first
    const w = (this.workflow = new Workflow(config));
    w.groupsMadeByPlatform = true;
    const githubToken = w.providers(this, teamBackend(config.backend, team.name));
    const remote = platformState(this, config);
    const out = (name: string) => remote.getString(name);

    const platformVault = Vault.fromAttributes(this, "key-vault", { name: config.keyVault.name, id: out(PLATFORM_OUTPUTS.keyVaultId) });
    w.vault = platformVault;
    const names = teamIdentityOutputs(team.name);
    const granted = platform.workflow.teamIdentities.get(team.name);
    const identity = granted ? { id: out(names.id), clientId: out(names.clientId), principalId: out(names.principalId) } : undefined;
    // The team's token's secrets go to a vault of the team's own, in its registry's group (made by
    // the platform): the team stack then writes nothing outside its groups (help/split.md).
    if (plannedPullTokens(config).some((t) => t.registry.name === team.name)) {
      const deployers = config.deployers;
      w.vault = new Vault(this, "team-key-vault", {
        name: teamVaultName(team)!,
        resourceGroupName: w.group(this, team.resourceGroup, true).name,
        location: config.location,
        deployers: deployersVariable(this, deployers).value,
        deployerRenames: deployers.filter((d) => d.renamedFrom !== null).map((d) => [d.renamedFrom!, d.name] as const),
        softDeleteRetentionDays: config.keyVault.softDeleteRetentionDays,
        preventDestroy: config.protection.preventDestroy,
        tags: w.tags,
      });
      if (identity) {
        w.teamVaultReader = { principalId: identity.principalId, principalName: `${team.name}-tasks` };
        w.vault.grantSecretRead(w.teamVaultReader);
      }
    }
    const base = Registry.fromAttributes(this, "base-artifacts-registry", {
      name: config.baseArtifactsRegistry.name,
      id: out(PLATFORM_OUTPUTS.baseArtifactsRegistryId),
    });
    const teamRegistry = w.teamRegistry(this, team);
    w.tokensFor([teamRegistry], w.vault);
    const baseToken: Pick<StoredToken, "user" | "password" | "vault"> | undefined = platform.workflow.tokens.get(platform.workflow.baseArtifacts)
      ? {
          vault: platformVault,
          user: platformVault.secretOf(`registry-${base.registryName}-user`, out(PLATFORM_OUTPUTS.baseTokenUserSecretId)),
          password: platformVault.secretOf(`registry-${base.registryName}-password`, out(PLATFORM_OUTPUTS.baseTokenPasswordSecretId)),
        }
      : undefined;
    const apps = w.appsOf(
      this,
      githubToken,
      config.apps.filter((a) => a.registry === team.name),
      {
        registry: base,
        token: baseToken,
        certificate: config.signing.enabled ? out(PLATFORM_OUTPUTS.signingCertificate) : undefined,
        identity,
      },
    );
    // The platform granted from the config (teamTaskNeeds); what the tasks use is decided here.
    for (const { task } of apps) {
      const problems = [
        ...(task.credentials.some((c) => c.mode === "identity" && c.loginServer === base.loginServerName) && !granted?.grants.pullFrom ? ["AcrPull on the base-artifacts registry"] : []),
        ...([...task.credentials.flatMap((c) => c.secrets), ...task.secretsRead].some((s) => s.vault === platformVault) && !granted?.grants.readSecretsIn ? ["Get on the platform vault's secrets"] : []),
        ...(task.secretsRead.some((s) => s.vault !== platformVault && !(s.vault as Vault).canRead(w.teamVaultReader!)) ? ["Get on the team vault's secrets"] : []),
        ...(!granted?.grants.subscriptionReader ? ["the subscription reader"] : []),
      ];
      if (problems.length) throw new Error(`${this.node.path}: task ${task.principalName} needs ${problems.join(", ")}, which the platform does not grant its team identity`);
    }
    if (config.diagnostics.enabled) w.auditWorkspace(this, out(PLATFORM_OUTPUTS.logWorkspaceId));
    w.auditLogs([teamRegistry], w.vault !== platformVault);
    if (config.firstRun) w.firstRuns(this, w.tasks, w.apps, [teamRegistry, base]);
    w.outputs(this, [teamRegistry], w.apps, false);
  }
  /** The JSON, with each lock ordered after what it covers (lib/lock-cover.ts): liftable in one apply. */
  toTerraform(): any {
    return orderLocksAfterContents(super.toTerraform());
  }

}

/** The platform stack's state, read with the platform's own backend settings. */
function platformState(scope: Construct, config: AcrGateConfig): TerraformRemoteState {
  const b = config.backend;
  const state =
    b.type === "azurerm"
      ? new DataTerraformRemoteStateAzurerm(scope, "platform", {
          resourceGroupName: b.resourceGroupName,
          storageAccountName: b.storageAccountName,
          containerName: b.containerName,
          key: b.key,
          useAzureadAuth: b.useAzureadAuth ? true : undefined,
        })
      : // Relative to the stack directory, like the platform's own backend path: both stacks sit
        // in cdktf.out/stacks/, so the same path names the same file.
        new DataTerraformRemoteStateLocal(scope, "platform", { path: b.type === "local" ? b.path : "" });
  state.overrideLogicalId("platform");
  return state;
}
