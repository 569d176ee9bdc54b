/**
 * Moving a deployed single stack to the split layout (help/split.md, "Moving a deployed single stack
 * to split"), in Terraform's own engine on mocked providers (`terraform test`, Terraform 1.11 for
 * `state_key`), for examples/split.yaml and its single-layout equivalent (the same config with
 * `layout: single`, as `--migration-script` synthesizes it).
 *
 * terraform test cannot run `terraform state mv`, so the moves are expressed as what they leave in
 * each state: the single stack is applied, then
 * - the platform stack is planned on that state with a `removed { lifecycle { destroy = false } }`
 *   block (Terraform 1.7+: forget, do not destroy) for every address migrationPlan moves out;
 * - each team stack is planned on its own copy of that state, from which the addresses it creates
 *   itself (its pause, its environment record: the platform's in the single state) were first
 *   forgotten by an apply, and with a `removed` block for every other address it does not receive:
 *   what is left is the team's share with the single apply's attributes (ids) carried over, as
 *   `state mv` carries them;
 * - each team stack is also planned on an empty state with an `import` block for every moved
 *   resource (the alternative help/split.md turns down), to see what Terraform makes of it.
 * The `removed` blocks are the test's device: the migration itself is the script's `state mv`, and
 * no JSON of acr-gate carries them. Then the migration order (a team stack planned before the
 * platform's state holds its outputs fails), and the move of the team states' backend container
 * since the 4.55.0 era, on a stand-in.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseConfig } from "../lib/config";
import { synthesizeInMemory } from "../app/synth";
import { migrationPlan } from "../app/migration";
import { teamBackend } from "../constructs/workflow";
import { fakeState } from "./helpers";
import { requireTool } from "./support/go-render";
import { hcl, mockedValues, mockHeader, remoteOutput } from "./support/tf-test";
import { atLeast, engine, MIRROR, offlineEnv, REPO, runTest, testable, workDir } from "./support/tf-runner";

const tf = engine(process.env.ACR_GATE_TERRAFORM ?? "terraform");
const ready = requireTool(
  "terraform 1.11+ and the provider mirror (ACR_GATE_TF_MIRROR or ../shared/terraform-mirror) with azurerm 4.81.0 and time 0.13.1",
  tf.name === "terraform" && atLeast(tf.version, "1.11") && MIRROR !== undefined,
);
const work = workDir("tfsplit");
const maybe = ready ? test : test.skip;
/** What this file runs, for the figures help/validation.md quotes (checked by the last test). */
const tally = { pairs: 0, runs: 0, commands: 0 };
function terraformTest(dir: string): ReturnType<typeof runTest> {
  const r = runTest(work, tf, dir);
  tally.pairs += 1;
  tally.runs += r.runs.size;
  return r;
}

const SPLIT_YAML = path.join(REPO, "examples", "split.yaml");
const config = parseConfig(fs.readFileSync(SPLIT_YAML, "utf8"), SPLIT_YAML);
// What `--migration-script` compares (app/cli.ts): the same config synthesized in both layouts.
const single = synthesizeInMemory({ ...config, layout: "single" }).get(config.stackName)!;
const split = [...synthesizeInMemory(config)].map(([name, json]) => ({ name, tf: json }));
const plan = migrationPlan(single, split);
const platform = split[0];
const teams = split.slice(1);

/** Registries, the vault, secrets, resource groups, tokens, scope maps: never deleted or replaced by the move. */
const DURABLE = new Set(["azurerm_container_registry", "azurerm_key_vault", "azurerm_key_vault_secret", "azurerm_resource_group", "azurerm_container_registry_token", "azurerm_container_registry_scope_map"]);
const addressesOf = (json: any): string[] => Object.entries<any>(json.resource ?? {}).flatMap(([type, rs]) => Object.keys(rs).map((n) => `${type}.${n}`));
const removed = (from: string[]) => from.map((a) => ({ from: a, lifecycle: { destroy: false } }));
/**
 * The JSON without some resources: deleted, and dropped from every `depends_on` (ordering only). No
 * expression may still read them: if one did, this JSON would no longer plan like the single stack,
 * and the test stops here rather than plan something else.
 */
