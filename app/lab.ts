/**
 * `npm run lab`: the synthesized task files run for real on ACR's own engine, against local
 * registries, inside a private network namespace (help/lab.md).
 *
 * Exit codes: 0 every scenario passed; 1 a scenario failed, or the lab could not start; 2 bad
 * usage or a config that fails `acr-gate --check` (before anything starts).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigError, DEFAULT_CONFIG_YAML, escapeControls, parseConfig, printable, readConfigFile } from "../lib/config";
import { synthesizeInMemory } from "./synth";
import { ensureHostTools, LabError, LabHost, LabInterrupted } from "./lab-host";
import { LAB_TOOLS, labCacheDir, labTools, LabToolPaths, REPO_ROOT } from "./lab-images";
import { Lab, scannerProblem } from "./lab-run";
import { fixtureContext } from "./lab-fixtures";
import { labTasks, LabTask, signerImageOf } from "./lab-tasks";
import { Check, Scenario, SCENARIOS, UPSTREAMS_VARIANT } from "./lab-scenarios";

export const LAB_USAGE = `Usage: npm run lab -- [--config <file>] [--scenario <name> ...] [--context <task>=<dir> ...] [--out <dir>] [--keep] [--prepare]

Runs the config's synthesized ACR task files for real (acb, a Docker daemon and local registries in a
private network namespace) through the scenarios, and writes <out>/report.json (help/lab.md).

  --config <file>        the config (default: $ACR_GATE_CONFIG, else the walkthrough's default config)
  --scenario <name>      run only this scenario (repeatable): ${SCENARIOS.map((s) => s.name).join(", ")}
  --context <task>=<dir> the local checkout of a task's Git context (a gate's test context, an app),
                         instead of the lab's fixtures
  --out <dir>            where report.json and the runs' logs go (default: lab.out)
  --keep                 keep each run's task file, values and acb log under <out>/runs/
  --prepare              install and build what the lab needs (Debian packages, the pinned tools in
                         its cache), and stop there

Needs root (namespaces), Debian's docker.io and docker-registry (installed when missing), Go (builds
the pinned Trivy once into ~/.cache/acr-gate/lab), and acb ($ACR_GATE_ACB or ../shared/tools/acb/acb).
`;

interface Options {
  config?: string;
  scenarios: string[];
  contexts: Map<string, string>;
  out: string;
  keep: boolean;
  prepare: boolean;
  help: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { scenarios: [], contexts: new Map(), out: "lab.out", keep: false, prepare: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") && !arg.startsWith("--context=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith("--"))) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === "--help" || flag === "-h") o.help = true;
    else if (flag === "--keep" && inline === undefined) o.keep = true;
    else if (flag === "--prepare" && inline === undefined) o.prepare = true;
    else if (flag === "--config") o.config = value();
    else if (flag === "--out") o.out = value();
    else if (flag === "--scenario") {
      const s = value();
      if (!SCENARIOS.some((x) => x.name === s)) throw new UsageError(`--scenario ${printable(s)}: not one of ${SCENARIOS.map((x) => x.name).join(", ")}`);
      o.scenarios.push(s);
    } else if (flag === "--context" || flag.startsWith("--context=")) {
      const v = flag.startsWith("--context=") ? flag.slice("--context=".length) : value();
      const eq = v.indexOf("=");
      if (eq <= 0) throw new UsageError(`--context ${printable(v)}: write <task>=<dir>`);
      const dir = v.slice(eq + 1);
      if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--context ${printable(v)}: ${printable(dir)} is not a directory`);
      // The directory is bind-mounted (docker -v <dir>:/context:ro): a ':' or ',' would change what is mounted.
      if (/[:,\n]/.test(path.resolve(dir))) throw new UsageError(`--context ${printable(v)}: the directory's path may not hold ':' or ',' (it is mounted into a container)`);
      o.contexts.set(v.slice(0, eq), path.resolve(dir));
    } else throw new UsageError(`unknown ${arg.startsWith("-") ? "option" : "argument"} ${printable(arg)}`);
  }
  return o;
}

/**
 * The config's text for a scenario: as given, or with every gate's scan set as the scenario needs,
 * or with signing on. Only ever applied to a config that passed the checks as given.
 */
