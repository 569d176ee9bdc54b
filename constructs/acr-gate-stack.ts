import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import { orderLocksAfterContents } from "../lib/lock-cover";
import type { AcrGateConfig } from "../lib/config/schema";
import type { Registry } from "./registry";
import type { Vault } from "./key-vault";
import type { RegistryTask } from "./registry-task";
import type { GatedImport } from "./gated-import";
import { AppParts, Workflow } from "./workflow";

/**
 * The whole workflow of the walkthrough for one config, in one stack: durable content (registries,
 * vault, tokens, secrets) and the moving parts (tasks, grants, apps), so that one `terraform apply`
 * brings an empty subscription to a running app. It reads like the walkthrough, section by section.
 */
export class AcrGateStack extends TerraformStack {
  readonly config: AcrGateConfig;
  private readonly workflow: Workflow;

  constructor(scope: Construct, id: string, config: AcrGateConfig) {
    super(scope, id);
    this.config = config;
    const w = (this.workflow = new Workflow(config));
    const githubToken = w.providers(this, config.backend);
    // Create registries (az group create, az acr create --sku Premium)
    w.platformRegistries(this);
    for (const team of config.teamRegistries) w.teamRegistry(this, team);
    // Create key vault secrets (az keyvault secret set)
    w.vaultAndSecrets(this, githubToken);
    // Create tokens for pull access (az acr token create), stored in the vault
    w.tokensFor(w.registries);
    // Create the task that builds the simulated public image (az acr task create -n node-public)
    w.upstreamTasks(this, githubToken);
    // Gated imports of public content (base-import-node)
    w.gatedImports(this, githubToken);
    // Create the tasks that build and deploy the apps (hello-world), and their container groups
    w.appsOf(this, githubToken, config.apps);
    // Beyond the walkthrough: audit logs of every registry and the vault
    w.auditWorkspace(this);
    w.auditLogs(w.registries, true);
    // Run the tasks once (az acr task run), upstream first
    if (config.firstRun) w.firstRuns(this, w.tasks, w.apps, w.registries);
    // Get the IP address of the container (az container show)
    w.outputs(this, w.registries, w.apps, true);
  }
  /** The JSON, with each lock ordered after what it covers (lib/lock-cover.ts): liftable in one apply. */
  toTerraform(): any {
    return orderLocksAfterContents(super.toTerraform());
  }


  get publicRegistry(): Registry | undefined {
    return this.workflow.publicRegistry;
  }
  get baseArtifacts(): Registry {
    return this.workflow.baseArtifacts;
  }
  get teamRegistries(): ReadonlyMap<string, Registry> {
    return this.workflow.teamRegistries;
  }
  get vault(): Vault {
    return this.workflow.vault;
  }
  get simulatedImageTasks(): readonly RegistryTask[] {
    return this.workflow.simulatedImageTasks;
  }
  get gates(): readonly GatedImport[] {
    return this.workflow.gates;
  }
  get apps(): readonly AppParts[] {
    return this.workflow.apps;
  }
  /** Every task in the workflow, upstream first. */
  get tasks(): RegistryTask[] {
    return this.workflow.tasks;
  }
  get registries(): Registry[] {
    return this.workflow.registries;
  }
}
