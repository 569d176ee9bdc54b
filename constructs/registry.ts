import { Construct } from "constructs";
import { Fn } from "cdktf";
import { ContainerRegistry } from "@cdktf/provider-azurerm/lib/container-registry";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { assertName } from "../lib/rules";
import { addressPart, IPrincipal } from "../lib/principal";
import { PullToken, PullTokenOptions } from "./pull-token";
import { pinAddress } from "../lib/address";
import type { MonitorDiagnosticSetting } from "@cdktf/provider-azurerm/lib/monitor-diagnostic-setting";
import { AUDIT_CATEGORIES, LogWorkspace } from "./log-workspace";
import { CacheRule, CredentialSet } from "./artifact-cache";
import type { IRegistry, IVault, PullGrant, RegistryAttributes, StoredSecret } from "./interfaces";
import type { KeyVaultAccessPolicyA } from "@cdktf/provider-azurerm/lib/key-vault-access-policy";
import type { CachedRepository } from "../lib/artifact-cache";
import { acrLoginServer } from "../lib/upstream-hosts";
import { setNetworkRuleBypassForTasks, setRegistryRoleAssignmentMode, setReplicaRouting } from "../lib/provider-ahead";
import { AzurermVersion, DEFAULT_AZURERM_VERSION } from "../lib/provider-versions";

export interface RegistryProps {
  /** Globally unique registry name: 5-50 letters and digits. */
  readonly name: string;
  readonly resourceGroupName: string;
  readonly location: string;
  /**
   * Zone redundancy (Premium), as Azure now enables by default in regions with availability
   * zones. Changing it later replaces the registry, so choose at creation; set false in a
   * region without zones.
   * @default true
   */
  readonly zoneRedundancy?: boolean;
  /**
   * Dedicated data endpoints (`<name>.<region>.data.azurecr.io`) instead of the shared blob
   * endpoint, so that a client firewall can allow exactly this registry's layers.
   * @default true
   */
  readonly dedicatedDataEndpoints?: boolean;
  /**
   * Locations the registry is geo-replicated to (Premium), zone redundant like the registry, each
   * serving the pulls the global endpoint routes to it. Must not include the registry's own location.
   * @default [] - no replicas (each costs a Premium registry)
   */
  readonly replicaLocations?: readonly string[];
  /**
   * Days before untagged manifests are purged. Tagged images (including every promoted
   * `<tag>-<run id>` rollback tag) are never touched by this policy.
   * @default 7
   */
  readonly untaggedRetentionDays?: number;
  /**
   * Terraform refuses to plan the registry's destruction.
   * @default true
   */
  readonly preventDestroy?: boolean;
  /** @default {} */
  readonly tags?: Record<string, string>;
  /**
   * The azurerm version the stack pins: 5.x writes a geo-replica's routing differently
   * (lib/provider-ahead.ts).
   * @default "4.81.0"
   */
  readonly azurermVersion?: AzurermVersion;
  /**
   * Network access, every setting stated (help/security.md, "Private registries"). Unset: public
   * network access on and none of the network rule attributes written, as in the walkthrough.
   * @default undefined
   */
  readonly network?: RegistryNetworkProps;
}

/** A registry's network settings; see {@link RegistryProps.network}. */
export interface RegistryNetworkProps {
  /** `public_network_access_enabled`. */
  readonly publicAccess: boolean;
  /** IPv4 addresses or CIDR ranges allowed on the public endpoint; any makes the default action Deny. */
  readonly allowIps: readonly string[];
  /** `network_rule_bypass_option`: `AzureServices` (true) or `None`. */
  readonly trustedServices: boolean;
  /**
   * `network_rule_bypass_for_tasks_enabled`: tasks' system identities pass the network rules.
   * A restricted registry that tasks use needs it, and the trusted-services bypass with it.
   */
  readonly tasksBypass: boolean;
}

/**
 * The `AcrPull` grants on one registry, one per principal, each a resource of `scope` at the address
 * the single stack gives it: what a registry this stack makes and one it imports share.
 */
class PullGrants {
  private readonly byPrincipal = new Map<IPrincipal, PullGrant>();

  constructor(
    private readonly scope: Construct,
    private readonly registryName: string,
    private readonly registryId: string,
  ) {}

  grant(principal: IPrincipal): RoleAssignment {
    const existing = this.byPrincipal.get(principal);
    if (existing) return existing.assignment;
    const assignment = new RoleAssignment(this.scope, `pull-${addressPart(principal.principalName)}`, {
      scope: this.registryId,
      roleDefinitionName: "AcrPull",
      principalId: principal.principalId,
      principalType: "ServicePrincipal",
      description: `acr-gate: ${principal.principalName} pulls from ${this.registryName}`,
    });
    pinAddress(assignment, `acr_pull_${addressPart(this.registryName)}_${addressPart(principal.principalName)}`);
    this.byPrincipal.set(principal, { principal, assignment });
    return assignment;
  }

  has(principal: IPrincipal): boolean {
    return this.byPrincipal.has(principal);
  }