function without(json: any, addresses: string[]): any {
  const copy = JSON.parse(JSON.stringify(json));
  for (const a of addresses) {
    const [type, name] = a.split(".");
    delete copy.resource[type][name];
    if (Object.keys(copy.resource[type]).length === 0) delete copy.resource[type];
  }
  for (const rs of Object.values<any>(copy.resource)) for (const r of Object.values<any>(rs)) if (r.depends_on) r.depends_on = r.depends_on.filter((d: string) => !addresses.includes(d));
  for (const a of addresses) expect(JSON.stringify(copy).match(new RegExp(`\\$\\{[^}]*\\b${a.replace(".", "\\.")}\\b`, "g")) ?? []).toEqual([]);
  return copy;
}
/** Resource changes of a plan other than no-op, by action: { "forget": [addresses], ... }. */
function byAction(p: any): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const c of p.resource_changes ?? []) {
    const a = c.change.actions.join("+");
    if (a !== "no-op") (out[a] ??= []).push(c.address);
  }
  for (const v of Object.values(out)) v.sort();
  return out;
}
/** The platform outputs each team reads, from its JSON (the same reading as mockHeader's). */
const outputsRead = (json: any) => [...new Set([...JSON.stringify(json).matchAll(/data\.terraform_remote_state\.platform\.outputs\.([A-Za-z0-9_]+)/g)].map((m) => m[1]))].sort();

// The mocks and variables of every stack involved: the single stack declares every variable a
// split stack does, and the override of the platform's remote state gives every output any team reads.
const header = mockHeader({ variable: single.variable, data: { terraform_remote_state: { platform: {} } }, teams: teams.map((t) => t.tf) });

function writeModule(dir: string, name: string, json: any): void {
  fs.mkdirSync(path.join(dir, name), { recursive: true });
  fs.writeFileSync(path.join(dir, name, "cdk.tf.json"), JSON.stringify(json, null, 2));
}

