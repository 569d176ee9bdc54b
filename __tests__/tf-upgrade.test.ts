/**
 * The upgrade from azurerm 4.55.0 on Terraform's own plan (issue 27; help/versions.md, "Upgrading a
 * stack deployed with azurerm 4.55.0"): each stack as the last 4.55.0-pinned acr-gate wrote it
 * (__tests__/fixtures/azurerm-4.55.0/, unedited) applied on mocked providers, then today's JSON of the
 * same config planned on that state (`terraform test`, Terraform 1.11: `state_key`). The plan must
 * succeed and change exactly what is listed below, nothing durable deleted or replaced; and
 * `npm run diff` on the same two files must say the same, its known differences with mocks mapped
 * (./support/diff-agreement.ts).
 *
 * One `terraform test` loads one version of each provider, so the fixture's exact
 * `azurerm = 4.55.0` constraint is relaxed to today's pin: this proves that the JSON's addresses,
 * moved blocks, references and data sources carry over to the new JSON, not the provider's own
 * state upgrade (4.55.0 to 4.81.0 keeps every schema version, help/versions.md; versions.test.ts
 * inits both versions from the mirror). Needs terraform 1.11+ and the provider mirror; skipped with
 * a note without them (an error in CI).
 */
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_CONFIG_YAML } from "../lib/config";
import { requireTool } from "./support/go-render";
import { diffAgainstPlan } from "./support/diff-agreement";
import { hcl, mockedValues, mockHeader, SUB, variableValues } from "./support/tf-test";
import { handedOverGroups } from "../app/migration";
import { atLeast, changesOf, engine, MIRROR, REPO, runTest, synthesize, testable, workDir } from "./support/tf-runner";

const tf = engine(process.env.ACR_GATE_TERRAFORM ?? "terraform");
const ready = requireTool(
  "terraform 1.11+ and the provider mirror (ACR_GATE_TF_MIRROR or ../shared/terraform-mirror) with azurerm 4.81.0 and time 0.13.1",
  tf.name === "terraform" && atLeast(tf.version, "1.11") && MIRROR !== undefined,
);
const work = workDir("tfupgrade");
const FIXTURES = path.join(__dirname, "fixtures", "azurerm-4.55.0");
const SPLIT = fs.readFileSync(path.join(REPO, "examples", "split.yaml"), "utf8");
/** The config each fixture folder was synthesized from (its README.md), as today's acr-gate reads it. */
const CONFIGS: Record<string, string | null> = {
  default: null,
  split: SPLIT,
  "split-azurerm-backend": `${SPLIT}backend:\n  type: azurerm\n  resourceGroupName: tfstate-rg\n  storageAccountName: splittfstate\n`,
};

const DURABLE = new Set(["azurerm_container_registry", "azurerm_key_vault", "azurerm_key_vault_secret", "azurerm_resource_group", "azurerm_container_registry_token", "azurerm_container_registry_scope_map", "azurerm_management_lock"]);
/** What every stack holding an app task gains: the subscription reader (help/security.md) and the grants pause waiting for it. */
const READER = (team: string, ...apps: string[]) => [
  ...apps.map((a) => `azurerm_role_assignment.subscription_reader_${team}_${a}: create`),
  `azurerm_role_definition.subscription_reader_role_${team}: create`,
  // Replaced by the time provider (triggers are ForceNew): a mock plans an update.
  "time_sleep.grants_propagation: update",
];
/**
 * A split team's app tasks switch to the identity the platform makes (help/split.md, "Team
 * identities"): each task updated in place, its first run replaced (task file and credentials
 * changed), its old vault policy deleted; the subscription reader is the platform's. Their deploy
 * role assignments get a new principal_id (ForceNew): npm run diff says replace; the mocks, whose
 * task identity and team identity have the same object id, plan nothing for them, mapped as (6).
 */
