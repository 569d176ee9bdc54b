import { Construct } from "constructs";
import { AzurermBackend, Fn, LocalBackend, TerraformBackend, TerraformOutput, TerraformRemoteState, TerraformStack, TerraformVariable } from "cdktf";
import { AzurermProvider } from "@cdktf/provider-azurerm/lib/provider";
import { TimeProvider } from "@cdktf/provider-time/lib/provider";
import { Sleep } from "@cdktf/provider-time/lib/sleep";
import type { AcrGateConfig } from "../lib/config/schema";
import type { AppConfig } from "../lib/config/apps";
import type { BackendConfig } from "../lib/config/backend";
import type { RegistryConfig } from "../lib/config/registries";
import { plannedPullTokens } from "../lib/config/pull-tokens";
import { addressPart, IPrincipal } from "../lib/principal";
import { appTaskDefinition } from "../lib/app-task";
import { pinAddress } from "../lib/address";
import { pinProviderVersions } from "../lib/provider-ahead";
import { LockableResourceGroup } from "./resource-group";
import { EnvironmentGuard } from "./environment-guard";
import { SubscriptionReader } from "./subscription-reader";
import { TeamIdentity } from "./team-identity";
import type { TaskIdentity } from "./registry-task";
import { DataAzurermClientConfig } from "@cdktf/provider-azurerm/lib/data-azurerm-client-config";
import { Registry } from "./registry";
import type { IRegistry } from "./interfaces";
import { Vault } from "./key-vault";
import type { PullToken, StoredToken } from "./pull-token";
import { RegistryTask } from "./registry-task";
import { GatedImport } from "./gated-import";
import { ContainerApp } from "./container-app";
import { LogWorkspace } from "./log-workspace";
import { SigningCertificate } from "./signing-certificate";
import { SignerImage } from "./signer-image";
import { UpstreamLogin, UpstreamLogins } from "./upstream-logins";
import { gatePull } from "../lib/artifact-cache";
import { SIMULATED } from "../lib/upstream-hosts";
import { SIGNER_REPOSITORY, SIGNER_TAG } from "../lib/config/signing";

export interface AppParts {
  readonly app: ContainerApp;
  readonly task: RegistryTask;
}

/**
 * The walkthrough's sections as phases, each building its part of the workflow into the stack it
 * is given: one stack for the whole workflow (AcrGateStack), or a platform stack and one stack per
 * team. Not a construct: the phases put constructs straight into the stacks, so their logical ids
 * (variables, outputs, providers) are the stack's own.
 *
 * A phase reads what earlier phases made (registries, the vault, tokens, gates) from this object.
 */
export class Workflow {
  readonly tags: Readonly<Record<string, string>>;
  publicRegistry?: Registry;
  baseArtifacts!: Registry;
  readonly teamRegistries = new Map<string, Registry>();
  vault!: Vault;
  /** A split team's task identity, as granted `Get` on the team's own vault (TeamStack). */
  teamVaultReader?: IPrincipal;
  /** The Docker Hub credentials in the vault, when upstream.dockerHubCredentials. */
  dockerHub?: UpstreamLogin;
  /** Every upstream login in the vault (Docker Hub's and upstream.credentials), and the cache's credential sets. */
  upstreamLogins!: UpstreamLogins;
  readonly tokens = new Map<Registry, PullToken>();
  simulatedImageTasks: RegistryTask[] = [];
  gates: GatedImport[] = [];
  readonly apps: AppParts[] = [];
  /** The task building the signer image, when signing.signerContext. */
  signerImage?: SignerImage;
  /** The certificate promotions are signed with, when signing.enabled. */
  signingCertificate?: SigningCertificate;
  /** Where audit logs go, when diagnostics.enabled. */
  logWorkspace?: LogWorkspace;
  private readonly groups = new Map<TerraformStack, Map<string, LockableResourceGroup>>();
  private readonly liftedLocks: ReadonlySet<string>;
  private readonly clients = new Map<TerraformStack, DataAzurermClientConfig>();
  private readonly readers = new Map<string, SubscriptionReader>();
  /** Split platform: each team's task identity, by team registry name (teams with apps only). */
  readonly teamIdentities = new Map<string, TeamIdentity>();
  /**
   * Split team: its resource groups are made by the platform stack (teamGroupsOf); this stack reads
   * them by name and holds their locks (constructs/resource-group.ts, help/split.md).
   */
  groupsMadeByPlatform = false;

