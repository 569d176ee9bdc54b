/**
 * Split teams' task identities (help/split.md, "Team identities"): nothing a team stack creates needs
 * a right outside the team's own resource groups, beyond reading what it consumes; the platform
 * makes each team's identity and grants it exactly what the team's tasks use outside; the tasks run
 * as it (credentials, Key Vault references, az login).
 *
 * Every split config: examples/split.yaml, and every other example (and the default config) with
 * `layout: split` where the config allows it, so that identity pulls, signing, audit logs, the
 * artifact cache and an azurerm backend are covered too.
 */
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { ConfigError, DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import type { AcrGateConfig } from "../lib/config/schema";
import { teamIdentityOutputs } from "../constructs/platform-stack";
import { synthStacks } from "./helpers";
import { addressPart } from "../lib/principal";

const examples = path.join(__dirname, "..", "examples");
const sources: [string, string][] = [
  ["default", DEFAULT_CONFIG_YAML],
  ...fs
    .readdirSync(examples)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => [f, fs.readFileSync(path.join(examples, f), "utf8")] as [string, string]),
];
/** The config as written when it is split, else with `layout: split` in front (when the config allows it). */
function splitOf(name: string, text: string): AcrGateConfig | undefined {
  try {
    const c = parseConfig(text, name);
    if (c.layout === "split") return c;
    return parseConfig(`layout: split\n${text.replace(/^layout: single\n/m, "")}`, name);
  } catch (e) {
    if (e instanceof ConfigError) return undefined; // e.g. a partial backend: refused with split
    throw e;
  }
}
const configs = sources.flatMap(([name, text]) => {
  const c = splitOf(name, text);
  return c ? [{ name, config: c }] : [];
});

type Body = Record<string, any>;
const ref = (v: unknown): string | undefined => (typeof v === "string" ? /^\$\{([a-z_]+\.[\w-]+)(?:\.[\w.\[\]]+)?\}$/.exec(v)?.[1] : undefined);
const remote = (v: unknown): string | undefined =>
  typeof v === "string" ? /^\$\{data\.terraform_remote_state\.platform\.outputs\.(\w+)\}$/.exec(v)?.[1] : undefined;
/** Resources that live only in the state, with no Azure scope. */
const STATE_ONLY = new Set(["terraform_data", "time_sleep", "time_static"]);
/** The attributes that place a resource in Azure, most specific first. */
const PLACED_BY = ["scope", "target_resource_id", "key_vault_id", "container_registry_id", "container_registry_task_id", "container_registry_token_id", "resource_group_name"];

/**
 * Where each resource of a stack is written: `group:<name>` (a resource group, by name), `state`
 * (no Azure object), or `outside:<what>` (the subscription, or a platform output: its vault, its
 * registry). Followed through the stack's own references to the group that holds the object.
 */
function scopes(tf: any): Map<string, string> {
  const bodies = new Map<string, Body>();
  for (const [type, rs] of Object.entries<Record<string, Body>>(tf.resource ?? {})) for (const [n, b] of Object.entries(rs)) bodies.set(`${type}.${n}`, b);
  const out = new Map<string, string>();
  const scopeOf = (address: string): string => {
    const known = out.get(address);
    if (known) return known;
    const [type] = address.split(".");
    const b = bodies.get(address)!;
    let s: string;
    if (STATE_ONLY.has(type)) s = "state";
    else if (type === "azurerm_resource_group") s = `group:${b.name}`;
    else {
      const attr = PLACED_BY.find((a) => b[a] !== undefined);
      const v = attr === undefined ? undefined : b[attr];
      const own = ref(v);
      if (attr === undefined) throw new Error(`${address}: no attribute places it`);
      else if (own && bodies.has(own)) s = scopeOf(own);
      else if (typeof v === "string" && /^\$\{data\.azurerm_resource_group\.[\w-]+\.id\}$/.test(v)) s = `group:${tf.data.azurerm_resource_group[v.split(".")[2]].name}`;
      else if (remote(v)) s = `outside:${remote(v)}`;
      else if (typeof v === "string" && /^\/subscriptions\/\$\{[^}]+\}$/.test(v)) s = "outside:subscription";
      else if (typeof v === "string" && !v.includes("${")) s = attr === "resource_group_name" ? `group:${v}` : `outside:${v}`;
      else throw new Error(`${address}: ${attr} = ${JSON.stringify(v)} is placed nowhere this test knows`);
    }
    out.set(address, s);
    return s;
  };
  for (const a of bodies.keys()) scopeOf(a);
  return out;
}

