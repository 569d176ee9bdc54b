/**
 * The lab's scenarios (help/lab.md): each starts a fresh lab, drives the synthesized tasks through
 * a piece of the walkthrough, and checks what a user would look at: runs, tags, the app's answer.
 */
import * as fs from "fs";
import * as path from "path";
import { Lab, LAB_ADVISORY, RunRecord } from "./lab-run";
import type { RegistryContents } from "./lab-registry";
import type { LabTask } from "./lab-tasks";
import { EVIDENCE_TYPES, trustSetup } from "../lib/run-scripts";
import { dpkgStatus } from "./lab-images";

export interface Check {
  what: string;
  ok: boolean;
  detail?: string;
}

/** What a scenario gets: a lab with the config's tasks set up, and its own copies of the contexts. */
export interface ScenarioContext {
  readonly lab: Lab;
  readonly tasks: readonly LabTask[];
  /** Task name => its context directory in this scenario (the lab's fixtures unless --context). */
  readonly contexts: Map<string, string>;
  /** True where the task's context is the lab's own fixture (the scenario may edit it). */
  readonly fixture: (task: LabTask) => boolean;
  /** Local address of the registry standing in for a login server. */
  readonly address: (loginServer: string) => string;
  readonly log: (s: string) => void;
}

export interface Scenario {
  readonly name: string;
  readonly summary: string;
  /** The config it runs on: as given, or a variant (the gates' scan set to enforce, ...). */
  readonly variant?: "enforce-critical" | "report" | "signing" | "upstreams";
  readonly run: (c: ScenarioContext) => Promise<Check[]>;
}

const check = (what: string, ok: boolean, detail?: string): Check => ({ what, ok, ...(detail && !ok ? { detail } : {}) });

const gates = (c: ScenarioContext) => c.tasks.filter((t) => t.role === "gate");
const upstreams = (c: ScenarioContext) => c.tasks.filter((t) => t.role === "upstream");
/** `<login server>/<repo>:<tag>` => [login server, repo, tag]. */
function split(image: string): [string, string, string] {
  const slash = image.indexOf("/");
  const colon = image.lastIndexOf(":");
  return [image.slice(0, slash), image.slice(slash + 1, colon), image.slice(colon + 1)];
}

function tagsOf(contents: RegistryContents, image: string): Record<string, string> {
  const [server, repo] = split(image);
  return contents[server]?.[repo] ?? {};
}

/** The runs succeeded, each gate promoted a stable and a unique tag of one digest, the apps answer. */
function promoted(c: ScenarioContext, runs: RunRecord[], contents: RegistryContents): Check[] {
  const out: Check[] = [];
  for (const r of runs) out.push(check(`run ${r.runId} of ${r.task} succeeded`, r.status === "succeeded", failure(r)));
  for (const g of gates(c)) {
    const run = runs.find((r) => r.task === g.name);
    if (!run || !g.builds) {
      out.push(check(`gate ${g.name} ran`, false, "no run of it"));
      continue;
    }
    const [, , tag] = split(g.builds);
    const tags = tagsOf(contents, g.builds);
    const stable = tags[tag];
    const unique = tags[`${tag}-${run.runId}`];
    out.push(check(`gate ${g.name} promoted ${g.builds} and its unique tag ${tag}-${run.runId}, one digest`, !!stable && stable === unique, `stable ${stable}, unique ${unique}`));
  }
  return out;
}

/** Whether a task's file has a step of that id (a gate without a test or a scan has none). */
const hasStep = (t: LabTask, id: string) => "text" in t.taskFile && t.taskFile.text.includes(`- id: ${id}\n`);