export function variantText(text: string, variant: Scenario["variant"]): string {
  if (!variant) return text;
  const doc = YAML.parse(text) ?? {};
  if (variant === "upstreams") {
    // Two more gates from two other public registries beside the config's own (issue 29): the
    // upstreams scenario's, with their logins (UPSTREAMS_VARIANT in app/lab-scenarios.ts).
    const upstream = doc.upstream ?? {};
    const credentials: string[] = upstream.credentials ?? [];
    doc.upstream = { ...upstream, credentials: [...new Set([...credentials, ...UPSTREAMS_VARIANT.credentials])] };
    doc.gatedImages = [...(doc.gatedImages ?? []), ...UPSTREAMS_VARIANT.gatedImages.map((g) => structuredClone(g))];
    return YAML.stringify(doc);
  }
  if (variant === "signing") {
    // Signing on, as help/signing.md sets it; what the config says of signing stays.
    const given = doc.signing ?? {};
    if (given.enabled === true) return text;
    const base = doc.baseArtifactsRegistry?.name ?? "contosobaseartifacts";
    doc.signing = {
      ...(given.existingCertificate ? {} : { subject: `CN=${base}.azurecr.io,O=acr-gate lab,ST=Lab,C=US` }),
      ...(given.signerImage ? {} : { signerContext: "https://github.com/your-github-org/acr-gate-signer.git#main:help/signer" }),
      ...given,
      enabled: true,
    };
    return YAML.stringify(doc);
  }
  for (const g of doc.gatedImages ?? []) {
    g.scan = variant === "report" ? { ...g.scan, mode: "report" } : { ...g.scan, mode: "enforce", failOn: "CRITICAL" };
  }
  return YAML.stringify(doc);
}

/** The login servers and upstream hosts the tasks name: each gets a local registry. */
function hostsOf(tasks: readonly LabTask[]): string[] {
  const hosts = new Set<string>();
  for (const t of tasks) {
    hosts.add(t.registry);
    for (const v of Object.values(t.values)) {
      const m = /^([a-z0-9.-]+\.[a-z]{2,}(?::\d+)?)\//i.exec(v);
      if (m) hosts.add(m[1].toLowerCase());
    }
    for (const image of [t.from, t.builds]) if (image) hosts.add(image.split("/")[0]);
  }
  return [...hosts].sort();
}

/** The public images the lab stands in: what the first tasks build on and nothing of the config builds. */
function upstreamImages(tasks: readonly LabTask[]): string[] {
  const built = new Set(tasks.map((t) => t.builds).filter(Boolean));
  const out = new Set<string>();
  for (const t of tasks) {
    if (t.role === "upstream" && t.builds) out.add(`${t.values.REGISTRY_FROM_URL ?? ""}${t.builds.slice(t.builds.indexOf("/") + 1)}`);
    else if (t.from && !built.has(t.from)) out.add(t.from);
  }
  return [...out].filter((i) => i.includes("/"));
}

/** The image of each gate's vulnerability-scan step, whatever it is named. */
function scannerImages(tasks: readonly LabTask[]): string[] {
  const out = new Set<string>();
  for (const t of tasks) {
    if (t.role !== "gate" || !("text" in t.taskFile)) continue;
    const m = /- id: vulnerability-scan\n\s+cmd: "?([^\s"]+)/.exec(t.taskFile.text);
    if (m) out.add(m[1]);
  }
  return [...out];
}

