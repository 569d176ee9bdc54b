/**
 * The split layout (help/split.md): a platform stack and one stack per team registry, each with its
 * own state. What must hold for platform teams to hand each team its own state: every resource in
 * exactly one stack, no team's stack touching another team's resources, no dependency cycle, and a
 * way from a deployed single stack to the split stacks that destroys nothing.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, parseConfig } from "../lib/config";
import { synthesize } from "../app/synth";
import { migrationPlan, migrationScript } from "../app/migration";
import { teamBackend } from "../constructs/workflow";
import { PLATFORM_OUTPUTS, teamIdentityOutputs } from "../constructs/platform-stack";
import { fakeState, problemsOf, synthStacks } from "./helpers";
import { addressPart } from "../lib/principal";
import { requireTool } from "./support/go-render";

const examples = path.join(__dirname, "..", "examples");
const SPLIT_YAML = fs.readFileSync(path.join(examples, "split.yaml"), "utf8");
const config = parseConfig(SPLIT_YAML, "split.yaml");
const stacks = synthStacks(config);
const byName = new Map(stacks.map((s) => [s.name, s.tf]));
const teams = config.teamRegistries.map((t) => t.name);
const teamStack = (team: string) => `${config.stackName}-${team}`;

type Tf = { resource?: Record<string, Record<string, any>>; data?: Record<string, Record<string, any>>; output?: Record<string, any> };
function resourcesOf(tf: Tf): { address: string; type: string; body: any }[] {
  return Object.entries(tf.resource ?? {}).flatMap(([type, rs]) => Object.entries(rs).map(([name, body]) => ({ address: `${type}.${name}`, type, body })));
}
/**
 * The references in a value's `${...}` expressions, as dotted chains without indices:
 * `azurerm_x.y.id`, `data.terraform_remote_state.platform.outputs.key_vault_id`, `var.x`.
 */
function refsIn(value: unknown): string[] {
  const refs: string[] = [];
  for (const expr of JSON.stringify(value).match(/\$\{[^}]*\}/g) ?? []) {
    for (const m of expr.matchAll(/\b[a-z][a-z0-9_]*(?:\.[a-zA-Z0-9_-]+)+/g)) refs.push(m[0]);
  }
  return refs;
}
/** The one platform output a reference reads, or undefined. */
const platformOutput = (ref: string) => /^data\.terraform_remote_state\.platform\.outputs\.([a-z_]+)$/.exec(ref)?.[1];
/** Strings with a reference become "<ref>": what stays is what Azure sees whatever state holds it. */
/** A single-stack body with its references to a group's name and location written as the group's literals. */
function byGroupName(v: any, groups: Record<string, any>): any {
  if (typeof v === "string") {
    const m = /^\$\{azurerm_resource_group\.([\w-]+)\.(name|location)\}$/.exec(v);
    // Any other attribute (`id`) read from the data source of the same name: Azure gives it alike.
    return m ? groups[m[1]][m[2]] : v.replace(/(?<![\w.])azurerm_resource_group\./g, "data.azurerm_resource_group.");
  }
  if (Array.isArray(v)) return v.map((x) => byGroupName(x, groups));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, byGroupName(x, groups)]));
  return v;
}

function literalShape(v: any): any {
  if (typeof v === "string") return v.includes("${") ? "<ref>" : v;
  if (Array.isArray(v)) return v.map(literalShape);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).filter(([k]) => k !== "//" && k !== "depends_on").map(([k, x]) => [k, literalShape(x)]));
  return v;
}

describe("the stacks: one platform, one per team, each with its own state", () => {
  test("examples/split.yaml makes the platform stack and a stack per team registry", () => {
    expect(stacks.map((s) => s.name)).toEqual([config.stackName, ...teams.map(teamStack)]);
    expect(teams.length).toBeGreaterThanOrEqual(3);
  });

  test("each stack has its own state file, and none is inside cdktf.out", () => {
    const paths = stacks.map((s) => s.tf.terraform.backend.local.path as string);
    expect(new Set(paths).size).toBe(stacks.length);
    // Relative to cdktf.out/stacks/<stack>/: three levels up is beside cdktf.out.
    for (const p of paths) expect(p).toMatch(/^\.\.\/\.\.\/\.\.\/[^/]+\.tfstate$/);
    expect(paths[0]).toBe(config.backend.type === "local" ? config.backend.path : "");
  });

  test("an azurerm backend: each stack's state in its own container, signed in with Entra ID", () => {
    const az = parseConfig(
      SPLIT_YAML + "backend: { type: azurerm, resourceGroupName: tfstate-rg, storageAccountName: contosotfstate, containerName: tfstate, key: acr-gate.tfstate }\n",
    );
    const s = synthStacks(az);
    const backends = s.map((x) => x.tf.terraform.backend.azurerm);
    expect(backends.map((b) => b.key)).toEqual(["acr-gate.tfstate", ...teams.map((t) => `acr-gate-${t}.tfstate`)]);
    // A container-scoped data role per team then gives it its own state and nothing else (help/split.md).
    expect(backends.map((b) => b.container_name)).toEqual(["tfstate", ...teams.map((t) => `tfstate-${t}`)]);
    for (const b of backends) expect(b.use_azuread_auth).toBe(true);
    for (const b of backends) expect({ ...b, key: undefined, container_name: undefined }).toEqual({ ...backends[0], key: undefined, container_name: undefined });
    // Each team reads the platform's state where the platform writes it.
    for (const x of s.slice(1)) expect(x.tf.data.terraform_remote_state.platform.config).toEqual(backends[0]);
  });

  test("every app's task and container group is in its team's stack, every gate in the platform's", () => {
    const taskNames = (tf: Tf) => Object.values(tf.resource?.azurerm_container_registry_task ?? {}).map((t: any) => t.name);
    for (const app of config.apps) expect(taskNames(byName.get(teamStack(app.registry))!)).toContain(app.taskName);
    for (const gate of config.gatedImages) expect(taskNames(byName.get(config.stackName)!)).toContain(gate.taskName);
  });
});