  constructor(readonly config: AcrGateConfig) {
    this.tags = { ...config.tags, "managed-by": "acr-gate" };
    this.liftedLocks = new Set(config.protection.liftLocks.map((g) => g.toLowerCase()));
  }

  get registries(): Registry[] {
    return [...(this.publicRegistry ? [this.publicRegistry] : []), this.baseArtifacts, ...this.teamRegistries.values()];
  }

  /** Every task, upstream first. */
  get tasks(): RegistryTask[] {
    return [
      ...this.simulatedImageTasks,
      ...(this.signerImage ? [this.signerImage.task] : []),
      ...this.gates.map((g) => g.task),
      ...this.apps.map((a) => a.task),
    ];
  }

  // --- Providers, backend and the Git token --------------------------------------------------

  /**
   * The azurerm and time providers (pinned to the versions the JSON is written for, not the
   * bindings' own), the backend, and the `github_token` variable (returned).
   */
  providers(stack: TerraformStack, backend: BackendConfig): string {
    const subscription = new TerraformVariable(stack, "subscription_id", {
      type: "string",
      default: "",
      description: "Azure subscription id; when empty the provider reads ARM_SUBSCRIPTION_ID",
    });
    new AzurermProvider(stack, "azurerm", {
      // Empty means null, and null lets the provider read ARM_SUBSCRIPTION_ID.
      subscriptionId: `\${var.${subscription.friendlyUniqueId} == "" ? null : var.${subscription.friendlyUniqueId}}`,
      // Stated, so that 4.x (default "legacy": register some 50 providers on every run, which needs
      // a subscription-wide permission) and 5.x (default "none") behave alike; the few providers the
      // JSON needs are registered once per subscription (help/getting-started.md).
      resourceProviderRegistrations: "none",
      features: [
        {
          keyVault: [
            {
              purgeSoftDeleteOnDestroy: false,
              recoverSoftDeletedKeyVaults: true,
              recoverSoftDeletedSecrets: true,
              // A destroyed signing certificate stays recoverable (soft delete), like the vault's
              // secrets; set always, so that turning signing off does not purge it.
              purgeSoftDeletedCertificatesOnDestroy: false,
              recoverSoftDeletedCertificates: true,
            },
          ],
          resourceGroup: [{ preventDeletionIfContainsResources: true }],
        },
      ],
    });
    new TimeProvider(stack, "time");
    pinProviderVersions(stack, this.config.azurermVersion);
    // The caller, as every vault reads it too: one data source at one address per stack.
    const client = new DataAzurermClientConfig(stack, "client");
    client.overrideLogicalId("current");
    this.clients.set(stack, client);
    new EnvironmentGuard(stack, "environment-guard", {
      subscriptionId: client.subscriptionId,
      tenantId: client.tenantId,
      environment: this.config.environment ?? undefined,
    });
    configureBackend(stack, backend);
    return new TerraformVariable(stack, "github_token", {
      type: "string",
      sensitive: true,
      nullable: false,
      description: "GitHub token for the task repositories (--git-access-token): classic scopes repo and admin:repo_hook, or fine-grained Contents read and Webhooks read and write (ACR creates the commit webhooks)",
    }).stringValue;
  }

  // --- Create registries (az group create, az acr create --sku Premium) ----------------------

  /**
   * A resource group of `stack`; durable ones (registries, vault) are locked unless protection says
   * no. `lock: false`: made without its lock, which another stack holds (a split team's groups: the
   * platform makes them, the team locks them, so that the lock is ordered after what it covers,
   * lib/lock-cover.ts).
   */
  group(stack: TerraformStack, name: string, durable: boolean, options: { lock?: boolean } = {}): LockableResourceGroup {
    let groups = this.groups.get(stack);
    if (!groups) this.groups.set(stack, (groups = new Map()));
    let g = groups.get(name);
    if (!g) {
      g = new LockableResourceGroup(stack, `group-${name}`, {
        name,
        location: this.config.location,
        // A lifted lock goes first in its apply: each lock depends on what it covers (lib/lock-cover.ts).
        lock: durable && options.lock !== false && this.config.protection.locks && !this.liftedLocks.has(name.toLowerCase()) ? "CanNotDelete" : undefined,
        tags: this.tags,
        madeElsewhere: this.groupsMadeByPlatform,
      });
      groups.set(name, g);
    }
    return g;
  }