export interface LabReport {
  scenarios: {
    name: string;
    runs: { task: string; trigger: string; status: string; seconds: number; steps: { id: string; status: string; ran: string; seconds: number }[] }[];
    registries: Record<string, Record<string, Record<string, string>>>;
    apps: Record<string, { image: string; answer: string }>;
    checks: Check[];
    passed: boolean;
  }[];
  standIns: { what: string; why: string }[];
  /** What ran, and which version of it. */
  tools: Record<string, string>;
}

/**
 * Our output directory: new, empty, or one the lab wrote (its marker), never anything else; and
 * ours alone while we run (a lock naming our pid): a second lab on it would remove our work.
 */
function prepareOut(out: string): void {
  if (/[:,\n]/.test(path.resolve(out))) throw new LabError(`--out ${printable(out)}: the path may not hold ':' or ',' (run logs are mounted into containers)`);
  const st = fs.statSync(out, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw new LabError(`--out ${printable(out)}: not a directory`);
  if (st) {
    const entries = fs.readdirSync(out);
    if (entries.length && !entries.includes(".acr-gate-lab-output")) throw new LabError(`--out ${printable(out)}: not empty and not written by the lab; name a new directory`);
  }
  fs.mkdirSync(out, { recursive: true });
  const lock = path.join(out, ".lock");
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: "wx" });
      break;
    } catch {
      const pid = Number(fs.readFileSync(lock, "utf8"));
      let alive = false;
      try {
        alive = pid > 0 && process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (alive) throw new LabError(`--out ${printable(out)}: another lab (pid ${pid}) is running with it; wait for it, or name another --out`);
      fs.rmSync(lock, { force: true });
    }
  }
  // Ours only: the runs' logs, and what a killed run may have left.
  for (const e of fs.readdirSync(out)) if (e === "runs" || e.startsWith(".work-") || e.startsWith(".report-")) fs.rmSync(path.join(out, e), { recursive: true, force: true });
  fs.writeFileSync(path.join(out, ".acr-gate-lab-output"), "written by npm run lab (acr-gate); replaced on the next run\n");
}

function releaseOut(out: string): void {
  try {
    if (fs.readFileSync(path.join(out, ".lock"), "utf8") === String(process.pid)) fs.rmSync(path.join(out, ".lock"));
  } catch {
    /* not ours, or gone */
  }
}

