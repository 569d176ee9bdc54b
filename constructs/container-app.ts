import { Construct } from "constructs";
import { Fn } from "cdktf";
import { ContainerGroup } from "@cdktf/provider-azurerm/lib/container-group";
import { UserAssignedIdentity } from "@cdktf/provider-azurerm/lib/user-assigned-identity";
import { RoleDefinition } from "@cdktf/provider-azurerm/lib/role-definition";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { assertName } from "../lib/rules";
import { addressPart, IPrincipal } from "../lib/principal";
import type { IRegistry } from "./interfaces";
import type { PullToken } from "./pull-token";
import type { LockableResourceGroup } from "./resource-group";
import { addressOf, pinAddress } from "../lib/address";
import type { SubscriptionReader } from "./subscription-reader";
import { TerraformData } from "../lib/terraform-data";

export interface ContainerAppProps {
  /** Container group name (`$ACI`); also the container's name, as `az container create` names it. */
  readonly name: string;
  /** The app's resource group (`$ACI_RG`). */
  readonly resourceGroup: LockableResourceGroup;
  /** The team registry the app image is pulled from. */
  readonly registry: IRegistry;
  /**
   * How the group authenticates to the registry: a user-assigned identity with `AcrPull` on the
   * registry (nothing expires, nothing secret), or the registry's pull token (repository-scoped,
   * as the walkthrough does; expires with the token password).
   */
  readonly pull: { readonly kind: "identity" } | { readonly kind: "token"; readonly token: PullToken };
  /**
   * What lets a deploying task see its subscription at `az login` (constructs/subscription-reader.ts):
   * {@link grantDeploy} grants it too.
   * @default - none: the deploy then relies on ARM listing the subscription to an identity whose
   * only roles are on this group, which nothing documents
   */
  readonly subscriptionReader?: SubscriptionReader;
  /**
   * `<label>.<region>.azurecontainer.io`, unique in the region across all of Azure.
   * @default `<name>-<6 hex>`, the hex taken from the resource group id (and so from the
   * subscription): deterministic, and different in a second environment of the same config
   */
  readonly dnsLabel?: string;
  /** @default 1 */
  readonly cpu?: number;
  /** @default 1.5 */
  readonly memoryGb?: number;
  /** @default 80 */
  readonly port?: number;
  /**
   * What the group runs until the app's task first deploys the built image. Terraform creates the
   * group before any app image exists, so this is a public placeholder.
   * @default "mcr.microsoft.com/azuredocs/aci-helloworld:latest"
   */
  readonly initialImage?: string;
}

export interface DeployGrant {
  readonly principal: IPrincipal;
  readonly assignments: readonly RoleAssignment[];
}

/**
 * The app's Azure Container Instances group, created by Terraform and rolled out by the app's task.
 *
 * Terraform owns the group's shape (size, port, DNS label, identity, registry credential) and
 * ignores the container image, which the task changes on every build with `az container create`
 * (see {@link deployCommand}, which repeats every setting Terraform makes, so neither side undoes
 * the other). Design and trade-offs: help/coexistence.md.
 */
export class ContainerApp extends Construct {
  readonly groupName: string;
  readonly resourceGroupName: string;
  readonly registry: IRegistry;
  readonly group: ContainerGroup;
  readonly identity?: UserAssignedIdentity;
  /** The registry token the group pulls with, in token mode. */
  readonly pullToken?: PullToken;
  readonly ipAddress: string;
  readonly fqdn: string;
  /** The DNS label: the configured literal, or the default as a Terraform expression. */
  readonly dnsLabel: string;
  /**
   * What `az container create` cannot change in an existing group (CPU, memory, port, pull mode):
   * a change of it replaces the group on purpose (`replace_triggered_by`), where Terraform would
   * otherwise not see it (the container block belongs to the task) and the next deploy would fail.
   */
  readonly shape: TerraformData;
  private readonly grants = new Map<IPrincipal, DeployGrant>();
  private readonly props: ContainerAppProps;
  private deployRole?: RoleDefinition;