  private registry(stack: TerraformStack, id: string, rc: RegistryConfig): Registry {
    return new Registry(stack, id, {
      name: rc.name,
      resourceGroupName: this.group(stack, rc.resourceGroup, true).name,
      location: this.config.location,
      zoneRedundancy: rc.zoneRedundancy,
      dedicatedDataEndpoints: rc.dedicatedDataEndpoints,
      replicaLocations: rc.replicaLocations,
      untaggedRetentionDays: rc.untaggedRetentionDays,
      preventDestroy: this.config.protection.preventDestroy,
      tags: this.tags,
      azurermVersion: this.config.azurermVersion,
      network: rc.network ?? undefined,
    });
  }

  /** The simulated public registry (if any) and the shared base-artifacts registry. */
  platformRegistries(stack: TerraformStack): void {
    const pub = this.config.publicRegistry;
    this.publicRegistry = pub ? this.registry(stack, "public-registry", pub) : undefined;
    this.baseArtifacts = this.registry(stack, "base-artifacts-registry", this.config.baseArtifactsRegistry);
  }

  teamRegistry(stack: TerraformStack, team: RegistryConfig): Registry {
    const r = this.registry(stack, `team-registry-${team.name}`, team);
    this.teamRegistries.set(team.name, r);
    return r;
  }

  // --- Create key vault secrets (az keyvault secret set) -------------------------------------

  vaultAndSecrets(stack: TerraformStack, githubToken: string): void {
    const kv = this.config.keyVault;
    this.vault = new Vault(stack, "key-vault", {
      name: kv.name,
      resourceGroupName: kv.existing ? kv.resourceGroup : this.group(stack, kv.resourceGroup, true).name,
      location: this.config.location,
      existing: kv.existing,
      // Only a vault this stack creates grants its deployers (an existing one's owner has access).
      deployers: kv.existing ? undefined : deployersVariable(stack, this.config.deployers).value,
      previousDeployer: this.config.deployers[0]?.name,
      deployerRenames: this.config.deployers.filter((d) => d.renamedFrom !== null).map((d) => [d.renamedFrom!, d.name] as const),
      softDeleteRetentionDays: kv.softDeleteRetentionDays,
      preventDestroy: this.config.protection.preventDestroy,
      tags: this.tags,
    });
    this.vault.storeSecret("github-token", { value: githubToken, contentType: "GitHub personal access token" });
    const c = this.config;
    this.upstreamLogins = new UpstreamLogins(stack, this.vault, [...(c.upstream.dockerHubCredentials ? ["docker.io"] : []), ...c.upstream.credentials]);
    this.dockerHub = this.upstreamLogins.login("docker.io");
  }

  // --- Create tokens (az acr token create), only where a credential needs one -----------------

  /** The pull tokens of the registries given (plannedPullTokens), stored in `vault` (a split team's own). */
  tokensFor(registries: readonly Registry[], vault: Vault = this.vault): void {
    const byName = new Map(registries.map((r) => [r.registryName, r]));
    for (const t of plannedPullTokens(this.config)) {
      const reg = byName.get(t.registry.name);
      if (!reg) continue;
      const token = reg.createPullToken("pull-token", {
        name: t.name,
        repositories: t.repositories ?? undefined,
        expiryDays: this.config.tokenPasswordExpiryDays,
        rotation: this.config.tokenRotation ?? undefined,
      });
      token.storeIn(vault);
      this.tokens.set(reg, token);
    }
  }

  // --- Audit logs (beyond the walkthrough): who pulled, pushed, logged in, read a secret ------