const DEPLOY_FORCENEW = (grants: string[]) => grants.map((g) => `azurerm_role_assignment.${g}: replace (ForceNew principal_id) => no change (6)`);
const GRANTS = {
  splitdata: ["deploy_reports_aci_splitdata_reports"],
  splitops: ["deploy_status_aci_splitops_status"],
  splitweb: ["deploy_catalog_aci_splitweb_catalog", "deploy_storefront_aci_splitweb_storefront", "identity_operator_catalog_aci_splitweb_catalog"],
};
const SWITCH = (team: string, ...apps: string[]) => [
  ...apps.map((a) => `azurerm_container_registry_task.task_${team}_${a}: update`),
  ...apps.map((a) => `azurerm_container_registry_task_schedule_run_now.first_run_${team}_${a}: replace`),
  ...apps.map((a) => `azurerm_key_vault_access_policy.kv_policy_split_task_creds_${team}_${a}: delete`),
  // Replaced by the time provider (triggers are ForceNew): a mock plans an update.
  "time_sleep.grants_propagation: update",
];
/** What the split platform gains per team: the team's task identity and its grants outside the team. */
const TEAM_IDENTITY = (team: string) => [
  `azurerm_user_assigned_identity.team_identity_${team}: create`,
  `azurerm_key_vault_access_policy.kv_policy_split_task_creds_${team}_tasks: create`,
  `azurerm_role_assignment.subscription_reader_${team}_tasks: create`,
  `azurerm_role_definition.subscription_reader_role_${team}: create`,
];
/** npm run diff's known differences with mocks (support/diff-agreement.ts, (1) to (3)), each one expected. */
const PAUSE_FORCENEW = "time_sleep.grants_propagation: replace (ForceNew triggers) => update (1)";
/**
 * A split team's own vault for its token's secrets (help/split.md, "Team vaults"): created with its
 * policies, and the two secrets moved into it (key_vault_id is ForceNew: the real provider replaces
 * them, a mock plans an update).
 */
const TEAM_VAULT = (team: string) => [
  `azurerm_key_vault.key_vault_${team}_kv: create`,
  `azurerm_key_vault_access_policy.kv_policy_${team}_kv_deployer["ops"]: create`,
  `azurerm_key_vault_access_policy.kv_policy_${team}_kv_${team}_tasks: create`,
  `azurerm_key_vault_secret.secret_registry_${team}_password: update`,
  `azurerm_key_vault_secret.secret_registry_${team}_user: update`,
];
/** In the order the preview lists them: the policies' expansion (8), then the secrets' replacement (1). */
const TEAM_VAULT_MAPPED = (team: string) => [
  `azurerm_key_vault_access_policy.kv_policy_${team}_kv_deployer: create => azurerm_key_vault_access_policy.kv_policy_${team}_kv_deployer["ops"]: create (8)`,
  `azurerm_key_vault_secret.secret_registry_${team}_password: replace (ForceNew key_vault_id) => update (1)`,
  `azurerm_key_vault_secret.secret_registry_${team}_user: replace (ForceNew key_vault_id) => update (1)`,
];
const UNNAMED = (policy: string) => {
  const at = `azurerm_key_vault_access_policy.${policy}`;
  return `${at}: replace => delete, ${at}["ops"]: create (2)`;
};
/** The gate's task file changed (it promotes only what changed): the task updated, its first run again. */
/**
 * A split team's groups, made by the platform since (help/split.md, "Team resource groups"): the
 * team's state forgets them (its removed blocks), the platform's imports them (the import blocks of
 * --group-import-script, added beside its JSON as the script does).
 */
const TEAM_GROUPS: Record<string, string[]> = {
  splitdata: ["splitdata_rg", "reports_aci_rg"],
  splitops: ["splitops_rg", "status_aci_rg"],
  splitweb: ["splitweb_rg", "storefront_aci_rg", "catalog_aci_rg"],
};
const FORGET = (team: string) => TEAM_GROUPS[team].map((g) => `azurerm_resource_group.rg_${g}: forget`);
const GATE = (registry: string) => [`azurerm_container_registry_task.task_${registry}_base_import_node: update`, `azurerm_container_registry_task_schedule_run_now.first_run_${registry}_base_import_node: replace`];