/** Each gate with step `stepId` ran on the change and failed there, and its target's tags are as they were. */
function refusedAt(c: ScenarioContext, runs: RunRecord[], before: RegistryContents, after: RegistryContents, stepId: string, what: string): Check[] {
  const out: Check[] = [];
  for (const g of gates(c).filter((x) => hasStep(x, stepId))) {
    const run = runs.find((r) => r.task === g.name);
    const step = run?.steps.find((s) => s.id === stepId);
    out.push(check(`gate ${g.name} ${what}`, run?.status === "failed" && step?.status === "failed", run ? failure(run) ?? "it succeeded" : "it did not run"));
    out.push(check(`nothing promoted to ${g.builds}`, JSON.stringify(tagsOf(before, g.builds!)) === JSON.stringify(tagsOf(after, g.builds!))));
  }
  return out;
}

function answers(c: ScenarioContext, colour: string): Check[] {
  const apps = c.lab.apps();
  const out: Check[] = [];
  for (const t of c.tasks.filter((x) => x.role === "app")) {
    const a = apps[t.values.ACI ?? t.name];
    if (!c.fixture(t)) out.push(check(`app ${t.name} answers over HTTP`, !!a && !a.answer.startsWith("(no answer"), a?.answer));
    else out.push(check(`app ${t.name} says ${colour}`, !!a && a.answer.includes(`BACKGROUND_COLOR ${colour}`), a ? a.answer : "not deployed"));
  }
  return out;
}

/** What failed in a run: the step, and the last lines of its log. */
export function failure(r: RunRecord): string | undefined {
  if (r.status === "succeeded") return undefined;
  const step = r.steps.find((s) => s.status === "failed");
  const lines = r.log.trimEnd().split("\n");
  // acb interleaves concurrent steps: the step's first lines (what it said) and the run's last
  // ones (how acb ended it), so that neither is pushed out by another step's output.
  const at = step ? lines.findIndex((l) => l.includes(`Executing step ID: ${step.id}.`)) : -1;
  const first = at >= 0 ? lines.slice(at, at + 8) : [];
  const last = lines.slice(Math.max(at + 8, lines.length - 8));
  return `task ${r.task}, run ${r.runId}, step ${step?.id ?? "(none reported)"}: ${[...first, ...(first.length && last.length ? ["..."] : []), ...last].join("\n")}`;
}

/** Rewrites the upstream fixture's Dockerfile (the simulated public image's source). */
function editUpstream(c: ScenarioContext, edit: (dockerfile: string, dir: string) => string): LabTask[] {
  const edited: LabTask[] = [];
  for (const u of upstreams(c)) {
    if (!c.fixture(u)) continue;
    const dir = c.contexts.get(u.name)!;
    const f = path.join(dir, "Dockerfile");
    fs.writeFileSync(f, edit(fs.readFileSync(f, "utf8"), dir));
    edited.push(u);
  }
  return edited;
}

const colour = (to: string) => (d: string) => d.replace(/^ENV BACKGROUND_COLOR .*$/m, `ENV BACKGROUND_COLOR ${to}`);

/** The upstream changes: a commit to the simulated public image's repository (or, without one, the public image itself). */
async function upstreamChange(c: ScenarioContext, what: string, edit: (d: string, dir: string) => string, o: { env?: Record<string, string>; packages?: Record<string, string> }): Promise<RunRecord[]> {
  const changed = editUpstream(c, edit);
  const runs: RunRecord[] = [];
  for (const u of changed) runs.push(...(await c.lab.cascade(u, `commit: ${what} (emulated)`)));
  if (changed.length === 0) {
    // Docker Hub or the cache: the public image itself changes; the gates run on it (their base image trigger).
    for (const g of gates(c)) {
      if (!g.from) continue;
      const [server, repo, tag] = split(g.from);
      c.lab.pushBase(`${c.address(server)}/${repo}:${tag}`, o);
      runs.push(...(await c.lab.cascade(g, g.baseImageTrigger ? `base image update: ${g.from}, ${what} (emulated)` : `timer or manual run after ${what} (emulated)`)));
    }
  }
  return runs;
}

