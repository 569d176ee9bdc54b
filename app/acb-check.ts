/**
 * The worker of scripts/acb-check.sh (npm run check-tasks): runs every generated ACR task file of
 * some synthesized stacks through Azure's own task engine (acb, `exec --dry-run`, offline) and
 * checks the docker command lines it prints against what the task is for. Read acb-check.sh first.
 *
 *   node dist/app/acb-check.js --acb PATH --work DIR [--timeout SEC] [--failed N] ENTRY...
 *     ENTRY  "WHERE|CONFIG|FILE": WHERE names the stack in messages, FILE is its cdk.tf.json,
 *            CONFIG is "" (none), "default" (the built-in config) or a config file; with a
 *            config, the expected scan mode and test of each gate come from it.
 *     --failed N  failures found before (synth), added to the closing count
 *
 * Prints one line per task, indented reasons under a FAIL, then exactly
 * "acb-check: N tasks checked, M steps checked, F failed"; exits 1 when F > 0.
 *
 * The parts: acb-run.ts runs acb and reads its log, acb-commands.ts the command lines it prints,
 * acb-gate.ts checks gates (which steps validate and promote: lib/gate-steps.ts), acb-app.ts apps.
 */
import * as fs from "fs";
import * as path from "path";
import { loadConfig } from "../lib/config";
import { gatePull } from "../lib/artifact-cache";
import { acrLoginServer } from "../lib/upstream-hosts";
import { allScripts } from "../lib/run-scripts";
import { opt } from "./acb-commands";
import { checkApp } from "./acb-app";
import { checkGate, GateExpectation } from "./acb-gate";
import { CheckResult, isDocker, readDryRun, RUN_ID, runAcb, SECRET_PREFIX } from "./acb-run";
import { secretsOf, Tf, withoutSecrets } from "./task-inputs";

const TAG = "acb-check";

/** The task file as acb may receive it: secret references become SECRET_PREFIX + the secret id. */
const prepareTaskFile = (text: string) => withoutSecrets(text, (id) => SECRET_PREFIX + id);

/** What a config says the stack's tasks are (none without a config: nothing is guessed then). */
interface Expectations {
  gates: Map<string, GateExpectation>;
  /** App task name -> its base image, `repository:tag`. */
  apps: Map<string, string>;
  source: string | undefined;
  signing: boolean | undefined;
}

interface TaskContext {
  tf: Tf;
  acb: string;
  workDir: string;
  timeoutMs: number;
  expect: Expectations;
}

type Obj = Record<string, any>;

let knownCache: Set<string> | undefined;
/** The scripts lib/run-scripts.ts writes. */
function knownScripts(): Set<string> {
  return (knownCache ??= new Set(allScripts()));
}