describe("single -> split: the migration's state moves planned by Terraform on mocked providers (examples/split.yaml)", () => {
  test("migrationPlan for the example moves something to every team, and drops nothing", () => {
    // The figures the engine test below checks against; nothing in them is written by hand.
    expect(new Set(plan.moves.map((m) => m.to))).toEqual(new Set(teams.map((t) => t.name)));
    expect(plan.dropped).toEqual([]);
    expect(plan.stays.length + plan.moves.length + plan.retires.length).toBe(addressesOf(single).length);
  });

  let outcome: ReturnType<typeof runTest>;
  const dir = path.join(work, "moves");
  beforeAll(() => {
    if (!ready) return;
    fs.mkdirSync(dir, { recursive: true });
    writeModule(dir, "single", testable(single));
    // The root module is the platform after the move: `removed` (not destroyed) for every moved address.
    const p = testable(platform.tf);
    p.removed = removed([...plan.moves, ...plan.retires].map((m) => m.address));
    fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(p, null, 2));
    const runs = [`run "single" {\n  command   = apply\n  state_key = "platform"\n  module {\n    source = "./single"\n  }\n}\n`, `run "platform" {\n  command   = plan\n  state_key = "platform"\n}\n`];
    for (const t of teams) {
      const mine = new Set([...plan.moves, ...plan.retires].filter((m) => m.to === t.name).map((m) => m.address));
      // The addresses the team creates that the single state holds as the platform's (its grants
      // pause and environment record): `state mv` leaves them out of the team's state, so they are
      // forgotten first, by an apply of the single stack without them (a `removed` block cannot
      // name an address its configuration still declares).
      const collide = plan.created.filter((c) => c.in === t.name && addressesOf(single).includes(c.address)).map((c) => c.address);
      const mv = without(testable(single), collide);
      mv.removed = removed(collide);
      writeModule(dir, `mv_${t.name}`, mv);
      const j = testable(t.tf);
      // The team's state after `state mv`: the single state without everything that is not its share.
      j.removed = removed(addressesOf(single).filter((a) => !mine.has(a) && !collide.includes(a)));
      writeModule(dir, t.name, j);
      runs.push(
        `run "single_for_${t.name}" {\n  command   = apply\n  state_key = "${t.name}"\n  module {\n    source = "./single"\n  }\n}\n`,
        `run "mv_${t.name}" {\n  command   = apply\n  state_key = "${t.name}"\n  module {\n    source = "./mv_${t.name}"\n  }\n}\n`,
        `run "${t.name}" {\n  command   = plan\n  state_key = "${t.name}"\n  module {\n    source = "./${t.name}"\n  }\n}\n`,
      );
    }
    fs.writeFileSync(path.join(dir, "main.tftest.hcl"), `${header}\n${runs.join("\n")}`);
    outcome = terraformTest(dir);
  }, 300_000);

  maybe("every run passes", () => {
    expect({ summary: outcome.summary, diagnostics: outcome.diagnostics }).toEqual({
      summary: expect.objectContaining({ status: "pass", passed: 2 + 3 * teams.length, failed: 0, errored: 0 }),
      diagnostics: [],
    });
  });

  maybe("the platform, planned on the single state: forgets exactly migrationPlan's moves, destroys only its dropped, replaces nothing durable", () => {
    const p = outcome.plans.get("platform");
    const acts = byAction(p);
    // `removed` with destroy = false: Terraform stops managing the moved resources and leaves them in Azure.
    expect(acts.forget).toEqual([...plan.moves, ...plan.retires].map((m) => m.address).sort());
    const deleted = Object.entries(acts).filter(([a]) => a.includes("delete")).flatMap(([, v]) => v);
    expect(deleted.filter((a) => !plan.dropped.includes(a))).toEqual([]);
    expect(deleted.filter((a) => DURABLE.has(a.split(".")[0]))).toEqual([]);
    expect(acts.create ?? []).toEqual(plan.created.filter((c) => c.in === platform.name).map((c) => c.address).sort());
    // What else the platform's plan changes, as it is: the team outputs go, the interface outputs come,
    // its grants pause (triggers: the grants it waits for, which are the teams' now) is renewed, and
    // the teams' subscription reader roles, the platform's now, are renamed in place ("(<team> tasks)").
    expect(acts.update ?? []).toEqual(["time_sleep.grants_propagation", ...teams.map((t) => `azurerm_role_definition.subscription_reader_role_${t.name.slice(config.stackName.length + 1)}`)].sort());
    const outputs = Object.entries<any>(p.output_changes ?? {}).filter(([, c]) => c.actions.join() !== "no-op");
    const singleOutputs = Object.keys(single.output ?? {});
    const platformOutputs = Object.keys(platform.tf.output ?? {});
    expect(outputs.map(([n, c]) => `${n}: ${c.actions.join("+")}`).sort()).toEqual(
      [...singleOutputs.filter((o) => !platformOutputs.includes(o)).map((o) => `${o}: delete`), ...platformOutputs.filter((o) => !singleOutputs.includes(o)).map((o) => `${o}: create`)].sort(),
    );
  });

  maybe.each(teams.map((t) => t.name))("team %s, planned on its share of the single state: keeps every moved resource but its tasks' switch to the team identity, deletes only what retires, nothing durable replaced", (team) => {
    const p = outcome.plans.get(team);
    const mine = plan.moves.filter((m) => m.to === team).map((m) => m.address);
    const retiring = plan.retires.filter((m) => m.to === team).map((m) => m.address);
    const acts = byAction(p);
    // The tasks switch to the identity the platform made (help/split.md, "Team identities"): updated
    // in place, their first runs replaced. Their deploy grants get a new principal_id (ForceNew,
    // npm run diff: replace), which mocks cannot show: the mocked task identity and team identity
    // share one object id, so here they are kept.
    // The team's token's two secrets move into the team's own vault (help/split.md, "Team vaults"): a
    // new key_vault_id replaces them (ForceNew: npm run diff says replace; a mock plans an update),
    // their values regenerated from the token password in state.
    const toTeamVault = (a: string) => new RegExp(`^azurerm_key_vault_secret\\.secret_registry_${team.slice(config.stackName.length + 1)}_(user|password)$`).test(a);
    const switching = (a: string) => /^azurerm_container_registry_task(_schedule_run_now)?\./.test(a) || toTeamVault(a);
    const updated = (a: string) => /^azurerm_container_registry_task\./.test(a) || toTeamVault(a);
    // Every other moved resource is in the plan, unchanged: the ids the single apply wrote serve the team stack as they are.
    const kept = (p.resource_changes as any[]).filter((c) => c.change.actions.join() === "no-op").map((c) => c.address);
    expect(kept.sort()).toEqual(mine.filter((a) => !switching(a)).sort());
    expect(mine.filter(toTeamVault)).toHaveLength(2);
    expect(acts.update ?? []).toEqual(mine.filter(updated).sort());
    expect([...(acts["create+delete"] ?? []), ...(acts["delete+create"] ?? [])].sort()).toEqual(mine.filter((a) => switching(a) && !updated(a)).sort());
    expect(acts.delete ?? []).toEqual([...retiring].sort());
    expect(retiring.length).toBeGreaterThan(0);
    expect(acts.create ?? []).toEqual(createdIn(team).sort());
    expect(Object.keys(acts).filter((a) => !["create", "forget", "update", "delete", "create+delete", "delete+create"].includes(a))).toEqual([]);
    for (const [a, list] of Object.entries(acts)) if (a.includes("delete")) expect(list.filter((x) => DURABLE.has(x.split(".")[0]))).toEqual([]);
    // The rest of the single state is forgotten: the platform's share and the other teams'.
    const collide = plan.created.filter((c) => c.in === team && addressesOf(single).includes(c.address)).length;
    expect(acts.forget.length).toBe(addressesOf(single).length - mine.length - retiring.length - collide);
  });
});

