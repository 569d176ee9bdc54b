import { Construct } from "constructs";
import {
  AzurermBackend,
  Fn,
  LocalBackend,
  TerraformBackend,
  TerraformOutput,
  TerraformRemoteState,
  TerraformStack,
  TerraformVariable,
} from "cdktf";
import { AzurermProvider } from "@cdktf/provider-azurerm/lib/provider";
import { TimeProvider } from "@cdktf/provider-time/lib/provider";
import { Sleep } from "@cdktf/provider-time/lib/sleep";
import { AcrGateConfig, plannedPullTokens, RegistryConfig } from "../lib/config";
import { addressPart } from "../lib/principal";
import { appTaskDefinition } from "../lib/app-task";
import { LockableResourceGroup } from "./resource-group";
import { Registry } from "./registry";
import { Vault } from "./key-vault";
import type { PullToken, StoredToken } from "./pull-token";
import { RegistryTask } from "./registry-task";
import { GatedImport } from "./gated-import";
import { ContainerApp } from "./container-app";
import { pinAddress } from "../lib/address";

const DOCKER_HUB = "docker.io";

/**
 * The whole workflow of the walkthrough for one config: durable content (registries, vault,
 * tokens, secrets) and the moving parts (tasks, grants, apps) in one stack, so that one
 * `terraform apply` brings an empty subscription to a running app.
 */
export class AcrGateStack extends TerraformStack {
  readonly config: AcrGateConfig;
  readonly publicRegistry?: Registry;
  readonly baseArtifacts: Registry;
  readonly teamRegistries: ReadonlyMap<string, Registry>;
  readonly vault: Vault;
  readonly simulatedImageTasks: readonly RegistryTask[];
  readonly gates: readonly GatedImport[];
  readonly apps: readonly { readonly app: ContainerApp; readonly task: RegistryTask }[];