function checkTask(ctx: TaskContext, t: Obj): CheckResult {
  const { tf, acb, workDir, timeoutMs, expect } = ctx;
  const problems: string[] = [];
  const notes: string[] = [];
  const original = Buffer.from(t.encoded_step.task_content, "base64").toString("utf8");
  const secrets = secretsOf(original);
  const taskText = prepareTaskFile(original);
  if (/\.Secrets\b/.test(taskText)) problems.push("a secret reference of a form this check cannot replace is left in the task file");
  const values: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(t.encoded_step.values || {})) values[k] = tf.str(v);
  const registry = tf.loginServer(t);
  const result: CheckResult = { kind: "task", steps: 0, problems, notes };
  if (!registry) {
    problems.push(`cannot tell the login server of the task's registry from container_registry_id ${JSON.stringify(t.container_registry_id)}`);
    return result;
  }
  fs.mkdirSync(workDir, { recursive: true });
  const file = path.join(workDir, "task.yaml");
  const valuesFile = path.join(workDir, "values.yaml");
  fs.writeFileSync(file, taskText);
  // JSON strings are YAML double-quoted scalars: every value stays a string.
  fs.writeFileSync(valuesFile, Object.entries(values).map(([k, v]) => `${k}: ${JSON.stringify(v)}\n`).join(""));

  // --debug adds the rendered file (for the `when` graph) and keeps the [DRY RUN] lines.
  const r = runAcb(acb, ["exec", "--dry-run", "--debug", "-f", file, "--values", valuesFile, "--registry", registry, "--id", RUN_ID], timeoutMs);
  const log = `${r.stderr || ""}${r.stdout || ""}`;
  fs.writeFileSync(path.join(workDir, "acb.log"), log);
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ETIMEDOUT") {
    problems.push(`acb did not finish within ${timeoutMs / 1000} s (a secret or login it tries to resolve?); ACR_GATE_KEEP_WORK=1 keeps its log`);
    return result;
  }
  if (r.error) throw r.error;
  if (r.status !== 0) {
    // acb's reason is its last line (the lines before may be the task file it logged with --debug).
    problems.push(`acb exited ${r.status === null ? `on ${r.signal}` : r.status}: ${log.trim().split("\n").pop()}`);
    return result;
  }
  const run = readDryRun(log, problems, notes);
  if (!run) return result;
  const { byId, runs } = run;
  result.steps = [...runs.keys()].filter((id) => byId.has(id)).length;

  // What each step is, by what it does.
  const one = (id: string) => runs.get(id)![0];
  const ids = [...runs.keys()];
  const builds = ids.filter((id) => isDocker(one(id)) && one(id).args[0] === "build");
  const saves = ids.filter((id) => isDocker(one(id)) && one(id).args[0] === "save");
  const pulls = ids.filter((id) => isDocker(one(id)) && one(id).args[0] === "pull");
  const scripts = ids.filter((id) => one(id).script !== undefined);
  // Each script must be one acr-gate writes, byte for byte (lib/run-scripts.ts): the graph checks
  // cannot see a `|| true` or a weakened trust policy inside one.
  const known = knownScripts();
  for (const id of scripts) {
    if (id === "check-signer") continue; // the signer task's tool check, not a run-time decision
    if (!known.has(one(id).script!)) problems.push(`step ${id}: its script is not one lib/run-scripts.ts writes (changed by hand, or dist/ is stale)`);
  }
  const scriptPushes = scripts.filter((id) => isDocker(one(id)) && one(id).pushes.length > 0);
  const pushes = [...ids.filter((id) => isDocker(one(id)) && one(id).args[0] === "push"), ...scriptPushes];
  const deploys = ids.filter((id) => one(id).args[0] === "container" && one(id).args[1] === "create");
  // Evidence steps also read --input, but write a report (--output) and decide nothing.
  const scanLike = ids.filter((id) => !isDocker(one(id)) && opt(one(id).args, "--input", "--scanners").length > 0);
  const evidenceScans = scanLike.filter((id) => opt(one(id).args, "--output").length > 0);
  const scans = scanLike.filter((id) => !evidenceScans.includes(id));

  if (deploys.length) {
    result.kind = "app";
    checkApp(tf, { ...run, result, values, registry, secrets, deploys, pushes, builds, scripts, problems, notes, expectSigning: expect.signing, expectBase: expect.apps.get(t.name) });
  } else if (pushes.length && (pulls.length || saves.length || scans.length)) {
    result.kind = "gate";
    checkGate(t, {
      ...run,
      result,
      builds,
      saves,
      scans,
      evidenceScans,
      pushes,
      scriptPushes,
      scripts,
      skippers: ids.filter((id) => one(id).skipsOn !== undefined),
      rawValues: (t.encoded_step && t.encoded_step.values) || {},
      problems,
      notes,
      expect: expect.gates.get(t.name),
      expectSigning: expect.signing,
    });
  } else {
    result.summary = "neither a gate nor an app: only acb's own verdict checked";
  }
  // The gate pulls from where the config says: its upstream, or that upstream's cache.
  const expected = expect.gates.get(t.name)?.pulls;
  if (expected !== undefined && result.kind === "gate") {
    const pulled = pulls.map((id) => one(id).args[one(id).args.length - 1]);
    if (!pulled.includes(expected)) problems.push(`pulls ${pulled.join(", ") || "nothing"}, where the config says ${expected}`);
  }
  // What the JSON or the config says the task is must match what its steps do.
  if (expect.gates.has(t.name) && result.kind !== "gate") problems.push("the config has this gated image, but its steps are not pull, validate, push");
  if (values.ACI !== undefined && result.kind !== "app") problems.push(`the task has an ACI value (${values.ACI}) but no \`az container create\` step`);
  return result;
}