/**
 * The upstreams scenario's config: the config's own gates (the walkthrough's from the simulated
 * registry) and two more from two other public registries (issue 29). Small images, tests off (a
 * gate without a test needs an enforcing scan: the default), so that the stand-in of each is the
 * lab's one Node image and the scan alone guards them.
 */
export const UPSTREAMS_VARIANT = {
  credentials: ["ghcr.io"],
  gatedImages: [
    // Microsoft's distroless Azure Linux through base artifacts' artifact cache, anonymously (MCR takes no login).
    { source: "azurelinux/distroless/minimal:3.0", upstream: "mcr.microsoft.com", test: { enabled: false } },
    // containerd's busybox from GitHub's registry, pulled by the gate itself with the ghcr.io login (upstream.credentials).
    { source: "containerd/busybox:1.36", upstream: "ghcr.io", via: "direct", target: "busybox:1.36", test: { enabled: false } },
  ],
} as const;

/**
 * What a user expects of each of the variant's gates, said here from the config's words and
 * help/artifact-cache.md, not from the synthesized tasks: where its gate pulls (`base`: base
 * artifacts' login server), where it promotes, and whether the run logs in first.
 */
const UPSTREAMS_EXPECTED = [
  { upstream: "mcr.microsoft.com", pulls: (base: string) => `${base}/mcr/azurelinux/distroless/minimal:3.0`, target: "azurelinux/distroless/minimal:3.0", login: undefined },
  { upstream: "ghcr.io", pulls: () => "ghcr.io/containerd/busybox:1.36", target: "busybox:1.36", login: "ghcr.io" },
] as const;

/** The lines of a run's log from step `id` to the next step's start. */
function stepLog(r: RunRecord, id: string): string {
  const lines = r.log.split("\n");
  const at = lines.findIndex((l) => l.includes(`Executing step ID: ${id}.`));
  if (at < 0) return "";
  const end = lines.findIndex((l, i) => i > at && l.includes("Executing step ID: "));
  return lines.slice(at, end > at ? end : undefined).join("\n");
}