export async function runLab(argv: readonly string[], env: NodeJS.ProcessEnv, io: { out(s: string): void; err(s: string): void }): Promise<number> {
  let o: Options;
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`lab: ${e.message}\n\n${LAB_USAGE}`);
    return 2;
  }
  if (o.help) {
    io.out(LAB_USAGE);
    return 0;
  }
  const log = (s: string) => io.err(`lab: ${s}\n`);
  // The config is checked before anything starts, with the messages of acr-gate --check.
  const file = o.config ?? env.ACR_GATE_CONFIG;
  const chosen = SCENARIOS.filter((s) => o.scenarios.length === 0 || o.scenarios.includes(s.name));
  const prepared: { scenario: Scenario; tasks: LabTask[] }[] = [];
  try {
    const text = file === undefined ? DEFAULT_CONFIG_YAML : readConfigFile(file, "--config");
    const source = file === undefined ? "default config" : file;
    // The config as given first: its limits and messages (nesting, size, controls) before any variant reads it.
    parseConfig(text, source);
    for (const scenario of chosen) {
      // The upstreams variant adds gates: its problems name it, not the config as given.
      const config = parseConfig(variantText(text, scenario.variant), scenario.variant === "upstreams" ? `${source} with the upstreams scenario's two gates (--scenario upstreams)` : source);
      prepared.push({ scenario, tasks: labTasks(synthesizeInMemory(config)) });
    }
  } catch (e) {
    io.err(`lab: ${e instanceof ConfigError ? e.message : `acr-gate: ${(e as Error).message}`}\n`);
    return 2;
  }
  const scanners = [...new Set(prepared.flatMap((p) => scannerImages(p.tasks)))].map(scannerProblem).filter(Boolean);
  if (scanners.length) {
    io.err(`lab: ${scanners.join("\nlab: ")}\n`);
    return 2;
  }
  for (const name of o.contexts.keys()) {
    if (!prepared.some((p) => p.tasks.some((t) => t.name === name))) {
      io.err(`lab: --context ${printable(name)}: the config has no task of that name\n`);
      return 2;
    }
  }

  if (o.prepare) {
    try {
      ensureHostTools(log);
      const t = labTools({ cache: labCacheDir(env), acb: acbPath(env), signing: true, log });
      io.out(`lab: ready (${Object.values(t).filter((v) => v.startsWith("/")).length} tools in ${labCacheDir(env)} and on this machine)\n`);
      return 0;
    } catch (e) {
      if (!(e instanceof LabError)) throw e;
      io.err(`lab: ${e.message}\n`);
      return 1;
    }
  }
  let host: LabHost | undefined;
  let work: string | undefined;
  const stopOnSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the lab`);
    host?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
    releaseOut(o.out);
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.on("SIGINT", stopOnSignal);
  process.on("SIGTERM", stopOnSignal);
  const report: LabReport = { scenarios: [], standIns: [], tools: {} };
  const standIns = new Map<string, { what: string; why: string }>();
  let steps = { real: 0, standIn: 0 };
  let failed = 0;
  try {
    prepareOut(o.out);
    ensureHostTools(log);
    const signing = prepared.some((p) => signerImageOf(p.tasks) !== undefined);
    const tools = labTools({ cache: labCacheDir(env), acb: acbPath(env), signing, log });
    report.tools = toolVersions(tools);
    for (const { scenario, tasks } of prepared) {
      log(`scenario ${scenario.name}: ${scenario.summary}`);
      work = fs.mkdtempSync(path.join(path.resolve(o.out), `.work-${scenario.name}-`));
      const registries = new Map<string, string>();
      try {
        const current = LabHost.create({ logDir: path.join(work, "daemon"), stands: hostsOf(tasks), abandon: work });
        host = current;
        await current.boot(log);
        for (const r of current.registries) registries.set(r.stands, r.address);
        const contexts = new Map<string, string>();
        const fixtures = new Set<string>();
        for (const t of tasks) {
          const given = o.contexts.get(t.name);
          if (given) contexts.set(t.name, given);
          else if (t.role === "upstream" || (t.context && (t.role === "gate" || t.role === "app"))) {
            contexts.set(t.name, fixtureContext(t, path.join(work, "contexts", t.name)));
            fixtures.add(t.name);
          }
        }
        const lab = new Lab({ host: current, tools, work, tasks, registries, contexts, log });
        if (fixtures.size) lab.standIns.set("Git contexts", { what: `the Git contexts of ${[...fixtures].join(", ")}`, why: "no GitHub here: the lab's fixtures (lab/contexts/, examples/gate-test), made for each task's images and port; --context <task>=<dir> gives your own" });
        lab.setUp(upstreamImages(tasks), scannerImages(tasks));
        let checks: Check[];
        try {
          checks = await scenario.run({ lab, tasks, contexts, fixture: (t) => fixtures.has(t.name), address: (s) => registries.get(s)!, log });
        } catch (e) {
          if (e instanceof LabInterrupted) throw e;
          checks = [{ what: "the scenario ran to its end", ok: false, detail: (e as Error).message }];
        }
        const passed = checks.every((c) => c.ok);
        if (!passed) failed++;
        // Details quote step logs and apps' answers: their control characters are not the terminal's.
        for (const c of checks) log(`  ${c.ok ? "ok" : "FAILED"}: ${c.what}${c.ok || !c.detail ? "" : `\n      ${printableLines(c.detail).split("\n").join("\n      ")}`}`);
        const apps = safe(() => lab.apps(), {});
        const byName = Object.fromEntries([...registries].map(([server, addr]) => [addr, server.replace(/\.azurecr\.io$/, "")]));
        const contents = safe(() => lab.contents(), {});
        report.scenarios.push({
          name: scenario.name,
          runs: lab.runs.map((r) => ({ task: r.task, trigger: r.trigger, status: r.status, seconds: r.seconds, steps: r.steps })),
          registries: Object.fromEntries(Object.entries(contents).map(([server, repos]) => [byName[registries.get(server)!] ?? server, repos])),
          apps,
          checks,
          passed,
        });
        for (const r of lab.runs) for (const s of r.steps) if (s.status !== "skipped") s.ran === "real" ? steps.real++ : steps.standIn++;
        for (const [k, v] of lab.standIns) standIns.set(k, v);
        if (o.keep) fs.cpSync(path.join(work, "runs"), path.join(o.out, "runs", scenario.name), { recursive: true });
      } finally {
        host?.stop();
        host = undefined;
        fs.rmSync(work, { recursive: true, force: true });
        work = undefined;
      }
    }
  } catch (e) {
    // The process group's signal, seen by a child first: the same way down as the handler's.
    if (e instanceof LabInterrupted) stopOnSignal(e.signal);
    process.off("SIGINT", stopOnSignal);
    process.off("SIGTERM", stopOnSignal);
    releaseOut(o.out);
    if (!(e instanceof LabError)) throw e;
    io.err(`lab: ${e.message}\n`);
    return 1;
  }
  report.standIns = [...standIns.values()];
  const tmp = path.join(o.out, `.report-${process.pid}.json`);
  fs.writeFileSync(tmp, JSON.stringify(report, null, 2) + "\n");
  fs.renameSync(tmp, path.join(o.out, "report.json"));
  const runs = report.scenarios.reduce((n, s) => n + s.runs.length, 0);
  const failedRuns = report.scenarios.reduce((n, s) => n + s.runs.filter((r) => r.status === "failed").length, 0);
  io.out(`lab: report ${path.join(o.out, "report.json")}; ${report.scenarios.length - failed} of ${report.scenarios.length} scenarios passed\n`);
  io.out(`lab: ${runs} runs, ${steps.real} steps real, ${steps.standIn} stood in, ${failedRuns} failed\n`);
  // Only now: a signal that came while the lab ran synchronous code is handled at its next turn.
  process.off("SIGINT", stopOnSignal);
  process.off("SIGTERM", stopOnSignal);
  releaseOut(o.out);
  return failed ? 1 : 0;
}

/** acb: $ACR_GATE_ACB, else ../shared/tools/acb/acb beside the repository (help/lab.md, "acb"). */
function acbPath(env: NodeJS.ProcessEnv): string {
  return env.ACR_GATE_ACB ?? path.join(REPO_ROOT, "..", "shared", "tools", "acb", "acb");
}

/** The first line each tool says of its version (Debian's packages, acb, and the lab's pinned builds). */
function toolVersions(tools: LabToolPaths): Record<string, string> {
  const v = (cmd: string, ...args: string[]) => (spawnSync(cmd, args, { encoding: "utf8" }).stdout ?? "").trim().split("\n")[0] ?? "";
  return {
    acb: v(tools.acb, "--version"),
    dockerd: v("dockerd", "--version"),
    "docker-registry": v("docker-registry", "--version"),
    trivy: LAB_TOOLS.trivy.version,
    ...(tools.notation ? { notation: LAB_TOOLS.notation.version, oras: LAB_TOOLS.oras.version } : {}),
    node: LAB_TOOLS.node.version,
  };
}

/** Lines of step logs and apps' answers, each escaped as config values are (controls, bidi): they are not the terminal's. */
function printableLines(text: string): string {
  return text
    .replace(/\x1b\[[0-9;]*m/g, "")
    .replace(/\t/g, " ")
    .replace(/\r/g, "")
    .split("\n")
    .map(escapeControls)
    .join("\n");
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof LabInterrupted) throw e;
    return fallback;
  }
}

if (require.main === module) {
  runLab(process.argv.slice(2), process.env, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }).then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stderr.write(`lab: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