  constructor(scope: Construct, id: string, config: AcrGateConfig) {
    super(scope, id);
    this.config = config;
    const tags = { ...config.tags, "managed-by": "acr-gate" };

    const subscription = new TerraformVariable(this, "subscription_id", {
      type: "string",
      default: "",
      description: "Azure subscription id; when empty the provider reads ARM_SUBSCRIPTION_ID",
    });
    new AzurermProvider(this, "azurerm", {
      // Empty means null, and null lets the provider read ARM_SUBSCRIPTION_ID.
      subscriptionId: `\${var.${subscription.friendlyUniqueId} == "" ? null : var.${subscription.friendlyUniqueId}}`,
      features: [
        {
          keyVault: [{ purgeSoftDeleteOnDestroy: false, recoverSoftDeletedKeyVaults: true, recoverSoftDeletedSecrets: true }],
          resourceGroup: [{ preventDeletionIfContainsResources: true }],
        },
      ],
    });
    new TimeProvider(this, "time");
    this.configureBackend();

    const githubToken = new TerraformVariable(this, "github_token", {
      type: "string",
      sensitive: true,
      nullable: false,
      description: "GitHub personal access token with read access to the task repositories (--git-access-token)",
    }).stringValue;

    // --- Resource groups: durable content in groups of its own, locked ------------------------
    const groups = new Map<string, LockableResourceGroup>();
    const group = (name: string, durable: boolean): LockableResourceGroup => {
      let g = groups.get(name);
      if (!g) {
        g = new LockableResourceGroup(this, `group-${name}`, {
          name,
          location: config.location,
          lock: durable && config.protection.locks ? "CanNotDelete" : undefined,
          tags,
        });
        groups.set(name, g);
      }
      return g;
    };
    const registry = (id: string, rc: RegistryConfig): Registry =>
      new Registry(this, id, {
        name: rc.name,
        resourceGroupName: group(rc.resourceGroup, true).name,
        location: config.location,
        zoneRedundancy: rc.zoneRedundancy,
        dedicatedDataEndpoints: rc.dedicatedDataEndpoints,
        replicaLocations: rc.replicaLocations,
        untaggedRetentionDays: rc.untaggedRetentionDays,
        preventDestroy: config.protection.preventDestroy,
        tags,
      });

    // --- Registries (az acr create --sku Premium) ---------------------------------------------
    const pub = config.publicRegistry;
    this.publicRegistry = pub ? registry("public-registry", pub) : undefined;
    this.baseArtifacts = registry("base-artifacts-registry", config.baseArtifactsRegistry);
    this.teamRegistries = new Map(config.teamRegistries.map((t) => [t.name, registry(`team-registry-${t.name}`, t)]));

    // --- Key Vault and secrets (az keyvault secret set) ----------------------------------------
    const kv = config.keyVault;
    this.vault = new Vault(this, "key-vault", {
      name: kv.name,
      resourceGroupName: kv.existing ? kv.resourceGroup : group(kv.resourceGroup, true).name,
      location: config.location,
      existing: kv.existing,
      softDeleteRetentionDays: kv.softDeleteRetentionDays,
      preventDestroy: config.protection.preventDestroy,
      tags,
    });
    this.vault.storeSecret("github-token", { value: githubToken, contentType: "GitHub personal access token" });

    let dockerHub: Pick<StoredToken, "user" | "password" | "vault"> | undefined;
    if (config.upstream.dockerHubCredentials) {
      const variable = (name: string, description: string) =>
        new TerraformVariable(this, name, { type: "string", sensitive: true, nullable: false, description }).stringValue;
      dockerHub = {
        vault: this.vault,
        user: this.vault.storeSecret("registry-dockerhub-user", {
          value: variable("dockerhub_username", "Docker Hub user name"),
          contentType: "Docker Hub user name",
        }),
        password: this.vault.storeSecret("registry-dockerhub-password", {
          value: variable("dockerhub_password", "Docker Hub access token"),
          contentType: "Docker Hub access token",
        }),
      };
    }

    // --- Tokens (az acr token create), only where a credential needs one ----------------------
    const registryByName = new Map(this.registries.map((r) => [r.registryName, r]));
    const tokens = new Map<Registry, PullToken>();
    for (const t of plannedPullTokens(config)) {
      const reg = registryByName.get(t.registry.name)!;
      const token = reg.createPullToken("pull-token", {
        name: t.name,
        repositories: t.repositories ?? undefined,
        expiryDays: config.tokenPasswordExpiryDays,
      });
      token.storeIn(this.vault);
      tokens.set(reg, token);
    }
    const publicToken = this.publicRegistry && tokens.get(this.publicRegistry)?.storedSecrets;
    const baseToken = tokens.get(this.baseArtifacts)?.storedSecrets;

    // --- Simulated public images (node-public) -------------------------------------------------
    this.simulatedImageTasks = (pub?.images ?? []).map((img) => {
      const task = new RegistryTask(this, `simulated-${img.taskName}`, {
        registry: this.publicRegistry!,
        name: img.taskName,
        step: { kind: "file", taskFile: img.taskFile, context: img.repository },
        gitAccessToken: githubToken,
        values: { REGISTRY_FROM_URL: `${DOCKER_HUB}/` },
        images: { builds: `${this.publicRegistry!.loginServerName}/${img.image.repository}:${img.image.tag}` },
        tags,
      });
      if (dockerHub) task.pullFromWithSecrets(DOCKER_HUB, dockerHub);
      return task;
    });

    // --- Gates: validated imports into base artifacts ------------------------------------------
    const fromSimulated = config.upstream.source === "simulated";
    this.gates = config.gatedImages.map((g) => {
      const gate = new GatedImport(this, `gate-${g.taskName}`, {
        registry: this.baseArtifacts,
        taskName: g.taskName,
        source: g.source,
        target: g.target,
        upstreamUrl: fromSimulated ? `${this.publicRegistry!.loginServerName}/` : `${DOCKER_HUB}/`,
        test: g.test.enabled ? { context: g.test.context, dockerfile: g.test.dockerfile, timeoutSeconds: g.test.timeoutSeconds } : undefined,
        scan: g.scan.enabled ? g.scan : undefined,
        allowUnvalidated: g.allowUnvalidated,
        baseImageTrigger: g.baseImageTrigger,
        timer: g.timer ?? undefined,
        gitAccessToken: githubToken,
        tags,
      });
      if (fromSimulated) {
        if (publicToken) gate.task.pullFromWithSecrets(this.publicRegistry!.loginServerName, publicToken);
        else gate.task.pullFrom(this.publicRegistry!);
        const producers = (pub?.images ?? [])
          .map((img, i) => ({ img, task: this.simulatedImageTasks[i] }))
          .filter(({ img }) => img.image.repository === g.source.repository && img.image.tag === g.source.tag);
        gate.task.upstreamTasks.push(...producers.map((p) => p.task));
      } else if (dockerHub) {
        gate.task.pullFromWithSecrets(DOCKER_HUB, dockerHub);
      }
      return gate;
    });

    // --- Apps: build FROM the gated base, deploy to ACI ----------------------------------------
    const gateByTarget = new Map(this.gates.map((g) => [`${g.target.repository}:${g.target.tag}`, g]));
    this.apps = config.apps.map((a) => {
      const team = this.teamRegistries.get(a.registry)!;
      const teamToken = a.aci.pullWith === "token" ? tokens.get(team) : undefined;
      // ':' cannot occur in an app name, so no app's ids can be another's (app-task-x vs app-x).
      const app = new ContainerApp(this, `app:${a.name}`, {
        name: a.aci.name,
        resourceGroup: group(a.aci.resourceGroup, false),
        registry: team,
        pull: teamToken ? { kind: "token", token: teamToken } : { kind: "identity" },
        dnsLabel: a.aci.dnsLabel ?? undefined,
        cpu: a.aci.cpu,
        memoryGb: a.aci.memoryGb,
        port: a.aci.port,
        initialImage: a.aci.initialImage,
      });
      const task = new RegistryTask(this, `app-task:${a.name}`, {
        registry: team,
        name: a.taskName,
        step: {
          kind: "encoded",
          context: a.repository,
          definition: appTaskDefinition({
            imageRepository: a.name,
            deployCommand: (image, secrets) => app.deployCommand(image, secrets),
            readRegistrySecrets: teamToken !== undefined,
          }),
        },
        gitAccessToken: githubToken,
        values: {
          REGISTRY_FROM_URL: `${this.baseArtifacts.loginServerName}/`,
          KEYVAULT: kv.name,
          ...app.deployValues,
        },
        images: {
          from: `${this.baseArtifacts.loginServerName}/${a.baseImage.repository}:${a.baseImage.tag}`,
          builds: `${team.loginServerName}/${a.name}`,
        },
        tags,
      });
      if (baseToken) task.pullFromWithSecrets(this.baseArtifacts.loginServerName, baseToken);
      else task.pullFrom(this.baseArtifacts);
      const stored = teamToken?.storedSecrets;
      if (stored) task.readSecrets(stored.user, stored.password);
      app.grantDeploy(task);
      const gate = gateByTarget.get(`${a.baseImage.repository}:${a.baseImage.tag}`);
      if (gate) task.upstreamTasks.push(gate.task);
      return { app, task };
    });

    if (config.firstRun) this.scheduleFirstRuns();
    this.addOutputs();
  }

