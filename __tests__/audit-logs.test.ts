/**
 * Beyond the walkthrough: audit logs (`diagnostics`, off by default, help/audit-logs.md). Every
 * registry sends repository and login events, the vault its audit events, to one Log Analytics
 * workspace: created in a locked group of its own, or an existing one by id.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import { previewReplacements } from "../app/diff-rules";
import { problemsOf, resources, synth, synthStacks } from "./helpers";

const AUDIT_YAML = fs.readFileSync(path.join(__dirname, "..", "examples", "audit-logs.yaml"), "utf8");
const WORKSPACE_ID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/central-logs/providers/Microsoft.OperationalInsights/workspaces/central";

const problems = problemsOf;

describe("off by default", () => {
  test("the walkthrough's config has no workspace and no diagnostic setting", () => {
    const { tf } = synth();
    expect(resources(tf, "azurerm_log_analytics_workspace")).toEqual({});
    expect(resources(tf, "azurerm_monitor_diagnostic_setting")).toEqual({});
  });
});

describe("a workspace of its own, for the audit trail", () => {
  const { tf } = synth(parseConfig(AUDIT_YAML));
  const workspaces = Object.entries(resources(tf, "azurerm_log_analytics_workspace"));

  test("one workspace, named after the vault, in a locked group of its own, never destroyed by Terraform", () => {
    expect(workspaces.map(([a]) => a)).toEqual(["log_workspace_audit_task_creds_audit"]);
    const [, ws] = workspaces[0];
    expect(ws).toMatchObject({
      name: "audit-task-creds-audit",
      resource_group_name: "${azurerm_resource_group.rg_audit_task_creds_audit_rg.name}",
      sku: "PerGB2018",
      retention_in_days: 90,
      local_authentication_enabled: false,
      lifecycle: { prevent_destroy: true },
    });
    expect(ws.daily_quota_gb).toBeUndefined();
    const locks = Object.values(resources(tf, "azurerm_management_lock")).map((l: any) => l.scope);
    expect(locks).toContain("${azurerm_resource_group.rg_audit_task_creds_audit_rg.id}");
  });

  test("every registry sends repository and login events, with no destination type (ACR stores none: a perpetual diff)", () => {
    const settings = resources(tf, "azurerm_monitor_diagnostic_setting");
    const registries = Object.keys(resources(tf, "azurerm_container_registry"));
    for (const r of registries) {
      const s = Object.values(settings).find((x: any) => x.target_resource_id === `\${azurerm_container_registry.${r}.id}`) as any;
      expect(s).toMatchObject({
        name: "acr-gate-audit",
        log_analytics_workspace_id: "${azurerm_log_analytics_workspace.log_workspace_audit_task_creds_audit.id}",
        enabled_log: [{ category: "ContainerRegistryRepositoryEvents" }, { category: "ContainerRegistryLoginEvents" }],
      });
      expect(s).not.toHaveProperty("log_analytics_destination_type");
    }
    expect(Object.keys(settings)).toHaveLength(registries.length + 1);
  });

  test("the vault sends its audit events (every secret read, every policy change)", () => {
    const s = resources(tf, "azurerm_monitor_diagnostic_setting").audit_logs_kv_audit_task_creds;
    expect(s).toMatchObject({ target_resource_id: "${azurerm_key_vault.key_vault_audit_task_creds.id}", enabled_log: [{ category: "AuditEvent" }] });
  });

  test("retention and a daily cap are the config's", () => {
    const t = synth(parseConfig(AUDIT_YAML.replace("retentionDays: 90", "retentionDays: 365\n  dailyQuotaGb: 2"))).tf;
    expect(resources(t, "azurerm_log_analytics_workspace").log_workspace_audit_task_creds_audit).toMatchObject({ retention_in_days: 365, daily_quota_gb: 2 });
  });
});

describe("an existing workspace, by id", () => {
  test("no workspace and no group are created; every setting sends to the id", () => {
    const { tf } = synth(parseConfig(AUDIT_YAML.replace("  # workspaceId:", `  workspaceId: ${WORKSPACE_ID}\n  # was:`)));
    expect(resources(tf, "azurerm_log_analytics_workspace")).toEqual({});
    expect(Object.keys(resources(tf, "azurerm_resource_group"))).not.toContain("rg_audit_task_creds_audit_rg");
    for (const s of Object.values(resources(tf, "azurerm_monitor_diagnostic_setting"))) expect((s as any).log_analytics_workspace_id).toBe(WORKSPACE_ID);
  });

  test("a workspace name beside an id has no effect and is refused; a malformed id is refused", () => {
    expect(problems(AUDIT_YAML.replace("retentionDays: 90", `retentionDays: 90\n  workspaceId: ${WORKSPACE_ID}\n  workspaceName: mine`))).toMatch(
      /diagnostics\.workspaceName: "mine" has no effect with diagnostics\.workspaceId/,
    );
    expect(problems(AUDIT_YAML.replace("retentionDays: 90", "retentionDays: 90\n  workspaceId: /subscriptions/x/workspaces/y"))).toMatch(
      /diagnostics\.workspaceId: "\/subscriptions\/x\/workspaces\/y" is not a valid Log Analytics workspace resource id/,
    );
    expect(problems(AUDIT_YAML.replace("retentionDays: 90", "retentionDays: 90\n  workspaceId: /subscriptions/x/${var.x}"))).toMatch(/diagnostics\.workspaceId: .* must not contain '\$\{'/);
  });

  test("the existing vault's group is not ours: the workspace may not live there", () => {
    const yaml = AUDIT_YAML.replace("keyVault: { name: audit-task-creds }", "keyVault: { name: audit-task-creds, existing: true, resourceGroup: shared-kv-rg }").replace(
      "retentionDays: 90",
      "retentionDays: 90\n  resourceGroup: shared-kv-rg",
    );
    expect(problems(yaml)).toMatch(/diagnostics\.resourceGroup: "shared-kv-rg" is the resource group of the existing key vault/);
  });

  test("an existing vault's diagnostics are its owner's: no setting on it", () => {
    const yaml = AUDIT_YAML.replace("keyVault: { name: audit-task-creds }", "keyVault: { name: audit-task-creds, existing: true, resourceGroup: shared-kv-rg }");
    const { tf } = synth(parseConfig(yaml));
    expect(Object.values(resources(tf, "azurerm_monitor_diagnostic_setting")).map((s: any) => s.target_resource_id)).not.toContainEqual(
      expect.stringContaining("key_vault"),
    );
  });
});

describe("split layout: each stack sends its own registries' logs", () => {
  const stacks = synthStacks(parseConfig(`layout: split\n${AUDIT_YAML}`));
  test("the platform owns the workspace and exports its id; the team's setting is in the team's stack", () => {
    const [platform, team] = stacks;
    expect(platform.tf.output.log_analytics_workspace_id.value).toBe("${azurerm_log_analytics_workspace.log_workspace_audit_task_creds_audit.id}");
    expect(Object.keys(resources(platform.tf, "azurerm_monitor_diagnostic_setting")).sort()).toEqual(["audit_logs_auditbaseartifacts", "audit_logs_kv_audit_task_creds"]);
    expect(resources(team.tf, "azurerm_monitor_diagnostic_setting").audit_logs_auditteam).toMatchObject({
      target_resource_id: "${azurerm_container_registry.registry_auditteam.id}",
      log_analytics_workspace_id: "${data.terraform_remote_state.platform.outputs.log_analytics_workspace_id}",
    });
    expect(resources(team.tf, "azurerm_log_analytics_workspace")).toEqual({});
  });
});

describe("day 2", () => {
  const base = YAML.parse(DEFAULT_CONFIG_YAML);
  const before = synth(parseConfig(YAML.stringify(base))).tf;
  const on = { ...base, diagnostics: { enabled: true } };
  const withLogs = synth(parseConfig(YAML.stringify(on))).tf;

  test("turning audit logs on adds resources and changes nothing that exists", () => {
    const p = previewReplacements(before, withLogs);
    expect(p.unknownTypes).toEqual([]);
    expect(p.changes.filter((c) => c.action !== "create")).toEqual([]);
    // workspace, its group and lock, a setting per registry (3) and the vault
    expect(p.changes.map((c) => c.type).sort()).toEqual([
      "azurerm_log_analytics_workspace",
      "azurerm_management_lock",
      "azurerm_monitor_diagnostic_setting",
      "azurerm_monitor_diagnostic_setting",
      "azurerm_monitor_diagnostic_setting",
      "azurerm_monitor_diagnostic_setting",
      "azurerm_resource_group",
    ]);
  });

  test("a longer retention is an in-place update of the workspace", () => {
    const longer = synth(parseConfig(YAML.stringify({ ...on, diagnostics: { enabled: true, retentionDays: 400 } }))).tf;
    const p = previewReplacements(withLogs, longer);
    expect(p.changes.map((c) => [c.address, c.action])).toEqual([["azurerm_log_analytics_workspace.log_workspace_acr_task_credentials_audit", "update"]]);
  });

  test("turning them off deletes the workspace with its history: npm run diff flags it as durable", () => {
    // Like removing a registry from the config: prevent_destroy leaves with the block.
    // help/audit-logs.md says how to keep the workspace (terraform state rm before the apply).
    const p = previewReplacements(withLogs, before);
    const ws = p.changes.find((c) => c.type === "azurerm_log_analytics_workspace")!;
    expect(ws).toMatchObject({ action: "delete", durable: true });
    expect(ws.reasons[0]).toMatch(/prevent_destroy went with the block/);
    expect(p.changes.filter((c) => c.action !== "delete")).toEqual([]);
  });
});