  /**
   * The workspace audit logs go to, when diagnostics.enabled: one acr-gate creates (in a locked
   * group of its own: it holds the audit trail), or an existing one by id. `existingId` overrides
   * both (a team stack's view of the platform's workspace).
   */
  auditWorkspace(stack: TerraformStack, existingId?: string): LogWorkspace | undefined {
    const d = this.config.diagnostics;
    if (!d.enabled) return undefined;
    const id = existingId ?? d.workspaceId;
    this.logWorkspace = id
      ? LogWorkspace.fromId(stack, "audit-workspace", id)
      : new LogWorkspace(stack, "audit-workspace", {
          name: d.workspaceName,
          resourceGroupName: this.group(stack, d.resourceGroup, true).name,
          location: this.config.location,
          retentionDays: d.retentionDays,
          dailyQuotaGb: d.dailyQuotaGb ?? undefined,
          preventDestroy: this.config.protection.preventDestroy,
          tags: this.tags,
        });
    return this.logWorkspace;
  }

  /** Each registry's repository and login events, and the vault's audit events if it is ours. */
  auditLogs(registries: readonly Registry[], vault: boolean): void {
    const ws = this.logWorkspace;
    if (!ws) return;
    for (const r of registries) r.sendAuditLogsTo(ws);
    if (vault && this.vault.managed) this.vault.sendAuditLogsTo(ws);
  }

  // --- Create the task that builds the simulated public image (node-public) ------------------

  upstreamTasks(stack: TerraformStack, githubToken: string): void {
    const pub = this.config.publicRegistry;
    this.simulatedImageTasks = (pub?.images ?? []).map((img) => {
      const task = new RegistryTask(stack, `simulated-${img.taskName}`, {
        registry: this.publicRegistry!,
        name: img.taskName,
        step: { kind: "file", taskFile: img.taskFile, context: img.repository },
        gitAccessToken: githubToken,
        values: { REGISTRY_FROM_URL: "docker.io/" },
        images: { builds: `${this.publicRegistry!.loginServerName}/${img.image.repository}:${img.image.tag}` },
        tags: this.tags,
      });
      if (this.dockerHub) task.pullFromWithSecrets("docker.io", this.dockerHub);
      return task;
    });
  }

  // --- Gated imports of public content: validated imports into base artifacts ----------------

  gatedImports(stack: TerraformStack, githubToken: string): void {
    const config = this.config;
    const pub = config.publicRegistry;
    const publicToken = this.publicRegistry && this.tokens.get(this.publicRegistry)?.storedSecrets;
    // The registry's own upstream logins for its cache, in the gates' order: only each credential
    // set's identity reads its login.
    for (const g of config.gatedImages) if (g.upstream.via === "cache") this.upstreamLogins.credentialSet(this.baseArtifacts, g.upstream.host);
    if (config.signing.enabled) {
      const s = config.signing;
      this.signingCertificate = new SigningCertificate(stack, "signing-certificate", {
        vault: this.vault,
        name: s.certificateName,
        existing: s.existingCertificate,
        subject: s.subject,
        validityMonths: s.validityMonths,
        preventDestroy: config.protection.preventDestroy,
        tags: this.tags,
      });
      if (s.signerContext) {
        this.signerImage = new SignerImage(stack, "signer-image", {
          registry: this.baseArtifacts,
          context: s.signerContext,
          gitAccessToken: githubToken,
          tags: this.tags,
        });
      }
    }
    const cert = this.signingCertificate;
    const signerImage = this.signerImage?.image ?? config.signing.signerImage;
    this.gates = config.gatedImages.map((g) => {
      // Through the cache, the gate pulls `<base artifacts>/<namespace>/<repository>` (dockerhub/node,
      // mcr/dotnet/runtime), which the cache rule fills from upstream on the first pull; Docker
      // Hub's official images lose `library/` there.
      const { host, via } = g.upstream;
      const pull = gatePull(g.upstream, g.source.repository, { simulated: this.publicRegistry?.loginServerName, base: this.baseArtifacts.loginServerName });
      if (pull.cached) this.baseArtifacts.cacheRepository(pull.cached, this.upstreamLogins.credentialSet(this.baseArtifacts, host));
      const gate = new GatedImport(stack, `gate-${g.taskName}`, {
        registry: this.baseArtifacts,
        taskName: g.taskName,
        source: { repository: pull.repository, tag: g.source.tag },
        target: g.target,
        upstreamUrl: pull.prefix,
        test: g.test.enabled ? { context: g.test.context, dockerfile: g.test.dockerfile, timeoutSeconds: g.test.timeoutSeconds } : undefined,
        scan: g.scan.enabled ? g.scan : undefined,
        allowUnvalidated: g.allowUnvalidated,
        baseImageTrigger: g.baseImageTrigger,
        timer: g.timer ?? undefined,
        signing: cert ? { keyId: cert.keyId, certificate: cert.certificateData, signerImage } : undefined,
        gitAccessToken: githubToken,
        tags: this.tags,
      });
      if (host === SIMULATED) {
        if (publicToken) gate.task.pullFromWithSecrets(this.publicRegistry!.loginServerName, publicToken);
        else gate.task.pullFrom(this.publicRegistry!);
        const producers = (pub?.images ?? [])
          .map((img, i) => ({ img, task: this.simulatedImageTasks[i] }))
          .filter(({ img }) => img.image.repository === g.source.repository && img.image.tag === g.source.tag);
        gate.task.upstreamTasks.push(...producers.map((p) => p.task));
      } else if (via === "direct") {
        // Pulled by the gate itself: with the upstream's login from Key Vault, or anonymously.
        const login = this.upstreamLogins.login(host);
        if (login) gate.task.pullFromWithSecrets(host, login);
      }
      // Through the cache: the gate runs in the registry that holds the cache, and a run may pull
      // from its own registry with no credential: no secret and no grant for the task.
      cert?.grantSign(gate.task);
      // The signer image exists before the gate's first run signs with it.
      if (this.signerImage) gate.task.upstreamTasks.push(this.signerImage.task);
      return gate;
    });
  }