  /** Every task in the workflow, upstream first. */
  get tasks(): RegistryTask[] {
    return [...this.simulatedImageTasks, ...this.gates.map((g) => g.task), ...this.apps.map((a) => a.task)];
  }

  get registries(): Registry[] {
    return [...(this.publicRegistry ? [this.publicRegistry] : []), this.baseArtifacts, ...this.teamRegistries.values()];
  }

  /**
   * `az acr task run` for each task, upstream first, after the grants each one relies on and a
   * pause for Entra ID to propagate new role assignments (runs fail with 401 otherwise).
   */
  private scheduleFirstRuns(): void {
    const grants = [
      ...this.vault.readGrants.map((g) => g.policy),
      ...this.registries.flatMap((r) => r.pullGrants.map((g) => g.assignment)),
      ...this.apps.flatMap((a) => a.app.deployGrants.flatMap((g) => g.assignments)),
      // Task files read secrets at run time, which Terraform cannot see as a reference.
      ...this.vault.secrets.map((s) => s.resource),
    ];
    // Replaced (and so waited for again) whenever a grant is added or replaced: a run that a later
    // apply adds (a new app, a group replaced by a resize) must not start before its grants work.
    const grantIds = [
      ...this.vault.readGrants.map((g) => g.policy.id),
      ...this.registries.flatMap((r) => r.pullGrants.map((g) => g.assignment.id)),
      ...this.apps.flatMap((a) => a.app.deployGrants.flatMap((g) => g.assignments.map((x) => x.id))),
    ];
    const settle = new Sleep(this, "grants-propagation", {
      createDuration: "90s",
      triggers: { grants: Fn.sha1(Fn.join(",", grantIds)) },
      dependsOn: grants,
    });
    pinAddress(settle, "grants_propagation");
    const appOf = new Map(this.apps.map((a) => [a.task, a.app]));
    for (const task of this.tasks) {
      const upstream = task.upstreamTasks.map((t) => t.firstRun).filter((r) => r !== undefined);
      const app = appOf.get(task);
      // An app's task deploys again into a replaced group, and after its pull token's password
      // rotates (the group keeps the old one: Terraform ignores its credential, see ContainerApp).
      const rerun = app ? [app.group, ...(app.pullToken ? [app.pullToken.passwordResource] : [])] : [];
      task.runOnCreate([settle, ...upstream, ...(app ? [app.group] : [])], rerun);
    }
  }