describe("ownership: a team's state cannot change another team's (or the platform's) resources", () => {
  test("the platform stack names a team only in the team's identity, its grants and outputs; a team stack never names another team", () => {
    const word = (name: string) => new RegExp(`(^|[^a-z0-9])${name}([^a-z0-9]|$)`);
    const platform = byName.get(config.stackName)!;
    for (const t of teams) {
      // The identity (`<team>-tasks`), its grants (addressed by that name), the subscription reader
      // role (`(<team> tasks)`), the outputs and what mentions them (descriptions, the lock's order):
      // remove those and no mention is left.
      // And its resource groups, which the platform makes (the team stack locks them), by name.
      const groups = [config.teamRegistries.find((r) => r.name === t)!.resourceGroup, ...config.apps.filter((a) => a.registry === t).map((a) => a.aci.resourceGroup)];
      const groupParts = groups.flatMap((g) => [`rg_${addressPart(g)}`, `group-${g}`, g]).map((x) => x.replace(/[.()]/g, "\\$&"));
      const identityParts = new RegExp(
        `team_identity_${t}|team-identity-${t}|team_${t}_identity_[a-z_]+|${t}[-_ ]tasks|subscription[-_]reader[-_](role_)?${t}|the ${t} app tasks|${groupParts.join("|")}`,
        "g",
      );
      expect(JSON.stringify(platform).replace(identityParts, "")).not.toMatch(word(t));
      // ...and it is named there: one identity per team with apps.
      expect(platform.resource.azurerm_user_assigned_identity[`team_identity_${t}`].name).toBe(`${t}-tasks`);
    }
    for (const t of teams) {
      for (const other of teams.filter((o) => o !== t)) expect(JSON.stringify(byName.get(teamStack(t)))).not.toMatch(word(other));
    }
  });

  test("no Azure object is managed by two stacks (same type and name)", () => {
    const owner = new Map<string, string>();
    for (const { name, tf } of stacks) {
      for (const r of resourcesOf(tf)) {
        if (typeof r.body.name !== "string") continue;
        const key = `${r.type} ${r.body.name.toLowerCase()}`;
        expect(owner.get(key) ?? name).toBe(name);
        owner.set(key, name);
      }
    }
  });

  test.each(teams)("team %s: grants only to its own identities or its task identity, on its own resources", (team) => {
    const tf = byName.get(teamStack(team))!;
    // Its own resources, and its own groups, which the platform makes and the team reads by name.
    const groups = new Set([config.teamRegistries.find((r) => r.name === team)!.resourceGroup, ...config.apps.filter((a) => a.registry === team).map((a) => a.aci.resourceGroup)]);
    const own = new Set([
      ...resourcesOf(tf).map((r) => r.address),
      ...Object.entries<any>(tf.data.azurerm_resource_group ?? {}).filter(([, d]) => groups.has(d.name)).map(([n]) => `data.azurerm_resource_group.${n}`),
    ]);
    expect(own.size).toBeGreaterThan(groups.size);
    const isOwn = (ref: string) => own.has(ref.split(".").slice(0, ref.startsWith("data.") ? 3 : 2).join("."));
    const mine = Object.values(teamIdentityOutputs(team));
    const shared = (ref: string) => [...(Object.values(PLATFORM_OUTPUTS) as string[]), ...mine].includes(platformOutput(ref) ?? "");
    for (const r of resourcesOf(tf)) {
      if (r.type === "azurerm_role_assignment") {
        // Its own identities, or the task identity the platform made for this team.
        for (const ref of refsIn(r.body.principal_id)) expect(isOwn(ref) || platformOutput(ref) === teamIdentityOutputs(team).principalId).toBe(true);
        // Its own resources only: the grants outside are the platform's (help/split.md, "Team identities").
        for (const ref of refsIn(r.body.scope)) expect(isOwn(ref)).toBe(true);
      }
      // Vault policies only on its own vault: its deployers', and its task identity's (Get); the
      // platform vault's policy for that identity is the platform's.
      if (r.type === "azurerm_key_vault_access_policy") {
        for (const ref of refsIn(r.body.key_vault_id)) expect(ref).toMatch(/^azurerm_key_vault\./), expect(isOwn(ref)).toBe(true);
        for (const ref of refsIn(r.body.object_id)) expect(ref.startsWith("var.deployers") || ref === "each.value" || platformOutput(ref) === teamIdentityOutputs(team).principalId).toBe(true);
      }
      // No custom role at the subscription any more (the subscription reader is the platform's).
      if (r.type === "azurerm_role_definition") for (const ref of refsIn(r.body.scope)) expect(isOwn(ref)).toBe(true);
      // Its secrets, in its own vault, are its own token's, named for its registry.
      if (r.type === "azurerm_key_vault_secret") {
        expect(r.body.name).toMatch(new RegExp(`^registry-${team}-(user|password)$`));
        for (const ref of refsIn(r.body.key_vault_id)) expect(isOwn(ref)).toBe(true);
      }
      // Nothing the platform owns: its own vault only (the team's), no base-artifacts registry, no gate.
      if (r.type === "azurerm_key_vault") expect(r.body.name).toBe(config.teamRegistries.find((t) => t.name === team)!.keyVault?.name ?? `${team}-kv`);
      expect(r.type).not.toBe("azurerm_container_registry_cache_rule");
      if (r.type === "azurerm_container_registry") expect(r.body.name).toBe(team);
    }
    // Every reference resolves inside the stack, to a variable, or to a named platform output.
    for (const ref of refsIn(tf.resource)) {
      const ok =
        isOwn(ref) ||
        ref.startsWith("var.") ||
        ref.startsWith("self.") || // a resource's own attributes (the environment guard's postcondition)
        ref === "each.value" || // the deployers' policies on its own vault, one per entry of var.deployers
        shared(ref) ||
        ref.startsWith("data.azurerm_client_config.") ||
        ref.startsWith("data.azurerm_subscription.");
      if (!ok) throw new Error(`${team}: ${ref} is neither its own nor a platform output`);
    }
  });

  test("the platform grants only to its own identities and the deployer", () => {
    const tf = byName.get(config.stackName)!;
    const own = new Set(resourcesOf(tf).map((r) => r.address));
    for (const r of resourcesOf(tf)) {
      const principal = r.type === "azurerm_role_assignment" ? r.body.principal_id : r.type === "azurerm_key_vault_access_policy" ? r.body.object_id : undefined;
      if (principal === undefined) continue;
      // The deployers' policies take their object ids from the platform's own `deployers` variable.
      for (const ref of refsIn(principal)) expect(own.has(ref.split(".").slice(0, 2).join(".")) || ref === "each.value").toBe(true);
    }
  });

  test("tasks pulling base images with their identity: the platform grants the team identity AcrPull on base artifacts, the team grants nothing there", () => {
    const c = parseConfig(SPLIT_YAML.replace("name: splitbaseartifacts", "name: splitbaseartifacts\n  taskCredential: identity"));
    const s = synthStacks(c);
    const web = s.find((x) => x.name === teamStack("splitweb"))!.tf;
    expect(JSON.stringify(web.resource.azurerm_role_assignment)).not.toContain(PLATFORM_OUTPUTS.baseArtifactsRegistryId);
    const onBase = Object.values(s[0].tf.resource.azurerm_role_assignment).filter((r: any) => r.scope === "${azurerm_container_registry.registry_splitbaseartifacts.id}");
    // One per team identity (every team has apps), none per task.
    expect(onBase.map((r: any) => [r.role_definition_name, r.principal_id])).toEqual(
      teams.map((t) => ["AcrPull", `\${azurerm_user_assigned_identity.team_identity_${t}.principal_id}`]),
    );
    // No token on base artifacts then: the platform exports no token secrets, no team reads any.
    expect(Object.keys(s[0].tf.output)).not.toContain(PLATFORM_OUTPUTS.baseTokenUserSecretId);
    expect(JSON.stringify(web)).not.toContain("base_token_");
  });
});