  // --- Create the tasks that build and deploy the apps; the container groups they deploy to ---

  /**
   * `base` is where the apps build FROM: the base-artifacts registry, made here or imported from the
   * platform stack, and its pull token's secrets when its consumers use a token; with signing, the
   * gate certificate's public part (`certificate`) the apps verify their base image with.
   */
  appsOf(
    stack: TerraformStack,
    githubToken: string,
    apps: readonly AppConfig[],
    base: {
      registry: IRegistry;
      token?: Pick<StoredToken, "user" | "password" | "vault">;
      certificate?: string;
      /** Split teams: the identity the app tasks run as, made and granted outside the team by the platform. */
      identity?: TaskIdentity;
    } = {
      registry: this.baseArtifacts,
      token: this.tokens.get(this.baseArtifacts)?.storedSecrets,
      certificate: this.signingCertificate?.certificateData,
    },
  ): AppParts[] {
    const baseToken = base.token;
    // Verify before use: with signing, every app builds only on a base image the gate signed.
    const toolsImage = this.config.signing.enabled ? (this.signerImage?.image ?? this.config.signing.signerImage ?? signerImageIn(base.registry)) : undefined;
    if (toolsImage && !base.certificate) throw new Error(`${stack.node.path}: signing is on, but no gate certificate reaches the apps`);
    const gateByTarget = new Map(this.gates.map((g) => [`${g.target.repository}:${g.target.tag}`, g]));
    const made = apps.map((a) => {
      const team = this.teamRegistries.get(a.registry)!;
      const teamToken = a.aci.pullWith === "token" ? this.tokens.get(team) : undefined;
      // ':' cannot occur in an app name, so no app's ids can be another's (app-task-x vs app-x).
      const app = new ContainerApp(stack, `app:${a.name}`, {
        // A platform-made identity sees the subscription through the platform's grant.
        subscriptionReader: base.identity ? undefined : this.subscriptionReader(stack, a.registry),
        name: a.aci.name,
        resourceGroup: this.group(stack, a.aci.resourceGroup, false),
        registry: team,
        pull: teamToken ? { kind: "token", token: teamToken } : { kind: "identity" },
        dnsLabel: a.aci.dnsLabel ?? undefined,
        cpu: a.aci.cpu,
        memoryGb: a.aci.memoryGb,
        port: a.aci.port,
        initialImage: a.aci.initialImage,
      });
      const task = new RegistryTask(stack, `app-task:${a.name}`, {
        registry: team,
        name: a.taskName,
        step: {
          kind: "encoded",
          context: a.repository,
          definition: appTaskDefinition({
            imageRepository: a.name,
            deployCommand: (image, secrets) => app.deployCommand(image, secrets),
            readRegistrySecrets: teamToken !== undefined,
            identityClientId: base.identity ? "{{.Values.TASK_IDENTITY}}" : undefined,
            verifyBase: toolsImage
              ? {
                  image: `{{.Values.REGISTRY_FROM_URL}}${a.baseImage.repository}:${a.baseImage.tag}`,
                  repository: `{{.Values.REGISTRY_FROM_URL}}${a.baseImage.repository}`,
                  target: `${a.baseImage.repository}:${a.baseImage.tag}`,
                  toolsImage,
                }
              : undefined,
          }),
        },
        gitAccessToken: githubToken,
        values: {
          REGISTRY_FROM_URL: `${base.registry.loginServerName}/`,
          // Where the task file reads the team token's secrets: a split team's own vault.
          KEYVAULT: teamToken?.storedSecrets?.user.vault.vaultName ?? this.config.keyVault.name,
          ...(toolsImage ? { GATE_CERTIFICATE: base.certificate! } : {}),
          ...app.deployValues,
          ...(base.identity ? { TASK_IDENTITY: base.identity.clientId } : {}),
        },
        images: {
          from: `${base.registry.loginServerName}/${a.baseImage.repository}:${a.baseImage.tag}`,
          builds: `${team.loginServerName}/${a.name}`,
        },
        tags: this.tags,
        identity: base.identity,
      });
      if (baseToken) task.pullFromWithSecrets(base.registry.loginServerName, baseToken);
      else task.pullFrom(base.registry);
      const stored = teamToken?.storedSecrets;
      if (stored) task.readSecrets(stored.user, stored.password);
      app.grantDeploy(task);
      const gate = gateByTarget.get(`${a.baseImage.repository}:${a.baseImage.tag}`);
      if (gate) task.upstreamTasks.push(gate.task);
      return { app, task };
    });
    this.apps.push(...made);
    return made;
  }