/** Where the config says a gate pulls from (the login servers are literal in the JSON: `<name>.azurecr.io`). */
function pulledBy(c: ReturnType<typeof loadConfig>, g: ReturnType<typeof loadConfig>["gatedImages"][number]): string {
  const pull = gatePull(g.upstream, g.source.repository, { simulated: c.publicRegistry ? acrLoginServer(c.publicRegistry.name) : undefined, base: acrLoginServer(c.baseArtifactsRegistry.name) });
  return `${pull.prefix}${pull.repository}:${g.source.tag}`;
}

/** What the config (a file, "default", or none: "") says of each gate and app, read with the app's own loader. */
function expectations(config: string): Expectations {
  const gates = new Map<string, GateExpectation>();
  const apps = new Map<string, string>();
  if (!config) return { gates, apps, source: undefined, signing: undefined };
  const c = loadConfig(config === "default" ? {} : { ACR_GATE_CONFIG: config });
  for (const gi of c.gatedImages || []) {
    gates.set(gi.taskName, {
      mode: gi.scan && gi.scan.enabled !== false ? gi.scan.mode : undefined,
      test: !!(gi.test && gi.test.enabled !== false),
      scan: !!(gi.scan && gi.scan.enabled !== false),
      allowUnvalidated: !!gi.allowUnvalidated,
      pulls: pulledBy(c, gi),
    });
  }
  for (const a of c.apps || []) apps.set(a.taskName, `${a.baseImage.repository}:${a.baseImage.tag}`);
  return { gates, apps, source: config, signing: !!(c.signing && c.signing.enabled) };
}

export function main(argv: string[]): number {
  let acb: string | undefined;
  let work: string | undefined;
  let timeoutMs = 20000;
  let failed = 0;
  const entries: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--acb") acb = argv[++i];
    else if (a === "--work") work = argv[++i];
    else if (a === "--timeout") timeoutMs = Number(argv[++i]) * 1000;
    else if (a === "--failed") failed = Number(argv[++i]);
    else entries.push(a);
  }
  if (!acb || !work) throw new Error("usage: acb-check.js --acb PATH --work DIR [--timeout SEC] [--failed N] WHERE|CONFIG|FILE...");
  let tasks = 0;
  let stepsChecked = 0;
  let notCheckable = 0;
  const out = (s: string) => process.stdout.write(s + "\n");
  for (const [n, entry] of entries.entries()) {
    const [where, config, file] = entry.split("|");
    let tf: Tf;
    let expect: Expectations;
    try {
      tf = new Tf(JSON.parse(fs.readFileSync(file, "utf8")));
      expect = expectations(config);
    } catch (e) {
      out(`${TAG}: FAIL ${where} (${(e as Error).message.split("\n")[0]})`);
      failed++;
      continue;
    }
    const all = Object.entries(tf.resources("azurerm_container_registry_task"));
    if (!all.length) out(`${TAG}: note: ${where} has no azurerm_container_registry_task`);
    for (const [addr, t] of all) {
      const name = `${where} ${t.name || addr}`;
      if (!t.encoded_step) {
        notCheckable++;
        const fsx = t.file_step;
        out(`${TAG}: NOT CHECKABLE ${name}: ${fsx ? `its task file ${fsx.task_file_path} is in ${fsx.context_path}, read at run time` : "no encoded_step"}; not checkable offline`);
        continue;
      }
      tasks++;
      let r: CheckResult;
      try {
        r = checkTask({ tf, acb, timeoutMs, expect, workDir: path.join(work, String(n), addr) }, t);
      } catch (e) {
        r = { kind: "task", steps: 0, problems: [`check crashed: ${(e as Error).stack || (e as Error).message}`], notes: [] };
      }
      stepsChecked += r.steps;
      const head = `${name} (${r.kind}, ${r.steps} steps)`;
      if (r.problems.length) {
        failed++;
        out(`${TAG}: FAIL ${head}`);
        for (const p of r.problems) out(`    - ${p}`);
      } else out(`${TAG}: PASS ${head}${r.summary ? `: ${r.summary}` : ""}`);
      for (const note of r.notes) out(`    note: ${note}`);
    }
  }
  if (notCheckable) out(`${TAG}: ${notCheckable} task(s) with a file step not checkable offline`);
  if (tasks === 0) {
    out(`${TAG}: FAIL nothing was checked (no task with an encoded_step in ${entries.length} stack(s))`);
    failed++;
  }
  out(`${TAG}: ${tasks} tasks checked, ${stepsChecked} steps checked, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${TAG}: ERROR: ${(e as Error).message}\n`);
    process.exitCode = 2;
  }
}
