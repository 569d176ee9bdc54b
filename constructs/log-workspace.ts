import { Construct } from "constructs";
import { LogAnalyticsWorkspace } from "@cdktf/provider-azurerm/lib/log-analytics-workspace";
import { MonitorDiagnosticSetting } from "@cdktf/provider-azurerm/lib/monitor-diagnostic-setting";
import { assertName } from "../lib/rules";
import { pinAddress } from "../lib/address";
import { addressPart } from "../lib/principal";

export interface LogWorkspaceProps {
  /** Workspace name: 4-63 letters, digits and hyphens, unique in its resource group. */
  readonly name: string;
  readonly resourceGroupName: string;
  readonly location: string;
  /**
   * Days logs are kept (30-730). Analytics logs include 31 days in the ingestion price; each
   * further month costs per GB kept (help/audit-logs.md).
   * @default 90
   */
  readonly retentionDays?: number;
  /**
   * A daily ingestion cap in GB; past it, logs are dropped until the next day.
   * @default - no cap (an audit trail with gaps is worth less than its cost)
   */
  readonly dailyQuotaGb?: number;
  /**
   * `lifecycle.prevent_destroy`: the workspace holds the audit trail.
   * @default true
   */
  readonly preventDestroy?: boolean;
  readonly tags?: Record<string, string>;
}

/**
 * Where audit logs go: a Log Analytics workspace that accepts only Entra ID authenticated
 * ingestion and queries (no shared keys), or an existing one by id ({@link LogWorkspace.fromId}).
 * Resources send their logs with their own methods (`registry.sendAuditLogsTo(workspace)`,
 * `vault.sendAuditLogsTo(workspace)`), which go through {@link LogWorkspace.receive}.
 */
export class LogWorkspace extends Construct {
  /** The workspace's resource id (a Terraform reference, or the literal id of an existing one). */
  readonly id: string;
  readonly resource?: LogAnalyticsWorkspace;

  constructor(scope: Construct, id: string, props: LogWorkspaceProps | { readonly existingId: string }) {
    super(scope, id);
    if ("existingId" in props) {
      this.id = props.existingId;
      return;
    }
    assertName("logWorkspace", `${this.node.path}.name`, props.name);
    const retention = props.retentionDays ?? 90;
    if (!Number.isInteger(retention) || retention < 30 || retention > 730) {
      throw new Error(`${this.node.path}.retentionDays: ${retention} must be a whole number from 30 to 730`);
    }
    this.resource = new LogAnalyticsWorkspace(this, "workspace", {
      name: props.name,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      sku: "PerGB2018",
      retentionInDays: retention,
      dailyQuotaGb: props.dailyQuotaGb,
      // Diagnostic settings need no key; readers sign in with Entra ID.
      localAuthenticationEnabled: false,
      tags: props.tags,
      lifecycle: { preventDestroy: props.preventDestroy ?? true },
    });
    pinAddress(this.resource, `log_workspace_${addressPart(props.name)}`);
    this.id = this.resource.id;
  }

  /** A workspace managed elsewhere (another team's, a central one), by resource id. */
  static fromId(scope: Construct, id: string, workspaceId: string): LogWorkspace {
    return new LogWorkspace(scope, id, { existingId: workspaceId });
  }

  /**
   * A diagnostic setting on `target` sending `categories` here, created in `scope` (the stack that
   * owns the target), named `acr-gate-audit`.
   *
   * No `log_analytics_destination_type`: a registry's logs go to ACR's own tables
   * (ContainerRegistryRepositoryEvents, ...) without it, and ACR stores no destination type, so
   * "Dedicated" read back as "" and showed as a change on every plan (the provider's Read writes ""
   * for a null; Azure Verified Modules' registry module dropped it for the same reason). The vault's
   * AuditEvent goes to the AzureDiagnostics table, as help/audit-logs.md queries it.
   */
  receive(scope: Construct, target: { readonly id: string; readonly addressName: string }, categories: readonly string[]): MonitorDiagnosticSetting {
    const setting = new MonitorDiagnosticSetting(scope, "audit-logs", {
      name: "acr-gate-audit",
      targetResourceId: target.id,
      logAnalyticsWorkspaceId: this.id,
      enabledLog: categories.map((category) => ({ category })),
    });
    pinAddress(setting, `audit_logs_${target.addressName}`);
    return setting;
  }
}

/** The log categories each resource sends (help/audit-logs.md). */
export const AUDIT_CATEGORIES = {
  /** Pushes, pulls, deletes (ContainerRegistryRepositoryEvents) and logins (ContainerRegistryLoginEvents). */
  registry: ["ContainerRegistryRepositoryEvents", "ContainerRegistryLoginEvents"],
  /** Every data-plane operation on secrets, keys and certificates, and policy changes. */
  vault: ["AuditEvent"],
} as const;