// [case, fixture folder, stack, extra config after (help/versions.md step 4), changes expected
// ("address: action", moves "from -> to"), npm run diff's known differences mapped]
const cases: [string, string, string, string, string[], string[]][] = [
  [
    "default",
    "default",
    "acr-gate",
    "",
    [
      ...["contoso", "contosobaseartifacts", "publicregistry"].map((r) => `azurerm_container_registry.registry_${r}: update`),
      ...GATE("contosobaseartifacts"),
      // No deployer named: the one policy of whoever applied is destroyed and one per key of the
      // `deployers` variable (the test's: ops) created; help/versions.md step 4 avoids it (next case).
      "azurerm_key_vault_access_policy.kv_policy_acr_task_credentials_deployer: delete",
      'azurerm_key_vault_access_policy.kv_policy_acr_task_credentials_deployer["ops"]: create',
      ...READER("contoso", "hello_world"),
      "terraform_data.environment: create",
    ],
    [UNNAMED("kv_policy_acr_task_credentials_deployer"), PAUSE_FORCENEW],
  ],
  [
    "default, the deployer who applied until now named first (help/versions.md step 4)",
    "default",
    "acr-gate",
    "deployers:\n  - { name: alice, objectId: 11111111-1111-1111-1111-111111111111 }\n  - { name: ci, objectId: 22222222-2222-2222-2222-222222222222 }\n",
    [
      ...["contoso", "contosobaseartifacts", "publicregistry"].map((r) => `azurerm_container_registry.registry_${r}: update`),
      ...GATE("contosobaseartifacts"),
      // The moved block hands alice the existing policy; its object id becomes alice's (the mock's
      // client object id was the deployer's until now: a real one keeps its id, an update of nothing).
      'azurerm_key_vault_access_policy.kv_policy_acr_task_credentials_deployer -> azurerm_key_vault_access_policy.kv_policy_acr_task_credentials_deployer["alice"]',
      'azurerm_key_vault_access_policy.kv_policy_acr_task_credentials_deployer["alice"]: update',
      'azurerm_key_vault_access_policy.kv_policy_acr_task_credentials_deployer["ci"]: create',
      ...READER("contoso", "hello_world"),
      "terraform_data.environment: create",
    ],
    // object_id is ForceNew: the real provider replaces alice's instance, unless alice is the
    // identity that applied until now (then the id is the same and nothing changes; the preview,
    // which cannot see that id, says replace).
    ['azurerm_key_vault_access_policy.kv_policy_acr_task_credentials_deployer["alice"]: replace (ForceNew object_id) => update (1)', PAUSE_FORCENEW],
  ],
  [
    "split: the platform",
    "split",
    "acr-gate",
    "",
    [
      "azurerm_container_registry.registry_splitbaseartifacts: update",
      ...GATE("splitbaseartifacts"),
      "azurerm_key_vault_access_policy.kv_policy_split_task_creds_deployer: delete",
      'azurerm_key_vault_access_policy.kv_policy_split_task_creds_deployer["ops"]: create',
      "terraform_data.environment: create",
      ...["splitdata", "splitops", "splitweb"].flatMap(TEAM_IDENTITY),
    ],
    [UNNAMED("kv_policy_split_task_creds_deployer"), ...Object.values(TEAM_GROUPS).flat().sort().map((g) => `azurerm_resource_group.rg_${g}: create => imported, no change (7)`)],
  ],
  ["split: team splitdata", "split", "acr-gate-splitdata", "", ["azurerm_container_registry.registry_splitdata: update", ...SWITCH("splitdata", "reports"), ...FORGET("splitdata"), ...TEAM_VAULT("splitdata"), "terraform_data.environment: create"], [...TEAM_VAULT_MAPPED("splitdata").slice(1), ...DEPLOY_FORCENEW(GRANTS.splitdata), PAUSE_FORCENEW, TEAM_VAULT_MAPPED("splitdata")[0]]],
  ["split: team splitops", "split", "acr-gate-splitops", "", ["azurerm_container_registry.registry_splitops: update", ...SWITCH("splitops", "status"), ...FORGET("splitops"), ...TEAM_VAULT("splitops"), "terraform_data.environment: create"], [...TEAM_VAULT_MAPPED("splitops").slice(1), ...DEPLOY_FORCENEW(GRANTS.splitops), PAUSE_FORCENEW, TEAM_VAULT_MAPPED("splitops")[0]]],
  ["split: team splitweb", "split", "acr-gate-splitweb", "", ["azurerm_container_registry.registry_splitweb: update", ...SWITCH("splitweb", "catalog", "storefront"), ...FORGET("splitweb"), ...TEAM_VAULT("splitweb"), "terraform_data.environment: create"], [...TEAM_VAULT_MAPPED("splitweb").slice(1), ...DEPLOY_FORCENEW(GRANTS.splitweb), PAUSE_FORCENEW, TEAM_VAULT_MAPPED("splitweb")[0]]],
  // Its read of the platform gains use_azuread_auth (help/split.md): the same state, the same
  // outputs, so the task credentials that read them are left alone (its token's secrets move to its
  // own vault, as above).
  [
    "split, azurerm backend: team splitweb",
    "split-azurerm-backend",
    "acr-gate-splitweb",
    "",
    ["azurerm_container_registry.registry_splitweb: update", ...SWITCH("splitweb", "catalog", "storefront"), ...FORGET("splitweb"), ...TEAM_VAULT("splitweb"), "terraform_data.environment: create"],
    [...TEAM_VAULT_MAPPED("splitweb").slice(1), ...DEPLOY_FORCENEW(GRANTS.splitweb), PAUSE_FORCENEW, TEAM_VAULT_MAPPED("splitweb")[0]],
  ],
];