/** The team's own resource groups, from the config: its registry's and its apps' container groups'. */
function teamGroups(config: AcrGateConfig, team: string): Set<string> {
  const t = config.teamRegistries.find((r) => r.name === team)!;
  return new Set([t.resourceGroup, ...config.apps.filter((a) => a.registry === team).map((a) => a.aci.resourceGroup)]);
}

const decode = (task: Body) => YAML.parse(Buffer.from(task.encoded_step.task_content, "base64").toString("utf8"));

test("the configs: split.yaml and split variants of the others (at least five)", () => {
  expect(configs.map((c) => c.name)).toContain("split.yaml");
  expect(configs.length).toBeGreaterThanOrEqual(5);
});

describe.each(configs)("$name, split", ({ config }) => {
  const stacks = synthStacks(config);
  const platform = stacks[0].tf;
  const teams = config.teamRegistries.map((t) => t.name);
  const teamTf = (team: string) => stacks.find((s) => s.name === `${config.stackName}-${team}`)!.tf;

  test.each(teams)("team %s writes nothing outside its own resource groups: its token's two secrets are in its own vault", (team) => {
    const groups = teamGroups(config, team);
    const tf = teamTf(team);
    const listing = [...scopes(tf)].map(([address, scope]) => `${address} -> ${scope}`);
    const outside = [...scopes(tf)].filter(([, scope]) => scope !== "state" && !(scope.startsWith("group:") && groups.has(scope.slice("group:".length))));
    // No exception left (help/split.md): the team's token's login is in the team's own vault, in its
    // registry's group, where the team's deployers and task identity have their policies.
    expect({ team, outside }).toEqual({ team, outside: [] });
    // The listing is not vacuous: the registry (and its lock, its scope map, the tasks, the grants
    // inside) are placed in the team's groups; a team without apps has its registry and token at least.
    expect(listing.filter((l) => l.includes("-> group:")).length).toBeGreaterThanOrEqual(2);
    expect(listing.some((l) => /^azurerm_container_registry\.[\w-]+ -> group:/.test(l))).toBe(true);
    // A vault of its own exactly when it stores its token's secrets; every secret and policy on it.
    const vaults = Object.keys(tf.resource.azurerm_key_vault ?? {});
    const secrets = Object.values<Body>(tf.resource.azurerm_key_vault_secret ?? {});
    expect(secrets.map((x) => x.name).sort()).toEqual(vaults.length ? [`registry-${team}-password`, `registry-${team}-user`] : []);
    expect(vaults.length).toBeLessThanOrEqual(1);
    for (const b of [...secrets, ...Object.values<Body>(tf.resource.azurerm_key_vault_access_policy ?? {})]) expect(b.key_vault_id).toBe(`\${azurerm_key_vault.${vaults[0]}.id}`);
    if (vaults.length) {
      const kv = tf.resource.azurerm_key_vault[vaults[0]];
      const platformKv = Object.values<Body>(platform.resource.azurerm_key_vault)[0];
      // The platform vault's settings, in access-policy mode.
      for (const k of ["sku_name", "enable_rbac_authorization", "rbac_authorization_enabled", "purge_protection_enabled", "soft_delete_retention_days", "network_acls", "public_network_access_enabled", "lifecycle"]) expect(kv[k]).toEqual(platformKv[k]);
      expect(kv.rbac_authorization_enabled).toBe(false);
      expect(kv.name).toBe(config.teamRegistries.find((t) => t.name === team)!.keyVault?.name ?? `${team}-kv`);
    }
  });

  test.each(teams)("the platform grants team %s's identity exactly what its tasks use outside the team", (team) => {
    const tf = teamTf(team);
    const tasks = Object.values<Body>(tf.resource.azurerm_container_registry_task ?? {});
    const identity = `\${azurerm_user_assigned_identity.team_identity_${team}.principal_id}`;
    const uai = platform.resource.azurerm_user_assigned_identity?.[`team_identity_${team}`];
    if (tasks.length === 0) {
      // No app, no task: no identity, nothing granted.
      expect(uai).toBeUndefined();
      expect(JSON.stringify(platform)).not.toContain(`team_identity_${team}`);
      return;
    }
    // Where the platform keeps it: the team registry's group, which the platform makes for the team
    // (attaching the identity is then a right inside the team's own group).
    const home = /^\$\{(azurerm_resource_group\.[\w-]+)\.name\}$/.exec(uai.resource_group_name)?.[1];
    expect(home).toBeDefined();
    const group = platform.resource.azurerm_resource_group[home!.split(".")[1]].name;
    expect(group).toBe(config.teamRegistries.find((t) => t.name === team)!.resourceGroup);
    expect(teamGroups(config, team).has(group)).toBe(true);
    // What the tasks use, read from the team's JSON: secrets (credentials, the task file), identity pulls of base artifacts.
    const base = `${config.baseArtifactsRegistry.name}.azurecr.io`;
    const credentials = tasks.flatMap((t) => t.registry_credential?.custom ?? []);
    // The platform's vault holds the base token, read through credentials; the task file's secrets
    // (the team's token) are in the team's own vault, where the team grants its identity.
    const readsSecrets = credentials.some((c: Body) => c.username !== undefined);
    const readsOwn = tasks.some((t) => (decode(t).secrets ?? []).length > 0);
    const own = Object.values<Body>(tf.resource.azurerm_key_vault_access_policy ?? {}).filter((p) => p.object_id === `\${data.terraform_remote_state.platform.outputs.${teamIdentityOutputs(team).principalId}}`);
    expect(own.map((p) => [p.secret_permissions, p.key_permissions, p.certificate_permissions])).toEqual(readsOwn ? [[["Get"], undefined, undefined]] : []);
    for (const t of tasks) {
      if ((decode(t).secrets ?? []).length) expect(t.encoded_step.values.KEYVAULT).toBe(tf.resource.azurerm_key_vault[Object.keys(tf.resource.azurerm_key_vault)[0]].name);
      for (const s of decode(t).secrets ?? []) expect(s.keyvault).toMatch(/^https:\/\/\{\{\.Values\.KEYVAULT\}\}\.vault\.azure\.net\/secrets\/registry-\{\{\.Run\.RegistryName\}\}-(user|password)$/);
    }
    const pullsBase = credentials.some((c: Body) => c.login_server === base && c.username === undefined);
    const policies = Object.values<Body>(platform.resource.azurerm_key_vault_access_policy ?? {}).filter((p) => p.object_id === identity);
    const assignments = Object.values<Body>(platform.resource.azurerm_role_assignment ?? {}).filter((a) => a.principal_id === identity);
    expect(policies.map((p) => [p.secret_permissions, p.key_permissions, p.certificate_permissions])).toEqual(readsSecrets ? [[["Get"], undefined, undefined]] : []);
    const reader = platform.resource.azurerm_role_definition[`subscription_reader_role_${team}`];
    expect(reader.permissions).toEqual([{ actions: ["Microsoft.Resources/subscriptions/read"] }]);
    expect(
      assignments.map((a) => (a.role_definition_name === "AcrPull" ? `AcrPull ${a.scope}` : a.role_definition_id === `\${azurerm_role_definition.subscription_reader_role_${team}.role_definition_resource_id}` ? `reader ${a.scope}` : `other ${a.scope}`)).sort(),
    ).toEqual(
      [
        ...(pullsBase ? [`AcrPull \${azurerm_container_registry.registry_${config.baseArtifactsRegistry.name}.id}`] : []),
        `reader /subscriptions/\${data.azurerm_client_config.current.subscription_id}`,
      ].sort(),
    );
    // The outputs the team reads it by.
    const names = teamIdentityOutputs(team);
    expect(platform.output[names.id].value).toBe(`\${azurerm_user_assigned_identity.team_identity_${team}.id}`);
    expect(platform.output[names.clientId].value).toBe(`\${azurerm_user_assigned_identity.team_identity_${team}.client_id}`);
    expect(platform.output[names.principalId].value).toBe(identity);
  });

  test.each(teams)("team %s's resource groups are made by the platform, read by the team by name, locked by the team", (team) => {
    const tf = teamTf(team);
    const groups = [...teamGroups(config, team)].sort();
    const made = (json: any) => Object.values<Body>(json.resource.azurerm_resource_group ?? {}).map((g) => g.name);
    // The platform makes them, with no lock of its own on them; the team makes none.
    expect(made(platform).filter((g: string) => groups.includes(g)).sort()).toEqual(groups);
    expect(made(tf)).toEqual([]);
    const platformLocks = Object.values<Body>(platform.resource.azurerm_management_lock ?? {}).map((l) => l.scope);
    for (const g of groups) expect(platformLocks).not.toContain(`\${azurerm_resource_group.rg_${addressPart(g)}.id}`);
    // The team reads each by name and forgets the group its earlier versions made (never destroys it).
    expect(Object.values<Body>(tf.data.azurerm_resource_group).map((g) => g.name).sort()).toEqual(groups);
    expect(tf.removed.map((r: Body) => [r.from, r.lifecycle])).toEqual(Object.keys(tf.data.azurerm_resource_group).map((n) => [`azurerm_resource_group.${n}`, { destroy: false }]));
    // The registry's group keeps its lock in the team's state, when the config locks (lib/lock-cover.ts orders it).
    const registryGroup = config.teamRegistries.find((t) => t.name === team)!.resourceGroup;
    const locks = Object.values<Body>(tf.resource.azurerm_management_lock ?? {});
    const locked = config.protection.locks && !config.protection.liftLocks.map((g) => g.toLowerCase()).includes(registryGroup.toLowerCase());
    expect(locks.map((l) => tf.data.azurerm_resource_group[/^\$\{data\.azurerm_resource_group\.([\w-]+)\.id\}$/.exec(l.scope)![1]].name)).toEqual(locked ? [registryGroup] : []);
    if (locked) expect(locks[0].depends_on).toContain(`azurerm_container_registry.registry_${team}`);
  });

  test.each(teams)("team %s's tasks run as the platform's identity: credentials, Key Vault references, az login, deploy grants", (team) => {
    const tf = teamTf(team);
    const names = teamIdentityOutputs(team);
    const out = (n: string) => `\${data.terraform_remote_state.platform.outputs.${n}}`;
    for (const t of Object.values<Body>(tf.resource.azurerm_container_registry_task ?? {})) {
      expect(t.identity).toEqual({ type: "UserAssigned", identity_ids: [out(names.id)] });
      for (const c of t.registry_credential?.custom ?? []) expect(c.identity).toBe(out(names.clientId));
      expect(t.encoded_step.values.TASK_IDENTITY).toBe(out(names.clientId));
      const file = decode(t);
      for (const s of file.secrets ?? []) expect(s.clientID).toBe("{{.Values.TASK_IDENTITY}}");
      const login = file.steps.find((s: Body) => s.id === "az-login");
      expect(login.cmd).toBe("az login --identity --username {{.Values.TASK_IDENTITY}} --allow-no-subscriptions --output none");
    }
    // Inside the team: its deploy roles, to the identity's object id read from the platform.
    for (const a of Object.values<Body>(tf.resource.azurerm_role_assignment ?? {})) {
      if (a.role_definition_name === "AcrPull") continue; // a container group's own pull identity
      expect(a.principal_id).toBe(out(names.principalId));
    }
  });
});