  /**
   * Split platform: every team's resource groups (its registry's, its apps' container groups'),
   * without their locks, which the team stacks hold. Creating a group is a right at the
   * subscription only, which team deployers then do not need (help/rights.md).
   */
  teamGroupsOf(stack: TerraformStack): void {
    for (const team of this.config.teamRegistries) {
      this.group(stack, team.resourceGroup, true, { lock: false });
      for (const a of this.config.apps.filter((x) => x.registry === team.name)) this.group(stack, a.aci.resourceGroup, false);
    }
  }

  /**
   * Split platform: one identity per team with apps, in the team registry's group (made by the
   * platform, teamGroupsOf), so that attaching it to the team's tasks is a right inside the team's
   * own group; granted everything its tasks use outside the team's resource groups
   * (constructs/team-identity.ts, help/split.md).
   */
  teamIdentitiesOf(stack: TerraformStack): void {
    for (const team of this.config.teamRegistries) {
      const needs = teamTaskNeeds(this.config, team.name);
      if (!needs) continue;
      const identity = new TeamIdentity(stack, `team-identity-${team.name}`, {
        team: team.name,
        resourceGroup: this.group(stack, team.resourceGroup, true, { lock: false }),
        tags: this.tags,
      });
      identity.grant({
        readSecretsIn: needs.readSecrets ? this.vault : undefined,
        pullFrom: needs.pullBase ? this.baseArtifacts : undefined,
        subscriptionReader: this.subscriptionReader(stack, team.name, `${team.name} tasks`),
      });
      this.teamIdentities.set(team.name, identity);
    }
  }

  /** A team's subscription reader (constructs/subscription-reader.ts), made with its first app. */
  private subscriptionReader(stack: TerraformStack, team: string, label?: string): SubscriptionReader {
    let r = this.readers.get(team);
    if (!r) {
      const client = this.clients.get(stack);
      if (!client) throw new Error(`${stack.node.path}: providers() first`);
      r = new SubscriptionReader(stack, `subscription-reader-${team}`, { subscriptionId: client.subscriptionId, team, label });
      this.readers.set(team, r);
    }
    return r;
  }

  // --- Run the task (az acr task run): first runs, upstream first, after the grants ----------