  constructor(scope: Construct, id: string, props: ContainerAppProps) {
    super(scope, id);
    assertName("containerGroup", `${this.node.path}.name`, props.name);
    if (props.dnsLabel !== undefined) assertName("dnsLabel", `${this.node.path}.dnsLabel`, props.dnsLabel);
    this.props = props;
    this.groupName = props.name;
    this.resourceGroupName = props.resourceGroup.groupName;
    this.registry = props.registry;
    this.pullToken = props.pull.kind === "token" ? props.pull.token : undefined;
    const base = addressPart(props.name);
    // Unique per resource group id: a second subscription (dev and prod) gets another label.
    this.dnsLabel = props.dnsLabel ?? `${props.name.slice(0, 56).replace(/-+$/, "")}-${hashOf(props.resourceGroup.id, 6)}`;

    let credential;
    let identity;
    if (props.pull.kind === "identity") {
      this.identity = new UserAssignedIdentity(this, "identity", {
        name: `${props.name}-pull`,
        resourceGroupName: props.resourceGroup.name,
        location: props.resourceGroup.location,
      });
      pinAddress(this.identity, `aci_identity_${base}`);
      props.registry.grantPull({ principalId: this.identity.principalId, principalName: `${props.name}-pull` });
      credential = { server: props.registry.loginServerName, userAssignedIdentityId: this.identity.id };
      identity = { type: "UserAssigned", identityIds: [this.identity.id] };
    } else {
      credential = {
        server: props.registry.loginServerName,
        username: props.pull.token.tokenName,
        password: props.pull.token.password,
      };
    }

    this.shape = new TerraformData(this, "shape", {
      cpu: props.cpu ?? 1,
      memory_gb: props.memoryGb ?? 1.5,
      port: props.port ?? 80,
      pull: props.pull.kind,
    });
    pinAddress(this.shape, `aci_shape_${base}`);

    this.group = new ContainerGroup(this, "group", {
      name: props.name,
      resourceGroupName: props.resourceGroup.name,
      location: props.resourceGroup.location,
      osType: "Linux",
      ipAddressType: "Public",
      dnsNameLabel: this.dnsLabel,
      restartPolicy: "Always",
      sku: "Standard",
      exposedPort: [{ port: props.port ?? 80, protocol: "TCP" }],
      identity,
      imageRegistryCredential: [credential],
      container: [
        {
          name: props.name,
          image: props.initialImage ?? "mcr.microsoft.com/azuredocs/aci-helloworld:latest",
          cpu: props.cpu ?? 1,
          memory: props.memoryGb ?? 1.5,
          ports: [{ port: props.port ?? 80, protocol: "TCP" }],
        },
      ],
      lifecycle: {
        // The app's task owns the image; `az container create` also drops tags and may report
        // the DNS reuse policy differently. Each of these is ForceNew: a diff would replace the group.
        // The registry credential is ignored too: a token rotation must not replace a running group;
        // the app's task re-runs on rotation and deploys with the new password (help/operations.md).
        ignoreChanges: ["container", "tags", "dns_name_label_reuse_policy", "image_registry_credential"],
        replaceTriggeredBy: [addressOf(this.shape)],
      },
    });
    pinAddress(this.group, `container_group_${base}`);
    this.ipAddress = this.group.ipAddress;
    this.fqdn = this.group.fqdn;
  }

  /**
   * The `az container create` command a task runs to roll out `image`: every setting Terraform
   * gives the group, so that a deploy changes the image and nothing else.
   * Uses the task values ACI, ACI_RG, ACI_SUBSCRIPTION and, in identity mode, ACI_IDENTITY.
   */
  deployCommand(image: string, secrets?: { user: string; password: string }): string {
    const p = this.props;
    const args = [
      `az container create --subscription {{.Values.ACI_SUBSCRIPTION}} --resource-group {{.Values.ACI_RG}} --name {{.Values.ACI}}`,
      `--location ${p.resourceGroup.locationName} --image ${image} --os-type Linux`,
      `--cpu ${p.cpu ?? 1} --memory ${p.memoryGb ?? 1.5} --restart-policy Always`,
      `--ip-address Public --ports ${p.port ?? 80} --protocol TCP --dns-name-label {{.Values.ACI_DNS_LABEL}}`,
      `--registry-login-server ${this.registry.loginServerName}`,
    ];
    if (p.pull.kind === "identity") {
      args.push(`--assign-identity {{.Values.ACI_IDENTITY}} --acr-identity {{.Values.ACI_IDENTITY}}`);
    } else {
      if (!secrets) throw new Error(`${this.node.path}: token mode needs the registry user and password secrets`);
      args.push(`--registry-username '${secrets.user}' --registry-password '${secrets.password}'`);
    }
    return args.join(" ");
  }