/** The upstreams scenario: one config, gates from three upstreams (simulated, MCR through the cache, ghcr.io direct with a login). */
async function upstreamsScenario(c: ScenarioContext): Promise<Check[]> {
  const first = await c.lab.firstRuns();
  const contents = c.lab.contents();
  const out = promoted(c, first, contents);
  const base = gates(c)[0]?.registry ?? "";
  const local = (image: string) => c.address(image.split("/")[0]) + image.slice(image.indexOf("/"));
  const found: { gate: LabTask; expected: (typeof UPSTREAMS_EXPECTED)[number] }[] = [];
  for (const e of UPSTREAMS_EXPECTED) {
    const target = `${base}/${e.target}`;
    const gate = gates(c).find((g) => g.builds === target);
    out.push(check(`a gate promotes the ${e.upstream} image to ${target}`, !!gate, `gates build ${gates(c).map((g) => g.builds).join(", ")}`));
    if (!gate) continue;
    found.push({ gate, expected: e });
    const run = first.find((r) => r.task === gate.name);
    const pull = run ? stepLog(run, "pull-source") : "";
    const source = e.pulls(base);
    // docker pull ends with the reference it pulled: the stand-in's local address for that host.
    out.push(check(`gate ${gate.name} pulled ${source} (${e.upstream}, ${e.login ? "direct" : "through the artifact cache"})`, run?.steps.find((s) => s.id === "pull-source")?.status === "succeeded" && pull.includes(local(source)), pull.split("\n").slice(0, 8).join("\n") || "no pull-source step"));
    const logins = run ? [...run.log.matchAll(/Logging in to registry: (\S+)/g)].map((m) => m[1]) : [];
    out.push(
      e.login
        ? check(`gate ${gate.name} logged in to ${e.login} (the lab's registry for it) before its steps`, logins.includes(c.address(e.login)), `logins: ${logins.join(", ") || "none"}`)
        : check(`gate ${gate.name} pulled through the cache anonymously (no login)`, logins.length === 0, `logins: ${logins.join(", ")}`),
    );
    // What it promoted is what the upstream's repository holds, byte for byte (the same manifest).
    const [srv, repo, tag] = split(source);
    const upstreamDigest = contents[srv]?.[repo]?.[tag];
    const promotedDigest = tagsOf(contents, target)[split(target)[2]];
    out.push(check(`${target} is the digest ${source} holds`, !!upstreamDigest && upstreamDigest === promotedDigest, `upstream ${upstreamDigest}, promoted ${promotedDigest}`));
    // Nothing tells ACR that a ghcr.io image changed, nor a cached one (a gate without a test has no base image trigger): a timer must run the gate.
    out.push(check(`gate ${gate.name} has a timer (it has no base image trigger)`, !gate.baseImageTrigger && (gate.timers ?? []).length > 0, `timers: ${JSON.stringify(gate.timers)}`));
    out.push(check(`gate ${gate.name} scanned it (enforce: a gate without a test)`, run?.steps.find((s) => s.id === "vulnerability-scan")?.status === "succeeded" && !hasStep(gate, "functional-test"), run && failure(run)));
  }
  // The cached repository is the cache's: the gate promoted out of it, never into it.
  const mcrRepo = Object.keys(contents[base] ?? {}).filter((r) => r.startsWith("mcr/"));
  out.push(check("the cache's namespace mcr/ holds only the cached repository, tag 3.0", JSON.stringify(mcrRepo.map((r) => [r, Object.keys(contents[base][r])])) === JSON.stringify([["mcr/azurelinux/distroless/minimal", ["3.0"]]]), JSON.stringify(mcrRepo)));

  // Day 2, one upstream at a time; neither gate has a base image trigger (no test image to track): their daily timer runs them.
  const mcr = found.find((f) => f.expected.upstream === "mcr.microsoft.com");
  const ghcr = found.find((f) => f.expected.upstream === "ghcr.io");
  if (ghcr) {
    // A vulnerable image on the second upstream: the gate's enforcing scan refuses it.
    const before = c.lab.contents();
    c.lab.pushBase(local(ghcr.expected.pulls(base)), { packages: { [LAB_ADVISORY.package]: LAB_ADVISORY.installed } });
    const runs = await c.lab.cascade(ghcr.gate, `timer ${ghcr.gate.timers?.[0]} after ghcr.io's image gained ${LAB_ADVISORY.package} ${LAB_ADVISORY.installed} (emulated)`);
    const after = c.lab.contents();
    out.push(...refusedAt({ ...c, tasks: [ghcr.gate] }, runs, before, after, "vulnerability-scan", "refused the vulnerable ghcr.io image at its scan"));
    out.push(check(`the scan names ${LAB_ADVISORY.id}`, stepLog(runs[0], "vulnerability-scan").includes(LAB_ADVISORY.id)));
    out.push(check("nothing else ran, no tag moved but the upstream's own", runs.length === 1 && sameBut(before, after, [split(ghcr.expected.pulls(base))[1]])));
  }
  if (mcr) {
    // MCR's image changes (the cache's refresh on the gate's pull, stood in by a push into the cached repository): only that gate promotes.
    const before = c.lab.contents();
    c.lab.pushBase(local(mcr.expected.pulls(base)), { env: { ACR_GATE_LAB_REVISION: "2" } });
    const runs = await c.lab.cascade(mcr.gate, `timer ${mcr.gate.timers?.[0]} after mcr.microsoft.com's image changed (emulated)`);
    const after = c.lab.contents();
    const target = mcr.gate.builds!;
    const [, , tag] = split(target);
    const now = tagsOf(after, target);
    out.push(check(`gate ${mcr.gate.name} promoted the change`, runs[0]?.status === "succeeded" && now[tag] !== tagsOf(before, target)[tag] && now[tag] === now[`${tag}-${runs[0].runId}`], runs[0] ? failure(runs[0]) ?? JSON.stringify(now) : "it did not run"));
    out.push(check("nothing else ran; the other gates' targets and the app's image did not move", runs.length === 1 && sameBut(before, after, [split(target)[1], "mcr/azurelinux/distroless/minimal"])));
  }
  c.lab.standIns.set("ACR's timer triggers", { what: "ACR's timer triggers (the gates without a base image trigger)", why: "no ACR here: the run a timer would start after the upstream changed, started at once and marked (emulated)" });
  return [...out, ...answers(c, "DeepSkyBlue")];
}