/**
 * What migrationPlan says a stack creates, as Terraform's instances: a team vault's deployer policies
 * are one per key of the `deployers` variable (the test's value: `ops`).
 */
function createdIn(stack: string): string[] {
  return plan.created.filter((c) => c.in === stack).map((c) => (/^azurerm_key_vault_access_policy\.kv_policy_\w+_deployer$/.test(c.address) ? `${c.address}["ops"]` : c.address));
}

describe("single -> split with import blocks instead of state mv (the alternative help/split.md turns down)", () => {
  // Import blocks are allowed in the root module only: one directory, init and test per team.
  maybe.each(teams.map((t) => t.name))("team %s: what Terraform makes of importing its moved resources", (team) => {
    const dir = path.join(work, "import", team);
    fs.mkdirSync(dir, { recursive: true });
    // The team's token's secrets are not imported: they go to the team's own vault, where they are
    // created (an import would read them from the platform's vault, where the config no longer puts them).
    const toTeamVault = (a: string) => /^azurerm_key_vault_secret\.secret_registry_[a-z0-9]+_(user|password)$/.test(a);
    const moved = plan.moves.filter((m) => m.to === team).map((m) => m.address);
    const mine = moved.filter((a) => !toTeamVault(a));
    expect(moved.filter(toTeamVault)).toHaveLength(2);
    const j = testable(teams.find((t) => t.name === team)!.tf);
    // The id an import needs is Azure's; here each type's mocked one (all instances of a type share it).
    j.import = mine.map((a) => ({ to: a, id: String(mockedValues(a.split(".")[0])?.id ?? "mock") }));
    fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(j, null, 2));
    // Mock providers refuse imports; an override_resource per imported address gives its values.
    const overrides = mine.map((a) => `  override_resource {\n    target = ${a}\n    values = ${hcl(mockedValues(a.split(".")[0]) ?? {})}\n  }\n`).join("");
    fs.writeFileSync(path.join(dir, "main.tftest.hcl"), `${header}\nrun "import" {\n  command = plan\n${overrides}}\n`);
    const r = terraformTest(dir);
    expect({ summary: r.summary, diagnostics: r.diagnostics }).toEqual({ summary: expect.objectContaining({ status: "pass", passed: 1 }), diagnostics: [] });
    const p = r.plans.get("import");
    // The plan imports exactly the moved resources, creates only migrationPlan's new ones, deletes nothing.
    expect((p.resource_changes as any[]).filter((c) => c.change.importing).map((c) => c.address).sort()).toEqual([...mine].sort());
    const acts = byAction(p);
    expect(acts.create ?? []).toEqual([...createdIn(team), ...moved.filter(toTeamVault)].sort());
    expect(Object.keys(acts).filter((a) => a.includes("delete"))).toEqual([]);
    // And one thing state mv does not do: the imported objects hold what the overrides say, not what
    // the state held, so the record of the token password's hash (its value unknown to the import)
    // is planned as an update. state mv carries the value over (the plan above: no change).
    expect(acts.update ?? []).toEqual(mine.filter((a) => /^terraform_data\.secret_registry_.*_password_revision$/.test(a)).sort());
    expect(acts.update?.length).toBe(1);
  }, 120_000);
});

/**
 * The order help/split.md gives: the platform first. A team stack reads the platform's outputs from
 * its state (data.terraform_remote_state.platform, not mocked here: the built-in provider reads a
 * local state file); planned before the platform's apply wrote them, it fails.
 */