  get identityMode(): boolean {
    return this.identity !== undefined;
  }

  /** Every deploy grant made so far, in the order made. */
  get deployGrants(): DeployGrant[] {
    return [...this.grants.values()];
  }

  /** Task values the deploy command reads. */
  get deployValues(): Record<string, string> {
    const v: Record<string, string> = {
      ACI: this.groupName,
      ACI_RG: this.resourceGroupName,
      ACI_DNS_LABEL: this.dnsLabel,
      // /subscriptions/<id>/resourceGroups/<name>: the task identity may see no subscription at login.
      ACI_SUBSCRIPTION: Fn.element(Fn.split("/", this.props.resourceGroup.id), 2),
    };
    if (this.identity) v.ACI_IDENTITY = this.identity.id;
    return v;
  }

  /**
   * Lets a task roll out new images to this group and nothing else: a custom role with
   * `containerGroups/read` and `/write`, assigned on this one group (the walkthrough grants Owner
   * on the whole resource group). In identity mode, also `Managed Identity Operator` on the
   * group's identity, which `--assign-identity` requires.
   */
  grantDeploy(principal: IPrincipal): DeployGrant {
    const existing = this.grants.get(principal);
    if (existing) return existing;
    const base = addressPart(this.groupName);
    if (!this.deployRole) {
      this.deployRole = new RoleDefinition(this, "deploy-role", {
        // Role names are unique in the whole tenant: the hash of the resource group id keeps a
        // second environment (another subscription) from clashing with the first.
        name: `acr-gate deploy ${this.groupName} (${this.resourceGroupName}) ${hashOf(this.props.resourceGroup.id, 8)}`,
        scope: this.props.resourceGroup.id,
        description: `acr-gate: roll out new images to container group ${this.groupName}`,
        permissions: [
          {
            actions: [
              "Microsoft.ContainerInstance/containerGroups/read",
              "Microsoft.ContainerInstance/containerGroups/write",
            ],
          },
        ],
        assignableScopes: [this.props.resourceGroup.id],
      });
      pinAddress(this.deployRole, `deploy_role_${base}`);
    }
    const who = addressPart(principal.principalName);
    const assignments = [
      new RoleAssignment(this, `deploy-${who}`, {
        scope: this.group.id,
        roleDefinitionId: this.deployRole.roleDefinitionResourceId,
        principalId: principal.principalId,
        principalType: "ServicePrincipal",
        description: `acr-gate: ${principal.principalName} deploys ${this.groupName}`,
      }),
    ];
    pinAddress(assignments[0], `deploy_${base}_${who}`);
    if (this.identity) {
      assignments.push(
        new RoleAssignment(this, `assign-identity-${who}`, {
          scope: this.identity.id,
          roleDefinitionName: "Managed Identity Operator",
          principalId: principal.principalId,
          principalType: "ServicePrincipal",
          description: `acr-gate: ${principal.principalName} attaches ${this.identity.name} to ${this.groupName}`,
        }),
      );
      pinAddress(assignments[1], `identity_operator_${base}_${who}`);
    }
    if (this.props.subscriptionReader) assignments.push(this.props.subscriptionReader.grant(principal));
    const grant = { principal, assignments };
    this.grants.set(principal, grant);
    return grant;
  }
}

/** The first `length` hex digits of the SHA-1 of a Terraform value: stable, and known once it exists. */
function hashOf(value: string, length: number): string {
  return Fn.substr(Fn.sha1(value), 0, length);
}