test("the single layout keeps the tasks' system identities (and their grants) as they were", () => {
  const [single] = synthStacks(parseConfig(fs.readFileSync(path.join(examples, "split.yaml"), "utf8").replace("layout: split", "layout: single")));
  const tasks = Object.values<Body>(single.tf.resource.azurerm_container_registry_task);
  for (const t of tasks) expect(t.identity).toEqual({ type: "SystemAssigned" });
  expect(single.tf.resource.azurerm_user_assigned_identity?.team_identity_splitweb).toBeUndefined();
  const app = tasks.find((t) => t.name === "storefront")!;
  expect(decode(app).steps.find((s: Body) => s.id === "az-login").cmd).toBe("az login --identity --allow-no-subscriptions --output none");
});

test("a team stack refuses to build when the platform does not grant what its tasks use", () => {
  // teamTaskNeeds and the tasks agree for every config above; the check itself: a platform without the team's identity.
  const { TeamStack } = require("../constructs/team-stack");
  const { PlatformStack } = require("../constructs/platform-stack");
  const { App } = require("cdktf");
  const config = configs.find((c) => c.name === "split.yaml")!.config;
  const app = new App({ outdir: fs.mkdtempSync(path.join(require("os").tmpdir(), "acr-gate-teamid-")) });
  const platform = new PlatformStack(app, config.stackName, config);
  platform.workflow.teamIdentities.get("splitweb")!.grants.readSecretsIn = undefined;
  expect(() => new TeamStack(app, `${config.stackName}-splitweb`, config, config.teamRegistries[0], platform)).toThrow(
    /task splitweb\/storefront needs Get on the platform vault's secrets, which the platform does not grant its team identity/,
  );
});