describe("the migration order: a team stack planned before the platform's state holds its outputs fails", () => {
  const team = teams[0];
  const read = outputsRead(team.tf);
  // [module, outputs the platform's state holds (null: no state at all), error expected (null: passes)]
  const cases: [string, string[] | null, RegExp | null][] = [
    ["complete", read, null],
    ["no_platform_state", null, /Unable to find remote state/],
    ...read.map((o): [string, string[], RegExp] => [`without_${o}`, read.filter((x) => x !== o), new RegExp(`Unsupported attribute: .*"${o}"`)]),
  ];
  let outcome: ReturnType<typeof runTest>;
  beforeAll(() => {
    if (!ready) return;
    const dir = path.join(work, "order");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(testable(team.tf), null, 2));
    for (const [name, outputs] of cases) {
      const state = path.join(dir, `${name}.tfstate`);
      if (outputs) {
        const s: any = fakeState([], "00000000-0000-0000-0000-0000000000aa");
        s.outputs = Object.fromEntries(outputs.map((o) => [o, { value: remoteOutput(o), type: "string" }]));
        fs.writeFileSync(state, JSON.stringify(s));
      }
      const j = testable(team.tf);
      expect(j.data.terraform_remote_state.platform.backend).toBe("local");
      j.data.terraform_remote_state.platform.config = { path: state };
      writeModule(dir, name, j);
      // One test file per case: after a run that errors, terraform test skips the file's later runs.
      // No override of the remote state: the mocks and variables only.
      fs.writeFileSync(
        path.join(dir, `${name}.tftest.hcl`),
        `${mockHeader({ variable: team.tf.variable })}\nrun "${name}" {\n  command = plan\n  module {\n    source = "./${name}"\n  }\n}\n`,
      );
    }
    outcome = terraformTest(dir);
  }, 300_000);

  test("the team reads platform outputs", () => expect(read.length).toBeGreaterThan(1));
  maybe.each(cases)("%s", (name, _outputs, error) => {
    if (error === null) {
      expect({ status: outcome.runs.get(name), errors: outcome.errorsByRun.get(name) ?? [] }).toEqual({ status: "pass", errors: [] });
      expect(byAction(outcome.plans.get(name)).create?.length).toBeGreaterThan(0);
    } else {
      expect(outcome.runs.get(name)).toBe("error");
      expect(outcome.errorsByRun.get(name)?.join("\n")).toMatch(error);
    }
  });
});

/**
 * help/versions.md, "Split team states": acr-gate's releases of the 4.55.0 era kept each team's state
 * in the platform's container (`tfstate`, key `<stack>-<team>.tfstate`); since then a team's state
 * is in its own container (`tfstate-<team>`, constructs/workflow.ts teamBackend). The azurerm backend
 * cannot run offline, so this is a STAND-IN: the same team stack JSON with a `local` backend whose
 * path is `<container>/<key>`, old then new. What it exercises is Terraform's own handling of a
 * changed backend configuration at init, which does not depend on the backend type: plain init
 * refuses, `-migrate-state` copies the state to the new place, `-reconfigure` leaves it behind.
 */