  /** In the order made. */
  get all(): PullGrant[] {
    return [...this.byPrincipal.values()];
  }
}

/**
 * A Premium container registry with secure defaults (`az acr create --sku Premium`).
 *
 * Defaults stated here, not left to Azure: admin user off, anonymous pull off, role assignment mode
 * `LegacyRegistryPermissions` (AcrPull honoured; no ABAC repository permissions), untagged manifests
 * purged after 7 days, zone redundant, dedicated data endpoints, export allowed (tasks retag and
 * push), public network access on (ACR Tasks agents and the walkthrough's ACI reach it over the
 * public endpoint) unless `network` restricts it (help/security.md, "Private registries").
 * Its Terraform address is `azurerm_container_registry.registry_<name>`, independent of the
 * construct path.
 */
export class Registry extends Construct implements IRegistry {
  readonly name: string;
  readonly id: string;
  /** `<name>.azurecr.io`, as a Terraform reference. */
  readonly loginServer: string;
  readonly resourceGroupName: string;
  readonly resource: ContainerRegistry;
  private readonly pulls: PullGrants;
  private readonly azureName: string;
  private auditLogs?: MonitorDiagnosticSetting;
  /** Each credential set with the vault policy that lets it read its login. */
  private readonly credentialSets = new Map<CredentialSet, KeyVaultAccessPolicyA>();
  private readonly cacheRules = new Map<string, CacheRule>();

  constructor(scope: Construct, id: string, props: RegistryProps) {
    super(scope, id);
    assertName("registry", `${this.node.path}.name`, props.name);
    for (const loc of props.replicaLocations ?? []) {
      if (loc === props.location) {
        throw new Error(`${this.node.path}.replicaLocations: ${JSON.stringify(loc)} is the registry's own location`);
      }
    }
    const retention = props.untaggedRetentionDays ?? 7;
    if (!Number.isInteger(retention) || retention < 1 || retention > 365) {
      throw new Error(`${this.node.path}.untaggedRetentionDays: ${retention} must be a whole number from 1 to 365`);
    }
    const network = props.network;
    if (network) {
      network.allowIps.forEach((ip, i) => assertName("ipv4Range", `${this.node.path}.network.allowIps[${i}]`, ip));
      if (!network.publicAccess && network.allowIps.length > 0) {
        throw new Error(`${this.node.path}.network.allowIps: IP rules have no effect with public access disabled`);
      }
      if (network.tasksBypass && !network.trustedServices) {
        throw new Error(`${this.node.path}.network: the tasks' bypass needs trustedServices (network_rule_bypass_option AzureServices)`);
      }
    }
    this.azureName = props.name;
    this.resource = new ContainerRegistry(this, "registry", {
      name: props.name,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      sku: "Premium",
      adminEnabled: false,
      anonymousPullEnabled: false,
      dataEndpointEnabled: props.dedicatedDataEndpoints ?? true,
      exportPolicyEnabled: true,
      publicNetworkAccessEnabled: network?.publicAccess ?? true,
      // Stated whenever network is, so that opening a registry again is a change Terraform makes:
      // the provider keeps the last rule set when the attribute goes (it is optional and computed).
      ...(network
        ? {
            networkRuleSet: [
              {
                defaultAction: network.allowIps.length > 0 || !network.publicAccess ? "Deny" : "Allow",
                ipRule: network.allowIps.map((ipRange) => ({ action: "Allow", ipRange })),
              },
            ],
            networkRuleBypassOption: network.trustedServices ? "AzureServices" : "None",
          }
        : {}),
      quarantinePolicyEnabled: false,
      retentionPolicyInDays: retention,
      zoneRedundancyEnabled: props.zoneRedundancy ?? true,
      // The provider expects replicas in alphabetical order of location.
      georeplications: props.replicaLocations?.length
        ? [...props.replicaLocations].sort().map((location) => ({
            location,
            zoneRedundancyEnabled: props.zoneRedundancy ?? true,
            // Routed to by the global endpoint (Azure's own default); azurerm 4.x sends false when
            // unset, which leaves a replica that serves no pull (help/versions.md).
            regionalEndpointEnabled: true,
            tags: props.tags,
          }))
        : undefined,
      tags: props.tags,
      lifecycle: { preventDestroy: props.preventDestroy ?? true },
    });
    // Azure's default today, stated: AcrPull and the tasks' access to their own registry depend on it.
    setRegistryRoleAssignmentMode(this.resource, "LegacyRegistryPermissions");
    setReplicaRouting(this.resource, props.replicaLocations?.length ?? 0, props.azurermVersion ?? DEFAULT_AZURERM_VERSION, true);
    if (network) setNetworkRuleBypassForTasks(this.resource, network.tasksBypass);
    pinAddress(this.resource, `registry_${addressPart(props.name)}`);
    this.name = this.resource.name;
    this.id = this.resource.id;
    this.pulls = new PullGrants(this, props.name, this.id);
    this.loginServer = this.resource.loginServer;
    this.resourceGroupName = props.resourceGroupName;
  }