/** The registries' contents are the same but for the repositories named. */
function sameBut(a: RegistryContents, b: RegistryContents, repos: readonly string[]): boolean {
  const strip = (x: RegistryContents) => JSON.stringify(Object.fromEntries(Object.entries(x).map(([s, r]) => [s, Object.fromEntries(Object.entries(r).filter(([k]) => !repos.includes(k)))])));
  return strip(a) === strip(b);
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "walkthrough",
    summary: "the simulated public node:15-alpine (DeepSkyBlue) is built; each gate imports, tests, scans and promotes it; the app builds on the promoted base and says DeepSkyBlue",
    run: async (c) => {
      const runs = await c.lab.firstRuns();
      return [...promoted(c, runs, c.lab.contents()), ...answers(c, "DeepSkyBlue")];
    },
  },
  {
    name: "questionable",
    summary: "the upstream's BACKGROUND_COLOR changes to Orange; the gate's test refuses it, nothing is promoted, the app still says DeepSkyBlue",
    run: async (c) => {
      const first = await c.lab.firstRuns();
      const before = c.lab.contents();
      const runs = await upstreamChange(c, "BACKGROUND_COLOR Orange", colour("Orange"), { env: { BACKGROUND_COLOR: "Orange" } });
      const after = c.lab.contents();
      // A gate without a test has nothing that reads the colour: it is not this scenario's.
      const out = [...promoted(c, first, before), ...refusedAt(c, runs, before, after, "functional-test", "ran on the change and failed its functional test")];
      out.push(check("no app task ran on the change", !runs.some((r) => c.tasks.find((t) => t.name === r.task)?.role === "app")));
      return [...out, ...answers(c, "DeepSkyBlue")];
    },
  },
  {
    name: "vulnerable",
    variant: "enforce-critical",
    summary: `the upstream gains a package with a CRITICAL advisory (${LAB_ADVISORY.id}, in the lab's Trivy database); with scan.mode enforce and failOn CRITICAL the gate refuses it and promotes nothing`,
    run: async (c) => {
      const first = await c.lab.firstRuns();
      const before = c.lab.contents();
      const runs = await upstreamChange(c, `package ${LAB_ADVISORY.package} ${LAB_ADVISORY.installed}`, vulnerable, { packages: { [LAB_ADVISORY.package]: LAB_ADVISORY.installed } });
      const after = c.lab.contents();
      const out = [...promoted(c, first, before), ...refusedAt(c, runs, before, after, "vulnerability-scan", "failed its vulnerability scan")];
      for (const g of gates(c).filter((x) => hasStep(x, "vulnerability-scan"))) {
        const run = runs.find((r) => r.task === g.name);
        out.push(check(`the scan names ${LAB_ADVISORY.id}`, !!run && scanLog(run).includes(LAB_ADVISORY.id)));
      }
      return [...out, ...answers(c, "DeepSkyBlue")];
    },
  },
  {
    name: "vulnerable-report",
    variant: "report",
    summary: `the same upstream change with scan.mode report: the gate promotes it and its scan names ${LAB_ADVISORY.id}`,
    run: async (c) => {
      const first = await c.lab.firstRuns();
      const out = promoted(c, first, c.lab.contents());
      const runs = await upstreamChange(c, `package ${LAB_ADVISORY.package} ${LAB_ADVISORY.installed}`, vulnerable, { packages: { [LAB_ADVISORY.package]: LAB_ADVISORY.installed } });
      for (const g of gates(c)) {
        const run = runs.find((r) => r.task === g.name);
        out.push(check(`gate ${g.name} promoted the change`, run?.status === "succeeded", run ? failure(run) : "it did not run"));
        out.push(check(`its scan names ${LAB_ADVISORY.id}`, !!run && scanLog(run).includes(LAB_ADVISORY.id)));
      }
      return out;
    },
  },
  {
    name: "unchanged",
    summary: "the gate runs again on an unchanged upstream: no new tag, nothing downstream, no save, scan or evidence again; its seconds against the first gate run's are reported (help/lab.md)",
    run: async (c) => {
      const first = await c.lab.firstRuns();
      const before = c.lab.contents();
      const out = promoted(c, first, before);
      for (const g of gates(c)) {
        const firstRun = first.find((r) => r.task === g.name)!;
        const again = await c.lab.cascade(g, "manual run, upstream unchanged");
        const run = again[0];
        out.push(check(`gate ${g.name} succeeded again`, run.status === "succeeded", failure(run)));
        out.push(check("no tag moved and none was added", JSON.stringify(before) === JSON.stringify(c.lab.contents())));
        out.push(check("nothing downstream ran", again.length === 1));
        out.push(...notRunAgain(run));
        // A figure, not a check: one run each way is too few for a timing assertion (npm run bench has the target).
        c.log(`  figure: gate ${g.name} unchanged ${run.seconds} s against ${firstRun?.seconds} s changed (${firstRun ? (run.seconds / firstRun.seconds).toFixed(2) : "n/a"}); steps: ${run.steps.map((s) => `${s.id} ${s.seconds} s`).join(", ")}`);
        out.push(check("the unchanged run promoted nothing", run.steps.find((s) => s.id === "promote")?.status === "succeeded" && !run.pushed?.length));
      }
      return out;
    },
  },
  {
    name: "rollback",
    summary: "an allowed upstream change (Green) is promoted and the app rebuilt on it; help/rollback.md's procedure puts the previous base back and the app rebuilds on it (DeepSkyBlue)",
    run: async (c) => {
      const first = await c.lab.firstRuns();
      const out = promoted(c, first, c.lab.contents());
      const green = await upstreamChange(c, "BACKGROUND_COLOR Green", colour("Green"), { env: { BACKGROUND_COLOR: "Green" } });
      out.push(...green.map((r) => check(`run ${r.runId} of ${r.task} succeeded`, r.status === "succeeded", failure(r))));
      out.push(...answers(c, "Green"));
      for (const g of gates(c)) {
        const [server, repo, tag] = split(g.builds!);
        const firstRun = first.find((r) => r.task === g.name)!;
        // help/rollback.md: 1. list the unique tags; 2. point the stable tag at the previous one (az acr import --force: a manifest copy);
        const tags = tagsOf(c.lab.contents(), g.builds!);
        const previous = `${tag}-${firstRun.runId}`;
        out.push(check(`the unique tag ${previous} of the first promotion is listed`, previous in tags));
        c.lab.copyTag(c.address(server), repo, previous, tag);
        // 3. the digest.
        const now = tagsOf(c.lab.contents(), g.builds!);
        out.push(check(`${g.builds} names the digest of ${previous} again`, now[tag] === tags[previous], `${now[tag]} against ${tags[previous]}`));
        // Moving the stable tag fires the apps' base image trigger.
        for (const app of c.tasks.filter((t) => t.baseImageTrigger && t.from === g.builds)) {
          const runs = await c.lab.cascade(app, `base image update: ${g.builds} (rollback, emulated)`);
          out.push(...runs.map((r) => check(`run ${r.runId} of ${r.task} succeeded`, r.status === "succeeded", failure(r))));
        }
      }
      c.lab.standIns.set("az acr import --force (help/rollback.md, step 2)", { what: "az acr import --force (help/rollback.md, step 2)", why: "no Azure here: the same server-side copy of the unique tag's manifest onto the stable tag, through the registry's API (same digest)" });
      return [...out, ...answers(c, "DeepSkyBlue")];
    },
  },
  {
    name: "signed",
    variant: "signing",
    summary:
      "signing on: the gate signs what it promotes with Notation (a local key standing in for Key Vault) and attaches its SBOM and scan report as signed referrers; the app verifies before it builds, and refuses a base pushed unsigned and one signed as another image; an unchanged upstream is not signed again",
    run: async (c) => {
      const first = await c.lab.firstRuns();
      const contents = c.lab.contents();
      const out = promoted(c, first, contents);
      const lab = c.lab;
      for (const g of gates(c)) {
        const run = first.find((r) => r.task === g.name);
        for (const id of ["promote-unique", "sign", "attach-evidence", "promote"]) {
          out.push(check(`gate ${g.name}: step ${id} succeeded`, run?.steps.find((s) => s.id === id)?.status === "succeeded", run && failure(run)));
        }
        const [server, repo, tag] = split(g.builds!);
        const ref = `${c.address(server)}/${repo}@${tagsOf(contents, g.builds!)[tag]}`;
        // What a consumer sees on the stable tag's digest: oras lists its referrers, notation verifies its signature.
        const types = discover(c, ref);
        for (const type of ["application/vnd.cncf.notary.signature", EVIDENCE_TYPES.sbom, EVIDENCE_TYPES.report]) {
          out.push(check(`${g.builds} has a referrer of type ${type}`, types.includes(type), `referrers: ${types.join(", ")}`));
        }
        out.push(check(`notation verifies ${g.builds} as ${repo}:${tag}, signed with the gate's certificate`, verify(c, ref, `${c.address(server)}/${repo}`, `${repo}:${tag}`).ok));
        out.push(check(`and refuses it as another image (other:1)`, !verify(c, ref, `${c.address(server)}/${repo}`, "other:1").ok));

        // Unchanged upstream: no new tag, no new signature or evidence (the referrers' tag would move).
        const before = lab.contents();
        const again = await lab.cascade(g, "manual run, upstream unchanged");
        out.push(check(`gate ${g.name} on an unchanged upstream succeeded`, again[0].status === "succeeded", failure(again[0])));
        out.push(check("and signed nothing, attached nothing, tagged nothing", JSON.stringify(before) === JSON.stringify(lab.contents())));
        out.push(...notRunAgain(again[0]));

        for (const app of c.tasks.filter((t) => t.role === "app" && t.from === g.builds)) {
          const verified = first.find((r) => r.task === app.name);
          out.push(check(`app ${app.name} verified its base before it built`, verified?.steps.find((s) => s.id === "verify-base")?.status === "succeeded", verified && failure(verified)));
          const stable = `${c.address(server)}/${repo}:${tag}`;
          // An image pushed to the stable tag past the gate, unsigned.
          lab.pushBase(stable, { env: { BACKGROUND_COLOR: "Unsigned" } });
          const unsigned = await lab.cascade(app, `base image update: ${g.builds} (pushed unsigned, emulated)`);
          out.push(refused(app.name, unsigned[0], "pushed unsigned"));
          // One signed with the gate's key, but as another image.
          lab.pushBase(stable, { env: { BACKGROUND_COLOR: "Other" } });
          const digest = tagsOf(lab.contents(), g.builds!)[tag];
          lab.signerTool("notation", ["sign", "--signature-format", "cose", "--id", lab.signing!.keyId, "--plugin", "azure-kv", "--plugin-config", "self_signed=true", "--user-metadata", "io.acr-gate.target=other:1", `${c.address(server)}/${repo}@${digest}`]);
          // The signature itself is good (the gate's key, the gate's trust store): only what it was signed as differs.
          out.push(check("that image verifies as other:1", verify(c, `${c.address(server)}/${repo}@${digest}`, `${c.address(server)}/${repo}`, "other:1").ok));
          const other = await lab.cascade(app, `base image update: ${g.builds} (signed as other:1, emulated)`);
          out.push(refused(app.name, other[0], "signed for another image"));
        }
      }
      return [...out, ...answers(c, "DeepSkyBlue")];
    },
  },
  {
    name: "upstreams",
    variant: "upstreams",
    summary:
      "one config, three upstreams: the walkthrough's simulated node:15-alpine, mcr.microsoft.com's azurelinux/distroless/minimal:3.0 through the artifact cache, ghcr.io's containerd/busybox:1.36 pulled directly with a login; each gate pulls from where its upstream says and promotes; then a vulnerable ghcr.io image is refused by the scan and an MCR change is promoted by its gate alone",
    run: upstreamsScenario,
  },
];