describe("split team states since the 4.55.0 era: a new state container (stand-in: local backends, old path -> new path)", () => {
  const azurerm = parseConfig(
    `${fs.readFileSync(SPLIT_YAML, "utf8")}backend: { type: azurerm, resourceGroupName: tfstate-rg, storageAccountName: contosotfstate }\n`,
    "split.yaml with an azurerm backend",
  );
  const team = azurerm.teamRegistries[0].name;
  const now = teamBackend(azurerm.backend, team);
  const stack = [...synthesizeInMemory(azurerm)].find(([n]) => n === `${azurerm.stackName}-${team}`)![1];
  if (azurerm.backend.type !== "azurerm" || now.type !== "azurerm") throw new Error("an azurerm backend expected");
  // Before: the team's key in the platform's container.
  const before = { container: azurerm.backend.containerName, key: now.key };
  const after = { container: now.containerName, key: now.key };
  const addresses = addressesOf(stack);

  test("the team's state container is not the platform's any more, and its key is unchanged", () => {
    expect(stack.terraform.backend.azurerm).toEqual(expect.objectContaining({ container_name: after.container, key: after.key }));
    expect(after.container).not.toBe(before.container);
  });

  const run = (dir: string, ...args: string[]) => {
    tally.commands += 1;
    return spawnSync(tf.bin, args, { cwd: dir, env: offlineEnv(work, tf), encoding: "utf8" });
  };
  // The stack with a local backend at `<container>/<key>`; before, as the 4.55.0 era pinned it.
  const local = (b: { container: string; key: string }, azurerm: string) => {
    const j = JSON.parse(JSON.stringify(stack));
    j.terraform.backend = { local: { path: `${b.container}/${b.key}` } };
    j.terraform.required_providers.azurerm.version = azurerm;
    return j;
  };
  const pinned = stack.terraform.required_providers.azurerm.version as string;
  const locked = (dir: string) => fs.readFileSync(path.join(dir, ".terraform.lock.hcl"), "utf8").match(/provider "registry.terraform.io\/hashicorp\/azurerm" \{\s*version\s*=\s*"([^"]+)"/)?.[1];
  /**
   * The team's state at the old place and the stack directory initialised there by the 4.55.0 era's
   * JSON; then the new JSON written. A plain init must refuse: the backend changed, and Terraform
   * asks which way.
   */
  function deployedBefore(label: string): string {
    const dir = path.join(work, "backend", label);
    fs.mkdirSync(path.join(dir, before.container), { recursive: true });
    fs.writeFileSync(path.join(dir, before.container, before.key), JSON.stringify(fakeState(addresses, "00000000-0000-0000-0000-0000000000bb")));
    fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(local(before, "4.55.0"), null, 2));
    const init = run(dir, "init", "-input=false", "-no-color");
    expect({ init: init.status, stderr: init.stderr }).toEqual({ init: 0, stderr: "" });
    expect(locked(dir)).toBe("4.55.0");
    expect(list(dir)).toEqual([...addresses].sort());
    fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(local(after, pinned), null, 2));
    const plain = run(dir, "init", "-input=false", "-no-color");
    expect(plain.status).not.toBe(0);
    expect(plain.stderr).toMatch(/Backend configuration changed/);
    return dir;
  }
  function list(dir: string): string[] {
    const l = run(dir, "state", "list", "-no-color");
    // The local backend's way of saying the state is empty (the file does not exist yet).
    if (l.status === 1 && /^No state file was found!/.test(l.stderr)) return [];
    expect({ status: l.status, stderr: l.stderr }).toEqual({ status: 0, stderr: "" });
    return l.stdout.split("\n").filter(Boolean).sort();
  }

  maybe("init -migrate-state -upgrade carries the team's state to the new container (and moves the lock from 4.55.0)", () => {
    const dir = deployedBefore("migrate");
    const r = run(dir, "init", "-migrate-state", "-force-copy", "-upgrade", "-input=false", "-no-color");
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(list(dir)).toEqual([...addresses].sort());
    expect(fs.existsSync(path.join(dir, after.container, after.key))).toBe(true);
    expect(locked(dir)).toBe(pinned);
  }, 120_000);

  // A fresh checkout has no .terraform/ recording the old place: it is given with -backend-config.
  // Terraform then keeps that override on every later init whose backend block is unchanged, so a
  // plain -migrate-state moves nothing; the new place must be named again.
  maybe("in a fresh checkout: -backend-config names the old place, then -migrate-state with the new place named", () => {
    const dir = path.join(work, "backend", "fresh");
    fs.mkdirSync(path.join(dir, before.container), { recursive: true });
    fs.writeFileSync(path.join(dir, before.container, before.key), JSON.stringify(fakeState(addresses, "00000000-0000-0000-0000-0000000000cc")));
    fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(local(after, pinned), null, 2));
    const old = `-backend-config=path=${before.container}/${before.key}`;
    const init = run(dir, "init", "-input=false", "-no-color", old);
    expect({ init: init.status, stderr: init.stderr }).toEqual({ init: 0, stderr: "" });
    expect(list(dir)).toEqual([...addresses].sort());
    // The trap: -migrate-state alone succeeds and leaves everything at the old place.
    const alone = run(dir, "init", "-migrate-state", "-force-copy", "-input=false", "-no-color");
    expect({ status: alone.status, stderr: alone.stderr }).toEqual({ status: 0, stderr: "" });
    expect(fs.existsSync(path.join(dir, after.container, after.key))).toBe(false);
    const r = run(dir, "init", "-migrate-state", "-force-copy", "-input=false", "-no-color", `-backend-config=path=${after.container}/${after.key}`);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(fs.existsSync(path.join(dir, after.container, after.key))).toBe(true);
    expect(list(dir)).toEqual([...addresses].sort());
    // And later inits stay there.
    expect(run(dir, "init", "-input=false", "-no-color").status).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, ".terraform", "terraform.tfstate"), "utf8")).backend.config.path).toBe(`${after.container}/${after.key}`);
  }, 120_000);

  maybe("init -reconfigure leaves it behind: the new place holds no state, so the next plan would create the whole team stack", () => {
    const dir = deployedBefore("reconfigure");
    const r = run(dir, "init", "-reconfigure", "-upgrade", "-input=false", "-no-color");
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(list(dir)).toEqual([]);
    // The old state is still where it was, untouched.
    expect(JSON.parse(fs.readFileSync(path.join(dir, before.container, before.key), "utf8")).resources.length).toBe(addresses.length);
    // The way back (help/versions.md): point at the old place again without a copy, then migrate naming the new one.
    const back = run(dir, "init", "-reconfigure", "-input=false", "-no-color", `-backend-config=path=${before.container}/${before.key}`);
    expect({ status: back.status, stderr: back.stderr }).toEqual({ status: 0, stderr: "" });
    expect(list(dir)).toEqual([...addresses].sort());
    const mv = run(dir, "init", "-migrate-state", "-force-copy", "-input=false", "-no-color", `-backend-config=path=${after.container}/${after.key}`);
    expect({ status: mv.status, stderr: mv.stderr }).toEqual({ status: 0, stderr: "" });
    expect(JSON.parse(fs.readFileSync(path.join(dir, after.container, after.key), "utf8")).resources.length).toBe(addresses.length);
  }, 120_000);
});

