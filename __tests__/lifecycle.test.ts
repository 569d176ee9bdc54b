/**
 * Day 2: what `terraform apply` does to a deployed stack when the config changes, read with the
 * replacement preview (app/diff-rules.ts, from the provider's ForceNew map). Every row
 * writes out the resources it replaces; none may replace a durable resource (registry, vault,
 * their groups and locks, secrets, tokens, scope maps).
 *
 * The base: the walkthrough plus a second token-mode app (shop) and a tag.
 */
import * as YAML from "yaml";
import { DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import { Preview, previewReplacements } from "../app/diff-rules";
import { synth } from "./helpers";

function base(): any {
  const d = YAML.parse(DEFAULT_CONFIG_YAML);
  d.tags = { env: "prod" };
  d.apps.push({ name: "shop", registry: "contoso", repository: "https://github.com/x/shop.git#main", baseImage: "node:15-alpine" });
  return d;
}
const tfOf = (d: unknown) => synth(parseConfig(YAML.stringify(d))).tf;
const before = tfOf(base());

const RUN_HELLO = "azurerm_container_registry_task_schedule_run_now.first_run_contoso_hello_world";
const RUN_SHOP = "azurerm_container_registry_task_schedule_run_now.first_run_contoso_build_shop";
const RUN_GATE = "azurerm_container_registry_task_schedule_run_now.first_run_contosobaseartifacts_base_import_node";
const GROUP_HELLO = "azurerm_container_group.container_group_hello_world_aci";
const DEPLOY_HELLO = "azurerm_role_assignment.deploy_hello_world_aci_contoso_hello_world";
const SLEEP = "time_sleep.grants_propagation";
const TASK_HELLO = "azurerm_container_registry_task.task_contoso_hello_world";
const TASK_GATE = "azurerm_container_registry_task.task_contosobaseartifacts_base_import_node";
const SHAPE_HELLO = "terraform_data.aci_shape_hello_world_aci";
const SCOPE_CONTOSO = "azurerm_container_registry_scope_map.scope_map_contoso_registry_contoso_user";

interface Row {
  change: string;
  mutate: (d: any) => void;
  /** Variables whose value changes (a rotation): the JSON alone does not show it. */
  rotated?: string[];
  replaced: string[];
  updated?: string[];
  created?: number;
  deleted?: number;
  /** Deletes a CanNotDelete lock of the deployed stack stops (Azure refuses them): the lock column. */
  locked?: string[];
}

const TABLE: Row[] = [
  {
    change: "resize (aci.cpu 1 -> 2): the group is replaced on purpose and the app deployed into it",
    mutate: (d) => (d.apps[0].aci.cpu = 2),
    replaced: [GROUP_HELLO, RUN_HELLO, DEPLOY_HELLO, SLEEP],
    updated: [TASK_HELLO, SHAPE_HELLO],
  },
  {
    change: "port 80 -> 8080",
    mutate: (d) => (d.apps[0].aci.port = 8080),
    replaced: [GROUP_HELLO, RUN_HELLO, DEPLOY_HELLO, SLEEP],
    updated: [TASK_HELLO, SHAPE_HELLO],
  },
  {
    change: "token expiry 365 -> 180 days (what a rotation does): passwords replaced, nothing that runs",
    mutate: (d) => (d.tokenPasswordExpiryDays = 180),
    replaced: [
      RUN_SHOP,
      RUN_HELLO,
      RUN_GATE,
      "azurerm_container_registry_token_password.token_password_contoso_registry_contoso_user",
      "azurerm_container_registry_token_password.token_password_contosobaseartifacts_registry_contosobaseartifacts_user",
      "azurerm_container_registry_token_password.token_password_publicregistry_registry_publicregistry_user",
    ],
    updated: [
      "azurerm_container_registry_task.task_contoso_build_shop",
      TASK_HELLO,
      TASK_GATE,
      "azurerm_key_vault_secret.secret_registry_contoso_password",
      "azurerm_key_vault_secret.secret_registry_contoso_user",
      "azurerm_key_vault_secret.secret_registry_contosobaseartifacts_password",
      "azurerm_key_vault_secret.secret_registry_contosobaseartifacts_user",
      "azurerm_key_vault_secret.secret_registry_publicregistry_password",
      "azurerm_key_vault_secret.secret_registry_publicregistry_user",
      "terraform_data.secret_registry_contoso_password_revision",
      "terraform_data.secret_registry_contosobaseartifacts_password_revision",
      "terraform_data.secret_registry_publicregistry_password_revision",
    ],
  },
  {
    change: "rotate the Git token (TF_VAR_github_token): every task and the stored token updated, nothing runs",
    mutate: () => undefined,
    rotated: ["github_token"],
    replaced: [],
    updated: [
      "azurerm_container_registry_task.task_contoso_build_shop",
      TASK_HELLO,
      TASK_GATE,
      "azurerm_container_registry_task.task_publicregistry_node_public",
      "azurerm_key_vault_secret.secret_github_token",
      "terraform_data.secret_github_token_revision",
    ],
  },
  {
    change: "add an app",
    mutate: (d) => d.apps.push({ name: "blog", registry: "contoso", repository: "https://github.com/x/blog.git#main", baseImage: "node:15-alpine" }),
    replaced: [SLEEP],
    updated: [SCOPE_CONTOSO],
    // its group, container group, shape, task, run, vault policy, deploy role and assignment, and
    // the subscription reader's assignment
    created: 9,
  },
  {
    change: "remove an app: its task sits in the locked team registry's group",
    mutate: (d) => d.apps.pop(),
    replaced: [SLEEP],
    updated: [SCOPE_CONTOSO],
    deleted: 9,
    locked: ["azurerm_container_registry_task.task_contoso_build_shop (azurerm_management_lock.lock_contoso_rg)"],
  },
  {
    change: "switch a team's last token apps to identity pulls: its token and scope map go, under the lock",
    mutate: (d) => {
      for (const a of d.apps) a.aci = { ...(a.aci ?? {}), pullWith: "identity" };
    },
    replaced: [GROUP_HELLO, RUN_HELLO, DEPLOY_HELLO, SLEEP, "azurerm_container_group.container_group_shop_aci", RUN_SHOP, "azurerm_role_assignment.deploy_shop_aci_contoso_build_shop"],
    created: 6,
    // The token, its scope map, password, start time and two secrets (with their revisions).
    deleted: 8,
    locked: [
      "azurerm_container_registry_scope_map.scope_map_contoso_registry_contoso_user (azurerm_management_lock.lock_contoso_rg)",
      "azurerm_container_registry_token.token_contoso_registry_contoso_user (azurerm_management_lock.lock_contoso_rg)",
    ],
  },
  { change: "add a team", mutate: (d) => d.teamRegistries.push({ name: "fabrikam" }), replaced: [], updated: [], created: 3 },
  {
    change: "change a gated tag (and the apps that build on it)",
    mutate: (d) => {
      d.gatedImages[0].target = "node:15-alpine-gated";
      for (const a of d.apps) a.baseImage = "node:15-alpine-gated";
    },
    replaced: [RUN_GATE],
    // The apps' tasks record the image they build from (tag acr-gate-from, for the diagram): a tag
    // update, which runs nothing.
    updated: [TASK_GATE, TASK_HELLO, "azurerm_container_registry_task.task_contoso_build_shop"],
  },
  { change: "change the scan mode", mutate: (d) => (d.gatedImages[0].scan.mode = "enforce"), replaced: [RUN_GATE], updated: [TASK_GATE] },
  {
    change: "switch pullWith token -> identity",
    mutate: (d) => (d.apps[0].aci.pullWith = "identity"),
    replaced: [GROUP_HELLO, RUN_HELLO, DEPLOY_HELLO, SLEEP],
    updated: [SCOPE_CONTOSO, TASK_HELLO, SHAPE_HELLO],
    created: 3,
  },
  {
    change: "tokenRotation set (0): every token gets its twin; the vault keeps the same login, nothing runs",
    mutate: (d) => (d.tokenRotation = 0),
    replaced: [],
    updated: [],
    // a twin token, its password and start, for each of the three registries' tokens
    created: 9,
  },
  {
    change: "azurermVersion 4.81.0 -> 5.2.0 (no replica here): only the pin moves, nothing planned",
    mutate: (d) => (d.azurermVersion = "5.2.0"),
    replaced: [],
    updated: [],
  },
  {
    change: "change tags: updated in place everywhere",
    mutate: (d) => (d.tags = { env: "prod", owner: "platform" }),
    replaced: [],
    updated: [
      "azurerm_container_registry.registry_contoso",
      "azurerm_container_registry.registry_contosobaseartifacts",
      "azurerm_container_registry.registry_publicregistry",
      "azurerm_key_vault.key_vault_acr_task_credentials",
      "azurerm_resource_group.rg_acr_task_credentials_rg",
      "azurerm_resource_group.rg_contoso_rg",
      "azurerm_resource_group.rg_contosobaseartifacts_rg",
      "azurerm_resource_group.rg_hello_world_aci_rg",
      "azurerm_resource_group.rg_publicregistry_rg",
      "azurerm_resource_group.rg_shop_aci_rg",
      // Tasks carry the tags too; their runs follow only the step and the credentials, so none re-runs.
      "azurerm_container_registry_task.task_contoso_build_shop",
      TASK_HELLO,
      TASK_GATE,
      "azurerm_container_registry_task.task_publicregistry_node_public",
    ],
  },
];

const of = (p: Preview, action: string) =>
  p.changes
    .filter((c) => c.action === action)
    .map((c) => c.address)
    .sort();

describe("lifecycle: config change -> what terraform apply replaces", () => {
  test.each(TABLE.map((r) => [r.change, r] as const))("%s", (_name, row) => {
    const d = base();
    row.mutate(d);
    const p = previewReplacements(before, tfOf(d), { changedVariables: row.rotated });
    expect(p.unknownTypes).toEqual([]);
    expect(of(p, "replace")).toEqual([...row.replaced].sort());
    if (row.updated) expect(of(p, "update")).toEqual([...row.updated].sort());
    expect(of(p, "create")).toHaveLength(row.created ?? 0);
    expect(of(p, "delete")).toHaveLength(row.deleted ?? 0);
    // Never a durable resource replaced, and nothing Terraform would refuse (prevent_destroy).
    expect(p.changes.filter((c) => c.action === "replace" && c.durable).map((c) => c.address)).toEqual([]);
    expect(p.changes.filter((c) => c.preventDestroy).map((c) => c.address)).toEqual([]);
    // Nothing waits for a second apply to see its new value.
    expect(p.changes.filter((c) => c.nextApply).map((c) => c.address)).toEqual([]);
    // The lock column: what Azure refuses to delete under the default locks.
    expect(p.changes.filter((c) => c.locked).map((c) => `${c.address} (${c.locked})`).sort()).toEqual([...(row.locked ?? [])].sort());
    expect(p.changes.filter((c) => c.refused)).toEqual([]);
  });

  test("a rotation does not touch the running container groups", () => {
    const d = base();
    d.tokenPasswordExpiryDays = 180;
    const p = previewReplacements(before, tfOf(d));
    expect(p.changes.filter((c) => c.type === "azurerm_container_group")).toEqual([]);
  });
});

describe("lifecycle: a rotation with an overlap (tokenRotation 0 -> 1)", () => {
  const at = (n: number) => {
    const d = base();
    d.tokenRotation = n;
    return tfOf(d);
  };
  test("the twins get fresh passwords and become active; the tokens in use are untouched; the tasks that read them run", () => {
    const p = previewReplacements(at(0), at(1));
    const twins = ["contoso_registry_contoso_user", "contosobaseartifacts_registry_contosobaseartifacts_user", "publicregistry_registry_publicregistry_user"];
    expect(of(p, "replace")).toEqual(
      [
        RUN_SHOP,
        RUN_HELLO,
        RUN_GATE,
        ...twins.map((t) => `azurerm_container_registry_token_password.token_password_${t}_alt`),
        ...twins.map((t) => `time_static.token_created_${t}_alt`),
      ].sort(),
    );
    expect(of(p, "update")).toEqual(
      [
        "azurerm_container_registry_task.task_contoso_build_shop",
        TASK_HELLO,
        TASK_GATE,
        ...["contoso", "contosobaseartifacts", "publicregistry"].flatMap((r) => [
          `azurerm_key_vault_secret.secret_registry_${r}_password`,
          `azurerm_key_vault_secret.secret_registry_${r}_user`,
          `terraform_data.secret_registry_${r}_password_revision`,
          `terraform_data.secret_registry_${r}_user_revision`,
        ]),
      ].sort(),
    );
    expect(p.changes.filter((c) => c.type === "azurerm_container_group")).toEqual([]);
    expect(p.changes.filter((c) => c.locked || c.nextApply || (c.durable && c.action === "replace"))).toEqual([]);
  });
});