  /**
   * `az acr task run` for each task, upstream first, after the grants each one relies on and a
   * pause for Entra ID to propagate new role assignments (runs fail with 401 otherwise).
   */
  firstRuns(stack: TerraformStack, tasks: readonly RegistryTask[], apps: readonly AppParts[], registries: readonly IRegistry[]): void {
    const mine = new Set(tasks);
    const readGrants = this.vault.readGrants.filter((g) => mine.has(g.principal as RegistryTask) || g.principal === this.teamVaultReader);
    const pullGrants = registries.flatMap((r) => r.pullGrants);
    const deployGrants = apps.flatMap((a) => a.app.deployGrants);
    const cacheRules = registries.flatMap((r) => (r instanceof Registry ? r.cachedRepositories : []));
    const grants = [
      ...readGrants.map((g) => g.policy),
      ...pullGrants.map((g) => g.assignment),
      ...deployGrants.flatMap((g) => g.assignments),
      // Task files read secrets at run time, which Terraform cannot see as a reference.
      ...this.vault.secrets.flatMap((s) => (s.resource && TerraformStack.of(s.resource) === stack ? [s.resource] : [])),
      // A gate's first run pulls through the cache and signs with the certificate.
      ...cacheRules.map((r) => r.resource),
      ...(this.signingCertificate?.resource && TerraformStack.of(this.signingCertificate) === stack ? [this.signingCertificate.resource] : []),
    ];
    // Replaced (and so waited for again) whenever a grant is added or replaced: a run that a later
    // apply adds (a new app, a group replaced by a resize) must not start before its grants work.
    const grantIds = [
      ...readGrants.map((g) => g.policy.id),
      ...pullGrants.map((g) => g.assignment.id),
      ...deployGrants.flatMap((g) => g.assignments.map((x) => x.id)),
      ...cacheRules.map((r) => r.resource.id),
      // Widening a policy keeps its id: a new permission (signing turned on) must pause the runs too.
      ...readGrants.filter((g) => g.permissions.key.size > 0).map((g) => `${g.principal.principalName}:${[...g.permissions.key].join("+")}`),
    ];
    const settle = new Sleep(stack, "grants-propagation", {
      createDuration: "90s",
      triggers: { grants: Fn.sha1(Fn.join(",", grantIds)) },
      dependsOn: grants,
    });
    pinAddress(settle, "grants_propagation");
    const appOf = new Map(apps.map((a) => [a.task, a.app]));
    for (const task of tasks) {
      // Upstream runs in this stack only: another stack's run is ordered by the stacks' order.
      const upstream = task.upstreamTasks
        .map((t) => t.firstRun)
        .filter((r): r is NonNullable<typeof r> => r !== undefined && TerraformStack.of(r) === stack);
      const app = appOf.get(task);
      // An app's task deploys again into a replaced group, and after its pull token's password
      // rotates (the group keeps the old one: Terraform ignores its credential, see ContainerApp).
      const rerun = app ? [app.group, ...(app.pullToken ? [app.pullToken.passwordResource] : [])] : [];
      task.runOnCreate([settle, ...upstream, ...(app ? [app.group] : [])], rerun);
    }
  }

  // --- Get the IP address of the container (az container show) -------------------------------

  outputs(stack: TerraformStack, registries: readonly Registry[], apps: readonly AppParts[], vault: boolean): void {
    for (const r of registries) {
      new TerraformOutput(stack, `login_server_${addressPart(r.registryName)}`, {
        value: r.loginServer,
        description: `Login server of ${r.registryName}`,
      });
    }
    if (vault) new TerraformOutput(stack, "key_vault_uri", { value: this.vault.vaultUri, description: "URI of the key vault" });
    for (const { app } of apps) {
      const n = addressPart(app.groupName);
      new TerraformOutput(stack, `app_ip_${n}`, { value: app.ipAddress, description: `Public IP of ${app.groupName}` });
      new TerraformOutput(stack, `app_fqdn_${n}`, { value: app.fqdn, description: `FQDN of ${app.groupName}` });
    }
  }
}

/**
 * What a team's app tasks use outside the team's resource groups, from the config alone (the
 * platform cannot read the team stacks): `Get` on the platform vault's secrets when they read the
 * base-artifacts token (the team's own token is in the team's own vault), `AcrPull` on base
 * artifacts when they pull it with their identity. Undefined for a team without apps (no task, no identity). The team stack checks
 * its tasks against the platform's grants (TeamStack), so the two cannot drift apart unseen.
 */
