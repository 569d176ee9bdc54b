/**
 * help/split.md quotes figures of examples/split.yaml (resources per stack, what the migration
 * moves, keeps and creates, the platform's outputs) and a migration order. They are read from the
 * page here and compared with what the code computes, so that the page fails this test when it
 * drifts instead of going stale. Terraform's engine checks the same move in tf-split-migration.test.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { parseConfig } from "../lib/config";
import { migrationPlan } from "../app/migration";
import { runCli } from "../app/cli";
import { PLATFORM_OUTPUTS, teamIdentityOutputs } from "../constructs/platform-stack";
import { synthStacks } from "./helpers";

const ROOT = path.join(__dirname, "..");
const DOC = fs.readFileSync(path.join(ROOT, "help", "split.md"), "utf8");
const SPLIT_YAML = path.join(ROOT, "examples", "split.yaml");
const config = parseConfig(fs.readFileSync(SPLIT_YAML, "utf8"), "split.yaml");
const stacks = synthStacks(config);
const single = synthStacks({ ...config, layout: "single" })[0].tf;
const plan = migrationPlan(single, stacks);
const platform = stacks[0];

const addressesOf = (tf: any): string[] => Object.entries<any>(tf.resource ?? {}).flatMap(([type, rs]) => Object.keys(rs).map((n) => `${type}.${n}`));
/** The one match of a pattern in the page (a sentence reworded so that it no longer matches fails here, not silently). */
function quote(re: RegExp): RegExpMatchArray {
  const all = [...DOC.matchAll(new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`))];
  expect({ pattern: re.source, matches: all.length }).toEqual({ pattern: re.source, matches: 1 });
  return all[0];
}
const ticked = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
/** A section of the page, from its heading to the next of the same level or higher (outside code blocks). */
function section(heading: string): string {
  const lines = DOC.split("\n");
  const start = lines.indexOf(heading);
  expect(start).toBeGreaterThanOrEqual(0);
  const level = heading.match(/^#+/)![0].length;
  let fenced = false;
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    if (lines[i].startsWith("```")) fenced = !fenced;
    else if (!fenced && new RegExp(`^#{1,${level}} `).test(lines[i])) {
      end = i;
      break;
    }
  }
  return lines.slice(start + 1, end).join("\n");
}

describe("help/split.md's figures for examples/split.yaml are the code's", () => {
  test("the table of stacks: every stack, its state file, its resource count", () => {
    const rows = [...DOC.matchAll(/^\| `(acr-gate[^`]*)` \| `([^`]+)` \| (\d+) \|/gm)].map((m) => ({ stack: m[1], state: m[2], resources: Number(m[3]) }));
    expect(rows).toEqual(
      stacks.map((s) => ({ stack: s.name, state: path.basename(s.tf.terraform.backend.local.path), resources: addressesOf(s.tf).length })),
    );
  });

  test("what the migration script reports is what the CLI prints", () => {
    const err: string[] = [];
    expect(runCli(["--config", SPLIT_YAML, "--migration-script"], {}, { out: () => {}, err: (t) => err.push(t) })).toBe(0);
    const printed = err.join("").trim();
    expect(printed).toMatch(/^acr-gate: \d+ resources move to \d+ team states/);
    expect(quote(/^acr-gate: \d+ resources move to .*$/m)[0]).toBe(printed);
  });

  test("what each team creates of its own", () => {
    const [, count, list] = quote(/Each team then creates (\d+) resources of its own: ((?:`[^`]+`(?:, )?)+)\./);
    for (const team of stacks.slice(1)) {
      const created = plan.created.filter((c) => c.in === team.name).map((c) => c.address).sort();
      // `<team>` in the page stands for each team's registry name (its vault's addresses carry it).
      const teamName = team.name.slice(stacks[0].name.length + 1);
      expect({ team: team.name, created }).toEqual({ team: team.name, created: ticked(list).map((a) => a.replace(/<team>/g, teamName)).sort() });
      expect(created.length).toBe(Number(count));
    }
  });

  test("what the platform's plan changes after the script: the resources that stay but differ, the outputs", () => {
    // A resource that stays changes in the platform's plan when its JSON differs from the single
    // stack's (metadata and depends_on aside, which plan nothing).
    const strip = (v: unknown) => JSON.stringify(v, (k, x) => (k === "//" || k === "depends_on" ? undefined : x));
    const changed = plan.stays.filter((a) => {
      const [type, name] = a.split(".");
      return strip(single.resource[type][name]) !== strip(platform.tf.resource[type][name]);
    });
    const [, replaced, which] = quote(/it replaces (\d+) resources?,\s+`([^`]+)`/);
    const [, renamedCount, renamed] = quote(/renames the (\d+) subscription reader roles in place \(((?:`[^`]+`(?:, )?)+)\)/);
    expect(changed.sort()).toEqual([which, ...ticked(renamed)].sort());
    expect(ticked(renamed).length).toBe(Number(renamedCount));
    expect(Number(replaced)).toBe(1);
    // The roles' new names only (`(<team> tasks)`): an in-place update (name is not ForceNew).
    for (const a of ticked(renamed)) {
      const [t, n] = a.split(".");
      expect({ ...platform.tf.resource[t][n], name: 0, "//": 0 }).toEqual({ ...single.resource[t][n], name: 0, "//": 0 });
    }
    // A pause is replaced when its triggers change (the time provider's ForceNew): that is the change.
    const [type, name] = which.split(".");
    expect(type).toBe("time_sleep");
    expect(single.resource[type][name].triggers).not.toEqual(platform.tf.resource[type][name].triggers);

    const singleOutputs = Object.keys(single.output ?? {});
    const platformOutputs = Object.keys(platform.tf.output ?? {});
    const [, deleted, createdCount, created] = quote(/deletes the (\d+) outputs of team resources, and creates the (\d+) outputs\s+it offers the teams \(([^)]*)\)/);
    expect(singleOutputs.filter((o) => !platformOutputs.includes(o)).length).toBe(Number(deleted));
    const newOutputs = platformOutputs.filter((o) => !singleOutputs.includes(o)).sort();
    expect(newOutputs.filter((o) => !o.startsWith("team_"))).toEqual(ticked(created).sort());
    expect(newOutputs.filter((o) => !o.startsWith("team_")).length).toBe(Number(createdCount));
    const teamOutputs = config.teamRegistries.flatMap((t) => Object.values(teamIdentityOutputs(t.name)));
    const [, perTeam, identityOutputs] = quote(/and the (\d+) outputs of each team's identity \(((?:`[^`]+`(?:, )?)+)\)/);
    expect(ticked(identityOutputs).map((o) => o.replace("<team>", "splitweb"))).toEqual(Object.values(teamIdentityOutputs("splitweb")));
    expect(Number(perTeam)).toBe(3);
    for (const o of newOutputs) expect([...Object.values(PLATFORM_OUTPUTS), ...teamOutputs]).toContain(o);
    const [, createdResources] = quote(/The platform creates (\d+) resources: each team's identity and its grants/);
    expect(plan.created.filter((c) => c.in === config.stackName).length).toBe(Number(createdResources));
  });

  test("the platform outputs a team may read: every name of PLATFORM_OUTPUTS and its identity's, and no other", () => {
    const [text] = quote(/A team stack reads the platform through[\s\S]*?\n\n?A team planned before/);
    const names = ticked(text).filter((n) => /^[a-z0-9_<>]+$/.test(n) && !["diagnostics", "signing"].includes(n));
    expect(names.sort()).toEqual([...Object.values(PLATFORM_OUTPUTS), ...Object.values(teamIdentityOutputs("zz")).map((o) => o.replace("_zz_", "_<team>_"))].sort());
  });

  test("the migration's commands apply the platform before any team plans", () => {
    const block = section("## Moving a deployed single stack to split").match(/```sh\n([\s\S]*?)```/)![1].split("\n");
    const platformApply = block.findIndex((l) => /stacks\/acr-gate &&.*terraform apply/.test(l));
    const teamPlan = block.findIndex((l) => /stacks\/acr-gate-[^ ]+ &&.*terraform plan/.test(l));
    expect(platformApply).toBeGreaterThan(block.findIndex((l) => /^sh migrate\.sh/.test(l)));
    expect(teamPlan).toBeGreaterThan(platformApply);
  });

  test("applying: the platform before the teams", () => {
    const block = section("## Applying").match(/```sh\n([\s\S]*?)```/)![1].split("\n");
    const platformApply = block.findIndex((l) => /stacks\/acr-gate &&.*terraform apply/.test(l));
    const teams = block.findIndex((l) => /acr-gate-\$t/.test(l));
    expect(platformApply).toBeGreaterThanOrEqual(0);
    expect(teams).toBeGreaterThan(platformApply);
  });
});
