/** `diagnostics`: audit logs to Log Analytics, in a workspace of our own (a durable group) or an existing one by id. */
import { z } from "zod";
import { bool, int, named, strict } from "./fields";
import { Check, fail, rec, str, valid } from "./cross-field";
import { ResourceGroups } from "./resource-groups";

export const diagnosticsSchema = strict(
  {
    enabled: bool(false, "Send every registry's repository and login events and the vault's audit events to Log Analytics (help/audit-logs.md)"),
    workspaceId: named("logWorkspaceId", "An existing workspace to send them to, by resource id (default: acr-gate creates one)").optional(),
    workspaceName: named("logWorkspace", "Name of the workspace acr-gate creates (default `<keyVault.name>-audit`)").optional(),
    resourceGroup: named("resourceGroup", "Its resource group (default `<workspaceName>-rg`), locked when protection.locks").optional(),
    retentionDays: int(30, 730, 90, "Days the created workspace keeps logs (31 are in the ingestion price)"),
    dailyQuotaGb: int(0, 10000, 0, "Daily ingestion cap of the created workspace in GB, 0 for none (past the cap, logs are dropped until the next day)"),
  },
  "Audit logs (off by default)",
).prefault({});

/** The workspace acr-gate creates: its own name, or `<keyVault.name>-audit`. */
export const workspaceName = (c: Record<string, unknown>) => {
  const d = rec(c.diagnostics);
  const kv = rec(c.keyVault);
  return str(d.workspaceName) ?? (valid("keyVault", kv.name) ? `${kv.name}-audit` : undefined);
};

export const workspaceGroup = (c: Record<string, unknown>) => {
  const d = rec(c.diagnostics);
  const name = workspaceName(c);
  return str(d.resourceGroup) ?? (name ? `${name}-rg` : undefined);
};

/** Whether acr-gate creates the workspace (and so its group, a durable one). */
export const workspaceCreated = (c: Record<string, unknown>) => rec(c.diagnostics).enabled === true && rec(c.diagnostics).workspaceId === undefined;

export function diagnosticsRules({ ctx, c }: Check, groups: ResourceGroups): void {
  const diag = rec(c.diagnostics);
  if (diag.workspaceId !== undefined) {
    for (const k of ["workspaceName", "resourceGroup"] as const) {
      if (diag[k] !== undefined) fail(ctx, ["diagnostics", k], diag[k], "has no effect with diagnostics.workspaceId: acr-gate creates no workspace then; remove one of them");
    }
  } else if (diag.enabled === true) {
    groups.claim(["diagnostics"], diag.resourceGroup === undefined ? ["diagnostics", diag.workspaceName === undefined ? "enabled" : "workspaceName"] : ["diagnostics", "resourceGroup"], workspaceGroup(c), true);
  }
}

export function resolveDiagnostics(d: z.output<typeof diagnosticsSchema>, file: Record<string, unknown>) {
  return {
    enabled: d.enabled,
    /** null: acr-gate creates the workspace below. */
    workspaceId: d.workspaceId ?? null,
    workspaceName: workspaceName(file)!,
    resourceGroup: workspaceGroup(file)!,
    retentionDays: d.retentionDays,
    dailyQuotaGb: d.dailyQuotaGb === 0 ? null : d.dailyQuotaGb,
  };
}