export function teamTaskNeeds(config: AcrGateConfig, team: string): { readSecrets: boolean; pullBase: boolean } | undefined {
  const apps = config.apps.filter((a) => a.registry === team);
  if (!apps.length) return undefined;
  const tokens = plannedPullTokens(config);
  const baseToken = tokens.some((t) => t.registry.name === config.baseArtifactsRegistry.name);
  return { readSecrets: baseToken, pullBase: !baseToken };
}

/** The signer image acr-gate's build-signer task makes, in the registry given. */
function signerImageIn(registry: IRegistry): string {
  return `${registry.loginServerName}/${SIGNER_REPOSITORY}:${SIGNER_TAG}`;
}

/**
 * `variable "deployers"`: who may deploy, by name and Entra ID object id, each with its own grant
 * (help/operations.md, "Deployers"). The config's list is its default; without one the variable is
 * required, so no grant ever depends on whoever happens to run apply.
 */
export function deployersVariable(stack: TerraformStack, listed: readonly { name: string; objectId: string }[]): TerraformVariable {
  // RE2's \z for the end: the same as $ here, but no "}$" for config text to be confused with.
  const guid = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\\\z";
  return new TerraformVariable(stack, "deployers", {
    type: "map(string)",
    nullable: false,
    default: listed.length ? Object.fromEntries(listed.map((d) => [d.name, d.objectId])) : undefined,
    description:
      "Who deploys this stack: name => Entra ID object id (people, groups, CI service principals); each gets its own vault access policy",
    validation: [
      {
        condition: `\${length(var.deployers) > 0 && alltrue([for id in values(var.deployers) : can(regex("${guid}", id))]) && length(distinct([for id in values(var.deployers) : lower(id)])) == length(var.deployers)}`,
        errorMessage:
          "deployers: list at least one, each an Entra ID object id (a GUID) under one name only (Key Vault keeps one policy per object id), for example {\"alice\" = \"00000000-0000-0000-0000-000000000000\"}.",
      },
    ],
  });
}

/**
 * Where the stack keeps its state. The local default climbs from cdktf.out/stacks/<stack>/ to the
 * directory that holds cdktf.out, relative, so that state survives re-synth and the JSON carries no
 * path of the synthesizing machine.
 */
function configureBackend(stack: TerraformStack, b: BackendConfig): void {
  if (b.type === "local") new LocalBackend(stack, { path: b.path });
  else if (b.type === "azurerm") {
    new AzurermBackend(stack, {
      resourceGroupName: b.resourceGroupName,
      storageAccountName: b.storageAccountName,
      containerName: b.containerName,
      key: b.key,
      // Entra ID, not the account key: a container role then separates one stack's state from another's.
      useAzureadAuth: b.useAzureadAuth ? true : undefined,
    });
  } else {
    // Partial configuration: `terraform init -backend-config=...` supplies the rest. A backend
    // element (not an override) so that cdktf adds no default local backend beside it.
    new PartialAzurermBackend(stack, b.useAzureadAuth);
  }
}

/** `backend "azurerm" {}` with every setting left to `terraform init -backend-config=...`. */
class PartialAzurermBackend extends TerraformBackend {
  constructor(
    scope: Construct,
    private readonly useAzureadAuth: boolean,
  ) {
    super(scope, "backend", "azurerm");
  }

  protected synthesizeAttributes(): Record<string, unknown> {
    return this.useAzureadAuth ? { use_azuread_auth: true } : {};
  }

  getRemoteStateDataSource(): TerraformRemoteState {
    throw new Error("a partial azurerm backend cannot be read by another stack: its settings are known only at terraform init");
  }
}

/**
 * A team stack's backend in the split layout: the platform's, with the team in the state's name
 * (`acr-gate.tfstate` -> `acr-gate-contoso.tfstate`), so every stack has a state of its own.
 */
export function teamBackend(b: BackendConfig, team: string): BackendConfig {
  const named = (s: string) => (s.endsWith(".tfstate") ? `${s.slice(0, -".tfstate".length)}-${team}.tfstate` : `${s}-${team}`);
  if (b.type === "local") return { ...b, path: named(b.path) };
  // Its own container too, so that a container-scoped data role gives a team its state and nothing
  // else: the platform's container (with an environment, already `<containerName>-<environment>`)
  // plus the team, so one team's states in two environments are in two containers as well.
  if (b.type === "azurerm") return { ...b, containerName: `${b.containerName}-${team.toLowerCase()}`, key: named(b.key) };
  return b;
}