describe("upgrading from the last azurerm 4.55.0-pinned JSON: today's plan on its applied state, and npm run diff's verdict beside it", () => {
  (ready ? test.each(cases) : test.skip.each(cases))(
    "%s",
    (label, fixture, stack, extra, expected, mapped) => {
      const dir = path.join(work, label.replace(/[^a-z0-9]+/gi, "-"));
      fs.mkdirSync(path.join(dir, "before"), { recursive: true });
      const base = CONFIGS[fixture];
      let config: string | null = null;
      if (base !== null || extra) {
        config = path.join(dir, "config.yaml");
        fs.writeFileSync(config, `${base ?? DEFAULT_CONFIG_YAML}${extra}`);
      }
      const raw = JSON.parse(fs.readFileSync(path.join(FIXTURES, fixture, stack, "cdk.tf.json"), "utf8"));
      expect(raw.terraform.required_providers.azurerm.version).toBe("4.55.0");
      const all = synthesize(work, path.basename(dir), config);
      const now = all.get(stack);
      const after = testable(now);
      const before = testable(raw);
      // The split platform's first apply of this version: the team groups' import blocks, as
      // --group-import-script writes them (mock providers refuse imports: an override per address).
      const imports = stack === "acr-gate" && fixture.startsWith("split") ? handedOverGroups(now, [...all].filter(([n]) => n !== stack).map(([name, tf]) => ({ name, tf }))) : [];
      if (imports.length) after.import = imports.map((g) => ({ to: g.address, id: `/subscriptions/${SUB}/resourceGroups/${g.name}` }));
      const overrides = imports.map((g) => `  override_resource {\n    target = ${g.address}\n    values = ${hcl({ ...mockedValues("azurerm_resource_group"), name: g.name })}\n  }\n`).join("");
      // One provider version per test run (see the header): the fixture's exact 4.55.0 relaxed to today's pin.
      before.terraform.required_providers.azurerm.version = after.terraform.required_providers.azurerm.version;
      fs.writeFileSync(path.join(dir, "before", "cdk.tf.json"), JSON.stringify(before, null, 2));
      fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(after, null, 2));
      // The fixture's own data sources (the team's terraform_remote_state) are served too.
      fs.writeFileSync(
        path.join(dir, "main.tftest.hcl"),
        `${mockHeader(after, {}, [before])}\nrun "before" {\n  command   = apply\n  state_key = "stack"\n  module {\n    source = "./before"\n  }\n}\n\n` +
          `run "after" {\n  command   = plan\n  state_key = "stack"\n${overrides}}\n`,
      );
      const r = runTest(work, tf, dir);
      expect({ summary: r.summary, diagnostics: r.diagnostics }).toEqual({ summary: expect.objectContaining({ status: "pass", passed: 2, failed: 0, errored: 0 }), diagnostics: [] });
      const plan = r.plans.get("after");
      // Every team group imported, each with no change (the platform makes them as the teams did).
      const importing = (plan.resource_changes as any[]).filter((c) => c.change.importing);
      expect(importing.map((c) => `${c.address}: ${c.change.actions.join("+")}`).sort()).toEqual(imports.map((g) => `${g.address}: no-op`).sort());
      if (stack === "acr-gate" && fixture.startsWith("split")) expect(imports.length).toBe(Object.values(TEAM_GROUPS).flat().length);
      const agreement = diffAgainstPlan(raw, now, plan, variableValues(after));
      expect(agreement.terraform).toEqual([...expected].sort());
      // changesOf's view too (outputs included): nothing beyond the resources above.
      // (the split platform's only new outputs: each team's identity, for the teams to read)
      const identityOutputs = changesOf(plan).filter((c) => /^output\.team_\w+_identity_\w+: create$/.test(c));
      expect(identityOutputs.length).toBe(stack === "acr-gate" && fixture.startsWith("split") ? 9 : 0);
      expect(changesOf(plan).filter((c) => c.startsWith("output.") && !identityOutputs.includes(c))).toEqual([]);
      // Nothing durable deleted or replaced.
      expect(agreement.terraform.filter((c) => DURABLE.has(c.split(".")[0]) && /: (delete|replace)$/.test(c))).toEqual([]);
      // npm run diff on the same two files (the fixture as kept, today's JSON as synthesized) says
      // the same, through exactly these known differences.
      expect(agreement.diff).toEqual(agreement.terraform);
      expect(agreement.mapped).toEqual(mapped);
    },
    120_000,
  );
});