function refused(app: string, r: RunRecord, why: string): Check {
  const verify = r.steps.find((s) => s.id === "verify-base");
  const build = r.steps.find((s) => s.id === "build-app");
  return check(`app ${app} refused a base ${why}: verify-base failed, nothing built`, r.status === "failed" && verify?.status === "failed" && build?.status === "skipped", failure(r) ?? "it succeeded");
}

/** The artifact types of a digest's referrers (oras discover, in the signer image). */
function discover(c: ScenarioContext, ref: string): string[] {
  const json = JSON.parse(c.lab.signerTool("oras", ["discover", "--format", "json", ref]));
  const list: { artifactType?: string }[] = json.manifests ?? json.referrers ?? [];
  return list.map((m) => m.artifactType ?? "");
}

/** notation verify in the signer image, with the trust store and policy the app tasks' verify step writes (lib/run-scripts.ts). */
function verify(c: ScenarioContext, ref: string, repo: string, target: string): { ok: boolean } {
  const script = [...trustSetup("BASE_REPO"), `notation verify --user-metadata "io.acr-gate.target=$TARGET" "$REF"`].join("; ");
  const r = c.lab.o.host.exec([
    "docker", "run", "--rm", "--network", "host", "--entrypoint", "/bin/bash",
    "-e", `GATE_CERTIFICATE=${c.lab.signing!.certificate}`, "-e", `BASE_REPO=${repo}`, "-e", `TARGET=${target}`, "-e", `REF=${ref}`,
    c.lab.signing!.image, "-c", `set -eu; ${script}`,
  ]);
  return { ok: r.status === 0 };
}