  private addOutputs(): void {
    for (const r of this.registries) {
      new TerraformOutput(this, `login_server_${addressPart(r.registryName)}`, {
        value: r.loginServer,
        description: `Login server of ${r.registryName}`,
      });
    }
    new TerraformOutput(this, "key_vault_uri", { value: this.vault.vaultUri, description: "URI of the key vault" });
    for (const { app } of this.apps) {
      const n = addressPart(app.groupName);
      new TerraformOutput(this, `app_ip_${n}`, { value: app.ipAddress, description: `Public IP of ${app.groupName}` });
      new TerraformOutput(this, `app_fqdn_${n}`, { value: app.fqdn, description: `FQDN of ${app.groupName}` });
    }
  }

  private configureBackend(): void {
    const b = this.config.backend;
    // State lives outside cdktf.out (which every synth replaces): the default path climbs from
    // cdktf.out/stacks/<stack>/ to the directory that holds cdktf.out, relative, so the JSON carries
    // no path of the synthesizing machine.
    if (b.type === "local") new LocalBackend(this, { path: b.path });
    else if (b.type === "azurerm") {
      new AzurermBackend(this, {
        resourceGroupName: b.resourceGroupName,
        storageAccountName: b.storageAccountName,
        containerName: b.containerName,
        key: b.key,
      });
    } else {
      // Partial configuration: `terraform init -backend-config=...` supplies the rest. A backend
      // element (not an override) so that cdktf adds no default local backend beside it.
      new PartialAzurermBackend(this);
    }
  }
}


/** `backend "azurerm" {}` with every setting left to `terraform init -backend-config=...`. */
class PartialAzurermBackend extends TerraformBackend {
  constructor(scope: Construct) {
    super(scope, "backend", "azurerm");
  }

  getRemoteStateDataSource(): TerraformRemoteState {
    throw new Error("a partial azurerm backend cannot be read by another stack: its settings are known only at terraform init");
  }
}