/**
 * help/operations.md, "State containers per environment": with an azurerm backend and `environment`,
 * each environment's states moved to containers of their own (`tfstate` -> `tfstate-dev`,
 * `tfstate-<team>` -> `tfstate-dev-<team>`), blobs unchanged. The same STAND-IN as above (the azurerm
 * backend cannot run offline): each stack's JSON with a `local` backend at `<container>/<key>`, old
 * then new, and the documented init steps. After them `terraform state list` at the new place shows
 * every resource and the old place is byte for byte as it was; the team's read of the platform
 * (its terraform_remote_state, on the same stand-in) finds the platform's outputs at the new place.
 */
describe("state containers per environment: the platform's and a team's state move to the environment's containers (stand-in: local backends at <container>/<key>)", () => {
  const AZ = "backend: { type: azurerm, resourceGroupName: tfstate-rg, storageAccountName: contosotfstate }\n";
  const dev = parseConfig(`${fs.readFileSync(SPLIT_YAML, "utf8")}environment: dev\n${AZ}`, "split.yaml, environment dev, azurerm");
  const team = dev.teamRegistries[0].name;
  const stacks = new Map(synthesizeInMemory(dev));
  const names = [dev.stackName, `${dev.stackName}-${team}`];
  // The release before kept an environment's states in the containers of a config without one.
  const previous = new Map(synthesizeInMemory(parseConfig(`${fs.readFileSync(SPLIT_YAML, "utf8")}${AZ}`, "split.yaml, azurerm")));
  const place = (json: any) => ({ container: json.terraform.backend.azurerm.container_name as string, key: json.terraform.backend.azurerm.key as string });
  const moves = names.map((name) => {
    const json = stacks.get(name)!;
    return { name, json, before: { container: place(previous.get(name)!).container, key: place(json).key }, after: place(json), addresses: addressesOf(json) };
  });

  test("the move is the container alone: tfstate -> tfstate-dev, tfstate-<team> -> tfstate-dev-<team>, the blob kept", () => {
    expect(moves.map((m) => [m.before.container, m.after.container])).toEqual([
      ["tfstate", "tfstate-dev"],
      [`tfstate-${team}`, `tfstate-dev-${team}`],
    ]);
    expect(moves.map((m) => m.after.key)).toEqual(["acr-gate-dev.tfstate", `acr-gate-dev-${team}.tfstate`]);
    // The team reads the dev platform's new place, exactly where the dev platform writes.
    expect(stacks.get(names[1])!.data.terraform_remote_state.platform.config).toEqual(stacks.get(names[0])!.terraform.backend.azurerm);
  });

  const run = (dir: string, ...args: string[]) => {
    tally.commands += 1;
    return spawnSync(tf.bin, args, { cwd: dir, env: offlineEnv(work, tf), encoding: "utf8" });
  };
  const ok = (r: ReturnType<typeof run>) => expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
  const local = (json: any, b: { container: string; key: string }) => ({ ...json, terraform: { ...json.terraform, backend: { local: { path: `${b.container}/${b.key}` } } } });
  function list(dir: string): string[] {
    const l = run(dir, "state", "list", "-no-color");
    if (l.status === 1 && /^No state file was found!/.test(l.stderr)) return [];
    ok(l);
    return l.stdout.split("\n").filter(Boolean).sort();
  }
  /** The deployed state at the old place (the platform's with an output the team reads); its bytes, to check they stay. */
  function seed(dir: string, m: (typeof moves)[number], lineage: string): string {
    const state: any = fakeState(m.addresses, lineage);
    if (m.name === dev.stackName) state.outputs = { key_vault_id: { value: "/fake/dev-vault", type: "string" } };
    const text = JSON.stringify(state);
    fs.mkdirSync(path.join(dir, m.before.container), { recursive: true });
    fs.writeFileSync(path.join(dir, m.before.container, m.before.key), text);
    return text;
  }

  maybe.each([0, 1])("stack %i, where it was initialised before: plain init refuses; init -migrate-state copies it; the old place is left as it was", (i) => {
    const m = moves[i];
    const dir = path.join(work, "envcontainers", `existing-${i}`);
    const text = seed(dir, m, `00000000-0000-0000-0000-0000000000e${i}`);
    fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(local(m.json, m.before), null, 2));
    ok(run(dir, "init", "-input=false", "-no-color"));
    expect(list(dir)).toEqual([...m.addresses].sort());
    fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(local(m.json, m.after), null, 2));
    const plain = run(dir, "init", "-input=false", "-no-color");
    expect(plain.status).not.toBe(0);
    expect(plain.stderr).toMatch(/Backend configuration changed/);
    ok(run(dir, "init", "-migrate-state", "-force-copy", "-input=false", "-no-color"));
    expect(list(dir)).toEqual([...m.addresses].sort());
    expect(JSON.parse(fs.readFileSync(path.join(dir, m.after.container, m.after.key), "utf8")).resources).toHaveLength(m.addresses.length);
    expect(fs.readFileSync(path.join(dir, m.before.container, m.before.key), "utf8")).toBe(text);
  }, 180_000);

  maybe.each([0, 1])("stack %i in a fresh checkout: init naming the old place, then -migrate-state naming the new one; the old place is left as it was", (i) => {
    const m = moves[i];
    const dir = path.join(work, "envcontainers", `fresh-${i}`);
    const text = seed(dir, m, `00000000-0000-0000-0000-0000000000f${i}`);
    fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(local(m.json, m.after), null, 2));
    ok(run(dir, "init", "-input=false", "-no-color", `-backend-config=path=${m.before.container}/${m.before.key}`));
    expect(list(dir)).toEqual([...m.addresses].sort());
    ok(run(dir, "init", "-migrate-state", "-force-copy", "-input=false", "-no-color", `-backend-config=path=${m.after.container}/${m.after.key}`));
    expect(list(dir)).toEqual([...m.addresses].sort());
    expect(fs.readFileSync(path.join(dir, m.before.container, m.before.key), "utf8")).toBe(text);
    // And later inits stay at the new place.
    ok(run(dir, "init", "-input=false", "-no-color"));
    expect(JSON.parse(fs.readFileSync(path.join(dir, ".terraform", "terraform.tfstate"), "utf8")).backend.config.path).toBe(`${m.after.container}/${m.after.key}`);
  }, 180_000);

  // The team's terraform_remote_state, on the stand-in: its config's container/key as a local path.
  // Before the platform's migration the new place holds nothing and the read fails; after it, the
  // read returns the dev platform's outputs. The order help/operations.md gives: platform first.
  maybe("the team's read of the platform at the new place: fails before the platform's migration, returns its outputs after", () => {
    const [platform] = moves;
    const root = path.join(work, "envcontainers", "read");
    const platformDir = path.join(root, "platform");
    seed(platformDir, platform, "00000000-0000-0000-0000-0000000000d0");
    const read = stacks.get(names[1])!.data.terraform_remote_state.platform.config;
    const reader = path.join(root, "team-read");
    fs.mkdirSync(reader, { recursive: true });
    fs.writeFileSync(
      path.join(reader, "main.tf.json"),
      JSON.stringify({
        data: { terraform_remote_state: { platform: { backend: "local", config: { path: path.join(platformDir, read.container_name, read.key) } } } },
        output: { key_vault_id: { value: "${data.terraform_remote_state.platform.outputs.key_vault_id}" } },
      }),
    );
    ok(run(reader, "init", "-input=false", "-no-color"));
    const early = run(reader, "plan", "-input=false", "-no-color");
    expect(early.status).not.toBe(0);
    expect(early.stderr).toMatch(/key_vault_id/);
    fs.writeFileSync(path.join(platformDir, "cdk.tf.json"), JSON.stringify(local(platform.json, platform.after), null, 2));
    ok(run(platformDir, "init", "-input=false", "-no-color", `-backend-config=path=${platform.before.container}/${platform.before.key}`));
    ok(run(platformDir, "init", "-migrate-state", "-force-copy", "-input=false", "-no-color", `-backend-config=path=${platform.after.container}/${platform.after.key}`));
    const applied = run(reader, "apply", "-auto-approve", "-input=false", "-no-color");
    ok(applied);
    const out = run(reader, "output", "-raw", "key_vault_id");
    ok(out);
    expect(out.stdout).toBe("/fake/dev-vault");
  }, 180_000);
});

// Run with the whole file (a -t filter runs fewer and this fails).
describe("help/validation.md's figures for this file", () => {
  maybe("the terraform test pairs, runs and plain commands it quotes are the ones run here", () => {
    const doc = fs.readFileSync(path.join(REPO, "help", "validation.md"), "utf8");
    const m = doc.match(/`tf-split-migration\.test\.ts` runs (\d+) `terraform init` \+ `terraform test` pairs \((\d+) runs\) and (\d+) plain `terraform` commands/);
    expect(m).not.toBeNull();
    expect({ pairs: Number(m![1]), runs: Number(m![2]), commands: Number(m![3]) }).toEqual(tally);
  });
});