function vulnerable(dockerfile: string, dir: string): string {
  fs.writeFileSync(path.join(dir, "acr-gate-lab-dpkg-status"), dpkgStatus({ "acr-gate-lab-base": "1.0.0", [LAB_ADVISORY.package]: LAB_ADVISORY.installed }));
  return `${dockerfile.trimEnd()}\nCOPY acr-gate-lab-dpkg-status /var/lib/dpkg/status\n`;
}

/** The log of a run's vulnerability-scan step. */
function scanLog(r: RunRecord): string {
  const lines = r.log.split("\n");
  const at = lines.findIndex((l) => l.includes("Executing step ID: vulnerability-scan."));
  if (at < 0) return "";
  const end = lines.findIndex((l, i) => i > at && l.includes("Executing step ID: "));
  return lines.slice(at, end > at ? end : undefined).join("\n");
}

/** The steps that skip on an unchanged upstream (lib/run-scripts.ts unlessUnchangedStep) said so and ran nothing. */
function notRunAgain(run: RunRecord): Check[] {
  const skipping = run.steps.filter((s) => ["save-source", "vulnerability-scan", "evidence-sbom", "evidence-report"].includes(s.id));
  return skipping.map((s) =>
    check(`${s.id} was not run again`, s.status === "succeeded" && run.log.includes(`acr-gate - unchanged, ${s.id} not run again`), failure(run)),
  );
}