describe("no cycle: teams read the platform, the platform reads nobody", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-split-"));
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));
  let manifest: any;
  beforeAll(() => {
    synthesize(config, path.join(out, "cdktf.out"));
    manifest = JSON.parse(fs.readFileSync(path.join(out, "cdktf.out", "manifest.json"), "utf8"));
  });

  test("cdktf deploy '*' applies the platform first: each team depends on it, it on nothing", () => {
    expect(manifest.stacks[config.stackName].dependencies).toEqual([]);
    for (const t of teams) expect(manifest.stacks[teamStack(t)].dependencies).toEqual([config.stackName]);
  });

  test("the dependency graph has no cycle (every stack reachable in a topological order)", () => {
    const deps = new Map(Object.entries(manifest.stacks).map(([n, s]: [string, any]) => [n, s.dependencies as string[]]));
    const done = new Set<string>();
    for (let progress = true; progress; ) {
      progress = false;
      for (const [n, d] of deps) if (!done.has(n) && d.every((x) => done.has(x))) (done.add(n), (progress = true));
    }
    expect(done.size).toBe(deps.size);
  });

  test("only team stacks read remote state, and only the platform's; only named outputs cross", () => {
    expect(byName.get(config.stackName)!.data?.terraform_remote_state).toBeUndefined();
    for (const t of teams) {
      const tf = byName.get(teamStack(t))!;
      expect(Object.keys(tf.data.terraform_remote_state)).toEqual(["platform"]);
      for (const ref of refsIn(tf).filter((r) => r.startsWith("data.terraform_remote_state."))) {
        expect([...Object.values(PLATFORM_OUTPUTS), ...Object.values(teamIdentityOutputs(t))]).toContain(platformOutput(ref));
      }
    }
    // Every output a team reads is one the platform writes (the workspace id only with diagnostics).
    const platformOutputs = Object.keys(byName.get(config.stackName)!.output);
    const read = new Set(teams.flatMap((t) => refsIn(byName.get(teamStack(t))).map(platformOutput).filter((o): o is string => o !== undefined)));
    expect(read.size).toBeGreaterThan(0);
    for (const o of read) expect(platformOutputs).toContain(o);
    // cdktf's automatic cross-stack outputs are named after construct paths: none here.
    for (const { tf } of stacks) expect(Object.keys(tf.output ?? {}).filter((o) => o.startsWith("cross-stack"))).toEqual([]);
  });
});