  /** The login server as a literal, for task values and YAML that must not wait for apply. */
  get loginServerName(): string {
    return acrLoginServer(this.azureName);
  }

  /** The Azure name as a literal (for messages, secret names and diagrams). */
  get registryName(): string {
    return this.azureName;
  }

  /**
   * A repository-scoped, pull-only token with an expiring password
   * (`az acr token create --repository <repo> content/read`, or `--scope-map _repositories_pull`).
   */
  createPullToken(id: string, options: PullTokenOptions): PullToken {
    return new PullToken(this, id, { ...options, registry: this });
  }

  /**
   * Grants `AcrPull` on this registry, and nothing wider, to a managed identity.
   */
  grantPull(principal: IPrincipal): RoleAssignment {
    return this.pulls.grant(principal);
  }

  /**
   * A registry another stack makes, seen from this one: the grants made on it (`AcrPull` for this
   * stack's identities) are resources of this stack, so the stack that owns an identity owns its
   * grants and no stack changes another's (help/split.md).
   */
  static fromAttributes(scope: Construct, id: string, attrs: RegistryAttributes): ImportedRegistry {
    return new ImportedRegistry(scope, id, attrs);
  }

  canPull(principal: IPrincipal): boolean {
    return this.pulls.has(principal);
  }

  /**
   * An upstream login for the registry's artifact cache (`az acr credential-set create`), whose
   * identity alone reads the login from `vault` (a `Get` policy, made here): no task holds it.
   */
  createCredentialSet(id: string, options: { name: string; loginServer: string; vault: IVault; user: StoredSecret; password: StoredSecret }): CredentialSet {
    const set = new CredentialSet(this, id, {
      registryId: this.id,
      registryName: this.azureName,
      name: options.name,
      loginServer: options.loginServer,
      user: options.user,
      password: options.password,
    });
    this.credentialSets.set(set, options.vault.grantSecretRead(set));
    return set;
  }

  /**
   * Caches a repository of an upstream (`az acr cache create`): pulls of
   * `<login server>/<namespace>/<repo>` (`dockerhub/node`, `mcr/dotnet/runtime`: lib/artifact-cache.ts)
   * are served from the registry, fetched from upstream the first time, through `credentialSet`
   * where the upstream takes a login, anonymously without one. One rule per repository (all its
   * tags); asking twice returns the same rule.
   */
  cacheRepository(repository: CachedRepository, credentialSet?: CredentialSet): CacheRule {
    const existing = this.cacheRules.get(repository.ruleName);
    if (existing) return existing;
    const readsLogin = credentialSet ? this.credentialSets.get(credentialSet) : undefined;
    if (credentialSet && !readsLogin) throw new Error(`${this.node.path}: ${credentialSet.node.path} is not a credential set of this registry`);
    const rule = new CacheRule(this, `cache-${repository.ruleName}`, {
      registryId: this.id,
      registryName: this.azureName,
      repository,
      credentialSet,
      after: readsLogin ? [readsLogin] : [],
    });
    this.cacheRules.set(repository.ruleName, rule);
    return rule;
  }

  /** The cache rules made so far. */
  get cachedRepositories(): CacheRule[] {
    return [...this.cacheRules.values()];
  }

  /**
   * Sends who pushed, pulled or deleted what (repository events) and who logged in (login events)
   * to `workspace`, in ACR's resource-specific tables. One setting per registry.
   */
  sendAuditLogsTo(workspace: LogWorkspace): MonitorDiagnosticSetting {
    if (this.auditLogs) return this.auditLogs;
    this.auditLogs = workspace.receive(this, { id: this.id, addressName: addressPart(this.azureName) }, AUDIT_CATEGORIES.registry);
    return this.auditLogs;
  }

  /** Every `AcrPull` grant made so far, in the order made. */
  get pullGrants(): PullGrant[] {
    return this.pulls.all;
  }
}

/** A registry of another stack: see {@link Registry.fromAttributes}. */
export class ImportedRegistry extends Construct implements IRegistry {
  readonly registryName: string;
  readonly loginServerName: string;
  readonly id: string;
  readonly name: string;
  readonly resourceGroupName: string;
  private readonly pulls: PullGrants;

  constructor(scope: Construct, id: string, attrs: RegistryAttributes) {
    super(scope, id);
    assertName("registry", `${this.node.path}.name`, attrs.name);
    this.registryName = attrs.name;
    this.name = attrs.name;
    this.loginServerName = acrLoginServer(attrs.name);
    this.id = attrs.id;
    // /subscriptions/<s>/resourceGroups/<group>/providers/...: Terraform reads it from the id.
    this.resourceGroupName = Fn.element(Fn.split("/", attrs.id), 4);
    this.pulls = new PullGrants(this, attrs.name, attrs.id);
  }

  grantPull(principal: IPrincipal): RoleAssignment {
    return this.pulls.grant(principal);
  }

  canPull(principal: IPrincipal): boolean {
    return this.pulls.has(principal);
  }

  get pullGrants(): PullGrant[] {
    return this.pulls.all;
  }
}