describe("moving a deployed single stack to split destroys nothing", () => {
  const single = synthStacks({ ...config, layout: "single" })[0];
  const plan = migrationPlan(single.tf, stacks);

  test("every resource of the single stack lands in exactly one split stack, at the same address, or in its team's state to be deleted there", () => {
    const landed = [...plan.stays, ...plan.moves.map((m) => m.address), ...plan.retires.map((m) => m.address)];
    expect(new Set(landed).size).toBe(landed.length);
    expect(landed.sort()).toEqual(resourcesOf(single.tf).map((r) => r.address).sort());
    expect(plan.dropped).toEqual([]);
    // What retires: the grants to the tasks' system identities outside the team's groups, each in its task's team.
    for (const r of plan.retires) {
      expect(r.address).toMatch(/^(azurerm_key_vault_access_policy\.kv_policy_|azurerm_role_assignment\.(subscription_reader|acr_pull)_)/);
      expect(r.address).toContain(r.to.slice(config.stackName.length + 1));
    }
    expect(plan.retires.length).toBeGreaterThan(0);
  });

  test("with the same Azure name and the same literal attributes (no replacement after the move)", () => {
    const where = new Map<string, string>([...plan.stays.map((a) => [a, config.stackName] as [string, string]), ...plan.moves.map((m) => [m.address, m.to] as [string, string])]);
    for (const r of resourcesOf(single.tf)) {
      if (!where.has(r.address)) continue; // retired: deleted by its team's apply
      const [type, name] = r.address.split(".");
      const moved = byName.get(where.get(r.address)!)!.resource![type][name];
      // The subscription reader role is the platform's now, renamed in place ("(<team> tasks)"), so
      // that it never shares a name with the one an older team stack holds (help/split.md).
      if (/^azurerm_role_definition\.subscription_reader_role_/.test(r.address)) {
        expect(moved.name).toEqual(r.body.name.replace(/\(([a-z0-9]+)\)/, "($1 tasks)"));
        expect(literalShape({ ...moved, name: "" })).toEqual(literalShape({ ...r.body, name: "" }));
        continue;
      }
      // An app task switches to its team's identity: updated in place (no ForceNew attribute).
      if (r.type === "azurerm_container_registry_task" && moved.identity.type === "UserAssigned") continue;
      // A team stack names its groups (the platform makes them) where the single stack references
      // the group it makes: the same value, known before the plan.
      const viaGroups = where.get(r.address) === config.stackName ? r.body : byGroupName(r.body, single.tf.resource.azurerm_resource_group);
      expect(moved.name).toEqual(viaGroups.name);
      expect(literalShape(moved)).toEqual(literalShape(viaGroups));
    }
  });

  test("what is new in the split layout: each team's own pause and environment record, and the platform's team identities with their grants", () => {
    const inTeams = plan.created.filter((c) => c.in !== config.stackName);
    // Each team of split.yaml pulls with its token: its own vault, with its deployers' and its identity's policies.
    const own = (t: string) => [`azurerm_key_vault.key_vault_${t}_kv`, `azurerm_key_vault_access_policy.kv_policy_${t}_kv_deployer`, `azurerm_key_vault_access_policy.kv_policy_${t}_kv_${t}_tasks`];
    expect([...new Set(inTeams.map((c) => `${c.in} ${c.address}`))].sort()).toEqual(
      teams.flatMap((t) => [...own(t), "terraform_data.environment", "time_sleep.grants_propagation"].map((a) => `${teamStack(t)} ${a}`)).sort(),
    );
    expect(inTeams.length).toBe(teams.length * 5);
    const inPlatform = plan.created.filter((c) => c.in === config.stackName).map((c) => c.address);
    // split.yaml: base pulls with its token, so Get on the vault, no AcrPull.
    expect(inPlatform.sort()).toEqual(
      teams
        .flatMap((t) => [
          `azurerm_user_assigned_identity.team_identity_${t}`,
          `azurerm_key_vault_access_policy.kv_policy_split_task_creds_${t}_tasks`,
          `azurerm_role_assignment.subscription_reader_${t}_tasks`,
        ])
        .sort(),
    );
  });

  test("the multi-team example, split, maps the same way and its script uses pull, mv, push", () => {
    const text = fs.readFileSync(path.join(examples, "multi-team.yaml"), "utf8");
    const split = parseConfig(`layout: split\n${text}`);
    const s = synthStacks(split);
    const p = migrationPlan(synthStacks({ ...split, layout: "single" })[0].tf, s);
    expect(p.dropped).toEqual([]);
    expect(p.moves.length + p.retires.length + p.stays.length).toBe(resourcesOf(synthStacks({ ...split, layout: "single" })[0].tf).length);
    const script = migrationScript(p, split.stackName, split.backend, new Map(split.teamRegistries.map((t) => [teamStack(t.name), teamBackend(split.backend, t.name)])));
    expect(script).toContain("terraform state pull");
    expect(script.match(/terraform state push/g)!.length).toBe(new Set([...p.moves, ...p.retires].map((m) => m.to)).size + 1);
  });

  const terraform = spawnSync("terraform", ["version"], { encoding: "utf8" });
  const haveTerraform = requireTool("terraform (to run the migration script)", !terraform.error && terraform.status === 0);
  (haveTerraform ? test : test.skip)(
    "the generated script, run by terraform on a single-stack state, leaves each resource in its stack's state",
    () => {
      // A small split config keeps the test at a few seconds (one terraform run per move).
      const small = parseConfig(
        SPLIT_YAML.replace(/\n {2}- name: splitdata\n {2}- name: splitops/, "").replace(/\n {2}- name: reports[\s\S]*$/, "\n"),
      );
      const s = synthStacks(small);
      const from = synthStacks({ ...small, layout: "single" })[0].tf;
      const p = migrationPlan(from, s);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-migrate-"));
      try {
        const state = fakeState(resourcesOf(from).map((r) => r.address), "00000000-0000-0000-0000-000000000001");
        fs.writeFileSync(path.join(dir, "acr-gate.tfstate"), JSON.stringify(state));
        const teamBackends = new Map(small.teamRegistries.map((t) => [teamStack(t.name), teamBackend(small.backend, t.name)]));
        fs.writeFileSync(path.join(dir, "migrate.sh"), migrationScript(p, small.stackName, small.backend, teamBackends));
        const run = spawnSync("sh", ["migrate.sh"], { cwd: dir, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_CLI_CONFIG_FILE: "/dev/null" } });
        expect(run.stderr.replace(/.*CLI configuration[\s\S]*?╵\n?/g, "")).not.toMatch(/Error/);
        expect(run.status).toBe(0);
        const held = (file: string) =>
          JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"))
            .resources.map((r: any) => `${r.type}.${r.name}`)
            .sort();
        expect(held("acr-gate.tfstate")).toEqual([...p.stays].sort());
        expect(held("acr-gate-splitweb.tfstate")).toEqual([...p.moves, ...p.retires].map((m) => m.address).sort());
        // The resource keeps its attributes (its Azure id) in the new state.
        const moved = JSON.parse(fs.readFileSync(path.join(dir, "acr-gate-splitweb.tfstate"), "utf8")).resources[0];
        expect(moved.instances[0].attributes.id).toBe(`/fake/${moved.type}.${moved.name}`);
        expect(fs.existsSync(path.join(dir, "acr-gate.tfstate.before-split"))).toBe(true);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});

/**
 * State isolation per environment (help/operations.md, "State containers per environment"): with
 * an azurerm backend and `environment`, each environment's states are in containers of their own,
 * so a container-scoped data role never reaches another environment's state (which holds its tokens
 * in clear).
 */
describe("state containers per environment (azurerm, environments dev, test and prod)", () => {
  const AZ = "backend: { type: azurerm, resourceGroupName: tfstate-rg, storageAccountName: contosotfstate }\n";
  const ENVS = ["dev", "test", "prod"];
  const synthEnv = (env: string, backend = AZ) => synthStacks(parseConfig(`${SPLIT_YAML}environment: ${env}\n${backend}`));
  const byEnv = new Map(ENVS.map((e) => [e, synthEnv(e)]));
  const where = (b: any) => `${b.storage_account_name}/${b.container_name}`;

  test.each(ENVS)("%s: the platform's state in tfstate-%s, each team's in tfstate-%s-<team>, blobs keep their names", (env) => {
    const s = byEnv.get(env)!;
    expect(s.map((x) => x.tf.terraform.backend.azurerm.container_name)).toEqual([`tfstate-${env}`, ...teams.map((t) => `tfstate-${env}-${t}`)]);
    // The environment stays in the blob name, as before containers were per environment: moving there changes the container alone.
    expect(s.map((x) => x.tf.terraform.backend.azurerm.key)).toEqual([`acr-gate-${env}.tfstate`, ...teams.map((t) => `acr-gate-${env}-${t}.tfstate`)]);
  });

  test("no two stacks of any two environments share a container (so no data role on one reaches two)", () => {
    const all = [...byEnv.values()].flatMap((s) => s.map((x) => where(x.tf.terraform.backend.azurerm)));
    expect(all).toHaveLength(ENVS.length * (teams.length + 1));
    expect(new Set(all).size).toBe(all.length);
  });

  test.each(ENVS)("%s: every team reads the platform state of its own environment, exactly where that platform writes it", (env) => {
    const [platform, ...teamStacks] = byEnv.get(env)!;
    const own = platform.tf.terraform.backend.azurerm;
    const others = ENVS.filter((e) => e !== env).map((e) => where(byEnv.get(e)![0].tf.terraform.backend.azurerm));
    for (const t of teamStacks) {
      const read = t.tf.data.terraform_remote_state.platform;
      expect(read.backend).toBe("azurerm");
      expect(read.config).toEqual(own);
      expect(others).not.toContain(where(read.config));
    }
  });

  test("an explicit containerName is suffixed too (isolation by default); without an environment nothing is", () => {
    const named = "backend: { type: azurerm, resourceGroupName: tfstate-rg, storageAccountName: contosotfstate, containerName: states }\n";
    expect(synthEnv("prod", named).map((x) => x.tf.terraform.backend.azurerm.container_name)).toEqual(["states-prod", ...teams.map((t) => `states-prod-${t}`)]);
    expect(synthStacks(parseConfig(SPLIT_YAML + named)).map((x) => x.tf.terraform.backend.azurerm.container_name)).toEqual(["states", ...teams.map((t) => `states-${t}`)]);
  });

  test("the single layout too: its one state in <containerName>-<environment>", () => {
    const single = synthStacks(parseConfig(`${SPLIT_YAML.replace("layout: split", "layout: single")}environment: test\n${AZ}`));
    expect(single.map((x) => x.tf.terraform.backend.azurerm)).toEqual([expect.objectContaining({ container_name: "tfstate-test", key: "acr-gate-test.tfstate" })]);
  });

  test("a local backend is unchanged by the containers: the environment names the file", () => {
    expect(synthEnv("dev", "").map((x) => x.tf.terraform.backend.local.path)).toEqual(["../../../acr-gate-dev.tfstate", ...teams.map((t) => `../../../acr-gate-dev-${t}.tfstate`)]);
  });

  describe("container names that Azure would refuse are refused at config time, naming the parts to shorten", () => {
    const problems = problemsOf;
    const long = "c".repeat(60);
    test("the environment's container too long", () => {
      const p = problems(`${SPLIT_YAML}environment: prod\nbackend: { type: azurerm, resourceGroupName: tfstate-rg, storageAccountName: contosotfstate, containerName: ${long} }\n`);
      expect(p).toContain(`environment: "prod" gives the state container "${long}-prod" (backend.containerName + "-" + environment), which is not a valid storage container name`);
      expect(p).toContain("shorten backend.containerName or the environment name");
      // One mistake, one message: the team containers built on it are not listed as well.
      expect(p).not.toMatch(/gives the team state container/);
    });
    test("an environment ending in a hyphen gives a container ending in one", () => {
      expect(problems(`${SPLIT_YAML}environment: dev-\n${AZ}`)).toMatch(/environment: "dev-" gives the state container "tfstate-dev-"/);
    });
    test("a team's container too long only with the environment: every team named, each with the fix", () => {
      const c = "c".repeat(45); // 45 + "-production-" + 8 = 65 > 63; 45 + "-production" = 56 and 45 + "-splitweb" = 54 fit
      const yaml = `${SPLIT_YAML}environment: production\nbackend: { type: azurerm, resourceGroupName: tfstate-rg, storageAccountName: contosotfstate, containerName: ${c} }\n`;
      expect(problems(`${SPLIT_YAML}backend: { type: azurerm, resourceGroupName: tfstate-rg, storageAccountName: contosotfstate, containerName: ${c} }\n`)).toBe("");
      const p = problems(yaml);
      for (const [i, t] of teams.entries()) {
        expect(p).toContain(`teamRegistries[${i}].name: "${t}" gives the team state container "${c}-production-${t}", which is not a valid storage container name`);
      }
      expect(p).toContain("shorten backend.containerName, the environment name or the registry name");
    });
    test("a partial or local backend has no container to check", () => {
      expect(problems(`${SPLIT_YAML.replace("layout: split", "layout: single")}environment: dev-\nbackend: { type: partial }\n`)).toBe("");
      expect(problems(`${SPLIT_YAML}environment: dev-\n`)).toBe("");
    });
  });
});

describe("config rules of the split layout", () => {
  const problems = (yaml: string) => {
    try {
      parseConfig(yaml);
      return [];
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return e.problems;
    }
  };

  test("a partial backend is refused: team stacks must know where the platform's state is", () => {
    expect(problems(SPLIT_YAML + "backend: { type: partial }\n").join("\n")).toMatch(/layout: "split" needs backend.type 'local' or 'azurerm'/);
  });

  test("a team stack name that would be too long names the team and the fix", () => {
    expect(problems(SPLIT_YAML.replace("layout: split", `layout: split\nstackName: ${"s".repeat(60)}`)).join("\n")).toMatch(/teamRegistries\[0\]\.name: "splitweb" gives the team stack name/);
  });

  test("two teams cannot share a container group's resource group", () => {
    const yaml = SPLIT_YAML.replace("registry: splitdata", "registry: splitdata\n    aci: { resourceGroup: storefront-aci-rg }");
    expect(problems(yaml).join("\n")).toMatch(/apps\[2\]\.aci\.resourceGroup: "storefront-aci-rg" is also the resource group of apps\[0\]\.name \(stack of team splitweb\)/);
  });

  test("a team cannot share a durable group with the platform or another team", () => {
    const platformAndTeam = SPLIT_YAML.replace("  - name: splitops", "  - name: splitops\n    resourceGroup: splitbaseartifacts-rg");
    expect(problems(platformAndTeam).join("\n")).toMatch(
      /teamRegistries\[2\]\.resourceGroup: "splitbaseartifacts-rg" is also the resource group of baseArtifactsRegistry\.name \(platform stack\)/,
    );
    const twoTeams = SPLIT_YAML.replace("  - name: splitdata", "  - name: splitdata\n    resourceGroup: splitweb-rg");
    expect(problems(twoTeams).join("\n")).toMatch(/teamRegistries\[1\]\.resourceGroup: "splitweb-rg" is also the resource group of teamRegistries\[0\]\.name \(stack of team splitweb\)/);
    // The single layout keeps allowing a shared registry group: one stack creates it once.
    expect(problems(twoTeams.replace("layout: split", "layout: single"))).toEqual([]);
  });

  test("the CLI prints the migration script for a split config, and refuses a single one", () => {
    const main = path.join(__dirname, "..", "dist", "main.js");
    const ok = spawnSync(process.execPath, [main, "--config", path.join(examples, "split.yaml"), "--migration-script"], { encoding: "utf8" });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^#!\/bin\/sh\n/);
    expect(ok.stdout.match(/^terraform state mv /gm)!.length).toBe(plan().moves.length + plan().retires.length);
    expect(ok.stderr).toMatch(/resources move to 3 team states/);
    const no = spawnSync(process.execPath, [main, "--config", path.join(examples, "dockerhub.yaml"), "--migration-script"], { encoding: "utf8" });
    expect(no.status).toBe(1);
    expect(no.stderr).toMatch(/has layout 'single'/);
  });

  test("the CLI prints the group import script for a split config: one import per group a team hands over, valid JSON; refuses a single one", () => {
    const main = path.join(__dirname, "..", "dist", "main.js");
    const ok = spawnSync(process.execPath, [main, "--config", path.join(examples, "split.yaml"), "--group-import-script"], { encoding: "utf8" });
    expect(ok.status).toBe(0);
    expect(ok.stderr).toMatch(/^acr-gate: 7 resource groups of 3 team stacks to import into acr-gate$/m);
    // Every group the teams' removed blocks forget is one the platform declares, and imported.
    const handed = teams.flatMap((t) => (byName.get(teamStack(t))!.removed as any[]).map((r) => r.from)).sort();
    expect(handed.length).toBe(7);
    for (const a of handed) expect(byName.get(config.stackName)!.resource.azurerm_resource_group[a.split(".")[1]]).toBeDefined();
    // Run it: the file it writes is the import blocks, with the subscription given.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-imports-"));
    fs.mkdirSync(path.join(dir, "cdktf.out", "stacks", config.stackName), { recursive: true });
    fs.writeFileSync(path.join(dir, "import.sh"), ok.stdout);
    const sub = "12345678-1234-1234-1234-123456789abc";
    const run = spawnSync("sh", ["import.sh"], { cwd: dir, env: { PATH: process.env.PATH ?? "", ARM_SUBSCRIPTION_ID: sub }, encoding: "utf8" });
    expect(run.status).toBe(0);
    const json = JSON.parse(fs.readFileSync(path.join(dir, "cdktf.out", "stacks", config.stackName, "team-groups-import.tf.json"), "utf8"));
    const groups = byName.get(config.stackName)!.resource.azurerm_resource_group;
    expect(json.import.map((i: any) => i.to).sort()).toEqual(handed);
    for (const i of json.import) expect(i.id).toBe(`/subscriptions/${sub}/resourceGroups/${groups[i.to.split(".")[1]].name}`);
    // No subscription, or not one: nothing written.
    fs.rmSync(path.join(dir, "cdktf.out", "stacks", config.stackName, "team-groups-import.tf.json"));
    for (const bad of [{}, { ARM_SUBSCRIPTION_ID: "x'; rm -rf /" }]) {
      const r = spawnSync("sh", ["import.sh"], { cwd: dir, env: { PATH: process.env.PATH ?? "", ...bad }, encoding: "utf8" });
      expect(r.status).not.toBe(0);
      expect(fs.existsSync(path.join(dir, "cdktf.out", "stacks", config.stackName, "team-groups-import.tf.json"))).toBe(false);
    }
    const no = spawnSync(process.execPath, [main, "--config", path.join(examples, "dockerhub.yaml"), "--group-import-script"], { encoding: "utf8" });
    expect(no.status).toBe(1);
    expect(no.stderr).toMatch(/has layout 'single'/);
  });
});

function plan() {
  return migrationPlan(synthStacks({ ...config, layout: "single" })[0].tf, stacks);
}

describe("teamRegistries[].keyVault: a split team's own vault for its token's secrets", () => {
  const split = fs.readFileSync(path.join(examples, "split.yaml"), "utf8");
  const teamsBlock = "teamRegistries:\n  - name: splitweb\n  - name: splitdata\n  - name: splitops\n";
  const withTeams = (block: string, base = split) => {
    expect(base).toContain(teamsBlock);
    return base.replace(teamsBlock, block);
  };
  const vaultsOf = (yaml: string) => synthStacks(parseConfig(yaml)).map((s) => Object.values<any>(s.tf.resource.azurerm_key_vault ?? {}).map((v) => v.name));

  test("default <name>-kv for each team that pulls with its token; a name given is used", () => {
    expect(vaultsOf(split)).toEqual([["split-task-creds"], ["splitweb-kv"], ["splitdata-kv"], ["splitops-kv"]]);
    const named = withTeams("teamRegistries:\n  - name: splitweb\n    keyVault: { name: web-secrets }\n  - name: splitdata\n  - name: splitops\n");
    expect(vaultsOf(named)[1]).toEqual(["web-secrets"]);
    const [, web] = synthStacks(parseConfig(named));
    expect(Object.values<any>(web.tf.resource.azurerm_container_registry_task).find((t) => t.name === "storefront").encoded_step.values.KEYVAULT).toBe("web-secrets");
  });

  test("no vault for a team whose apps all pull with their identity, and no platform vault policy when it reads nothing there", () => {
    const identityOnly = split.replace(/(  - name: status\n(?:    .*\n)*?)(    aci: \{ cpu: 0\.5, memoryGb: 1 \})/, "$1    aci: { cpu: 0.5, memoryGb: 1, pullWith: identity }");
    expect(identityOnly).not.toBe(split);
    const stacks = synthStacks(parseConfig(identityOnly));
    expect(Object.keys(stacks[3].tf.resource.azurerm_key_vault ?? {})).toEqual([]);
    expect(Object.keys(stacks[3].tf.resource.azurerm_key_vault_secret ?? {})).toEqual([]);
    // Base artifacts pulled by identity: the platform grants no team identity Get on its vault.
    const byIdentity = synthStacks(parseConfig(`${identityOnly}`.replace("  name: splitbaseartifacts\n", "  name: splitbaseartifacts\n  taskCredential: identity\n")));
    const policies = Object.values<any>(byIdentity[0].tf.resource.azurerm_key_vault_access_policy ?? {}).map((p) => p.object_id);
    expect(policies.filter((o) => /team_identity_/.test(o))).toEqual([]);
    // The team that still pulls with its token reads its own vault only.
    expect(Object.keys(byIdentity[1].tf.resource.azurerm_key_vault)).toEqual(["key_vault_splitweb_kv"]);
  });

  test("refused: outside split, for a team that stores no secret, a default too long, a name taken twice", () => {
    const single = withTeams("teamRegistries:\n  - name: splitweb\n    keyVault: { name: web-secrets }\n  - name: splitdata\n  - name: splitops\n", split.replace("layout: split", "layout: single"));
    expect(problemsOf(single)).toMatch(/teamRegistries\[0\]\.keyVault.*has no effect: only a split team stack makes a vault of its own/);
    const noToken = withTeams("teamRegistries:\n  - name: splitweb\n  - name: splitdata\n  - name: splitops\n  - name: splitidle\n    keyVault: { name: idle-secrets }\n");
    expect(problemsOf(noToken)).toMatch(/teamRegistries\[3\]\.keyVault.*has no effect: none of the team's apps pulls with a token/);
    const long = "a".repeat(22);
    const tooLong = withTeams(`teamRegistries:\n  - name: ${long}\n  - name: splitdata\n  - name: splitops\n`).replace(/registry: splitweb/g, `registry: ${long}`);
    expect(problemsOf(tooLong)).toMatch(new RegExp(`teamRegistries\\[0\\]\\.name.*${long}.*default name "${long}-kv".*set teamRegistries\\[0\\]\\.keyVault\\.name`));
    // Given, the name fixes it.
    expect(problemsOf(tooLong.replace(`  - name: ${long}\n`, `  - name: ${long}\n    keyVault: { name: long-team-kv }\n`))).toBe("");
    const taken = withTeams("teamRegistries:\n  - name: splitweb\n    keyVault: { name: splitdata-kv }\n  - name: splitdata\n  - name: splitops\n    keyVault: { name: split-task-creds }\n");
    const problems = problemsOf(taken);
    expect(problems).toMatch(/teamRegistries\[1\]\.name/);
    expect(problems).toMatch(/teamRegistries\[2\]\.keyVault\.name/);
    // Untrusted text is refused by the name rule before it reaches any JSON.
    expect(problemsOf(withTeams('teamRegistries:\n  - name: splitweb\n    keyVault: { name: "a${b}c" }\n  - name: splitdata\n  - name: splitops\n'))).toMatch(/teamRegistries\[0\]\.keyVault\.name/);
  });
});
