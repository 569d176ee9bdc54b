/**
 * `npm run check-tasks` (app/acb-check.ts): one dry run of acb, and what its log says. acb
 * (`exec --dry-run --debug`) logs the task file it rendered (Go templates, `$aliases` expanded),
 * so the `when` graph it runs, and per step the `docker run` it would start
 * ("[DRY RUN] Args: [...]") and when it started and finished it. It never runs them: what a
 * step's program does with its arguments is not checked, only what it is given.
 *
 * What acb is and is not: /work/shared/tools/acb/README.md. In short: only `exec --dry-run`, only
 * under `unshare -n` (no network), never with a `secrets:` list (acb would wait on Key Vault).
 */
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as YAML from "yaml";
import { DockerRun, parseDockerRun, shellWords } from "./acb-commands";

/** The run id acb is given (`--id`): the unique tag of a gate ends in it. */
export const RUN_ID = "run1";
/** Secret references become this prefix + the secret id, so a deploy argument still says which secret it was. */
export const SECRET_PREFIX = "acb-check-secret-";

/** What one task's check found: printed as one PASS or FAIL line, the problems under it, then the notes. */
export interface CheckResult {
  kind: "task" | "gate" | "app";
  steps: number;
  problems: string[];
  notes: string[];
  summary?: string;
  /** The promotion part of a gate's summary (app/acb-gate.ts). */
  promotion?: string;
}

export function runAcb(acb: string, args: string[], timeoutMs: number): SpawnSyncReturns<string> {
  // Only ever `exec --dry-run`: anything else would start Docker (acb README).
  if (args[0] !== "exec" || !args.includes("--dry-run")) throw new Error("acb may only run with exec --dry-run");
  return spawnSync("unshare", ["-n", acb, ...args], { encoding: "utf8", timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 << 20 });
}

// ---------------------------------------------------------------------------------------------
// acb's log.

const STAMP = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /;
/** Records whose continuation lines are task data (the file, a heredoc in a command), not acb's words. */
const DATA_RECORD = /^(Processed task before rendering data:|Rendered template:|\[DRY RUN\] Args: |Step args: |Scan args: )/;
/** Words acb uses when something went wrong (checked outside data records). */
const ERROR_WORDS = /\b(error|errors|err|fail|failed|failure|fatal|panic|unable|cannot|invalid|denied|timed out)\b/i;

interface LogRecord {
  i: number;
  text: string;
  more: string[];
  unstamped?: boolean;
}

/** Go's log lines with their continuation lines: [{i, text, lines}]. */
function records(log: string): LogRecord[] {
  const out: Omit<LogRecord, "i">[] = [];
  for (const line of log.split("\n")) {
    if (STAMP.test(line)) out.push({ text: line.replace(STAMP, ""), more: [] });
    else if (out.length) out[out.length - 1].more.push(line);
    else if (line.trim()) out.push({ text: line, more: [], unstamped: true });
  }
  return out.map((r, i) => ({ i, text: r.text, more: r.more, unstamped: r.unstamped }));
}

/** A step of the rendered task file, with what it waits for. */
export interface AcbStep {
  id: string;
  when?: unknown;
  push?: unknown;
  /** ACR: no `when` means after the previous step; `when: ["-"]` means no dependency. */
  deps: string[];
}

/** What acb's log of one task says: the graph it built, the docker command of each step, the order it ran them in. */
export interface DryRun {
  steps: AcbStep[];
  byId: Map<string, AcbStep>;
  /** Every step that must have succeeded before `id` runs (the `when` closure). */
  ancestors(id: string): Set<string>;
  /** Step id -> its parsed `docker run` (push steps: one per image). */
  runs: Map<string, DockerRun[]>;
  /** Step id -> the log record at which acb started it. */
  started: Map<string, number>;
  /** Step id -> the log record at which it had finished (a push step: its last image pushed). */
  doneAt(id: string): number;
}

/**
 * Reads acb's log: its error words and warnings, the rendered file, each step's command line.
 * Adds what is wrong to `problems` (and acb's warnings to `notes`); undefined when the rendered
 * file cannot be read (nothing else can be checked then).
 */
export function readDryRun(log: string, problems: string[], notes: string[]): DryRun | undefined {
  const recs = records(log);
  for (const rec of recs) {
    if (rec.unstamped || !DATA_RECORD.test(rec.text)) {
      for (const l of [rec.text, ...rec.more]) {
        if (ERROR_WORDS.test(l)) problems.push(`acb printed: ${l.trim()}`);
        else if (/\bWARNING\b/.test(l)) notes.push(`acb warned: ${l.trim()}`);
      }
    }
  }

  // The file acb runs (rendered, `$aliases` expanded) and its graph.
  const renderedRec = recs.find((x) => x.text.startsWith("Rendered template:"));
  let doc: { steps?: unknown } | null;
  try {
    doc = YAML.parse(renderedRec!.more.join("\n"));
  } catch (e) {
    problems.push(`cannot read the rendered task file acb logged: ${renderedRec ? (e as Error).message : 'no "Rendered template:" in its log'}`);
    return undefined;
  }
  const raw: Record<string, any>[] = doc && Array.isArray(doc.steps) ? doc.steps : [];
  const steps: AcbStep[] = raw.map((s, i, all) => ({
    ...s,
    id: s.id,
    // ACR: no `when` means after the previous step; `when: ["-"]` means no dependency.
    deps: Array.isArray(s.when) ? s.when.filter((w: unknown) => w !== "-") : i > 0 ? [all[i - 1].id] : [],
  }));
  const byId = new Map(steps.map((s) => [s.id, s]));
  const ancestors = (id: string, seen = new Set<string>()): Set<string> => {
    for (const d of (byId.get(id) || { deps: [] as string[] }).deps) {
      if (!seen.has(d)) {
        seen.add(d);
        ancestors(d, seen);
      }
    }
    return seen;
  };

  // The docker command line of every step, and when acb started and finished it.
  const runs = new Map<string, DockerRun[]>();
  const started = new Map<string, number>();
  const finished = new Map<string, number>();
  const pushedAt = new Map<string, number>();
  for (const rec of recs) {
    let m: RegExpExecArray | null;
    if ((m = /^Executing step ID: (.+?)\. Timeout/.exec(rec.text))) started.set(m[1], rec.i);
    else if ((m = /^Successfully executed container: (.+)$/.exec(rec.text))) finished.set(m[1].trim(), rec.i);
    else if ((m = /^Successfully pushed image: (.+)$/.exec(rec.text))) pushedAt.set(m[1].trim(), rec.i);
    else if ((m = /^\[DRY RUN\] Args: \[(.*)$/s.exec([rec.text, ...rec.more].join("\n")))) {
      const inner = m[1].replace(/\]\s*$/, "");
      let run: DockerRun | undefined;
      if (inner.startsWith("/bin/sh -c ")) {
        let sh: ReturnType<typeof shellWords>;
        try {
          sh = shellWords(inner.slice("/bin/sh -c ".length));
        } catch (e) {
          problems.push(`cannot split a step's command line (${(e as Error).message}): ${inner}`);
          continue;
        }
        run = parseDockerRun(sh.words);
        if (run && sh.meta.length) {
          // acb 90b22f3 starts cmd and build steps through the host's /bin/sh: these would be
          // interpreted on the build agent, not inside the step's container.
          problems.push(`step ${run.name}: host-shell metacharacters ${JSON.stringify([...new Set(sh.meta)].join(""))} in its command line`);
        }
      } else run = parseDockerRun(inner.split(/\s+/)); // pushes, scanners: Go's %v of a []string
      if (!run) continue;
      run.raw = inner;
      const pushRun = run;
      if (run.args[0] === "push") {
        for (const s of steps.filter((x) => Array.isArray(x.push) && x.push.includes(pushRun.args[1]))) {
          if (!runs.has(s.id)) runs.set(s.id, []);
          runs.get(s.id)!.push(run);
        }
      } else if (run.name !== undefined && byId.has(run.name)) runs.set(run.name, [run]);
    }
  }
  for (const s of steps) {
    if (!started.has(s.id)) problems.push(`acb did not run step ${s.id}`);
    else if (!runs.has(s.id)) problems.push(`acb printed no docker command for step ${s.id}`);
  }
  const doneAt = (id: string): number => {
    const s = byId.get(id);
    if (s && Array.isArray(s.push)) return Math.max(...s.push.map((img: string) => pushedAt.get(img) ?? Infinity));
    return finished.get(id) ?? Infinity;
  };
  readScriptSteps(runs, problems);
  return { steps, byId, ancestors: (id) => ancestors(id), runs, started, doneAt };
}

/** Is this the docker CLI's image (`docker`, `buildx`, with any tag)? */
export const isDocker = (run: DockerRun): boolean => /^(docker|buildx)(:[^/]*)?$/.test(run.image || "");

/**
 * Script steps (lib/run-scripts.ts): a shell as entry point, the script in -c, values in --env.
 * Steps that run one command unless unchanged (unlessUnchangedStep) are read as that command.
 */
function readScriptSteps(runs: Map<string, DockerRun[]>, problems: string[]): void {
  const one = (id: string) => runs.get(id)![0];
  const ids = [...runs.keys()];
  for (const id of ids) {
    const r = one(id);
    if (["sh", "bash"].includes(r.entrypoint ?? "") && r.args[0] === "-c" && r.args.length === 2) {
      const script = r.args[1];
      r.script = script;
      r.envMap = Object.fromEntries(r.env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
      // What the script pushes: `docker push "$X"`, X from its environment.
      r.pushes = [...script.matchAll(/docker push "\$([A-Z_]+)"/g)].map((m) => r.envMap[m[1]]);
    }
  }
  // Steps that run one command unless unchanged (lib/run-scripts.ts unlessUnchangedStep): read
  // as that command (`trivy image ...`, `docker save ...`, "$X" from its environment), with the
  // marker they skip on kept for the promotion check.
  for (const id of ids) {
    const r = one(id);
    const m = r.script !== undefined ? /^if \[ -s (\S+) \]; then echo "[^"]*"; exit 0; fi; exec (.*)$/.exec(r.script) : null;
    if (!m) continue;
    let words: string[];
    let meta: string[];
    try {
      ({ words, meta } = shellWords(m[2]));
    } catch (e) {
      problems.push(`step ${id}: cannot split its command (${(e as Error).message})`);
      continue;
    }
    // One plain command: no second one, no redirection, nothing expanded but a whole "$NAME".
    const expansions = words.filter((w) => w.includes("$"));
    if (meta.some((c) => c !== "$") || expansions.some((w) => !/^\$[A-Z_]+$/.test(w) || r.envMap[w.slice(1)] === undefined)) {
      problems.push(`step ${id}: runs more than one plain command after its unchanged check: ${m[2]}`);
      continue;
    }
    // The program is the one the image stands for: `docker` in the docker image, Trivy elsewhere.
    if (words[0] !== (isDocker(r) ? "docker" : "trivy")) problems.push(`step ${id}: runs ${words[0]} in ${r.image}`);
    r.skipsOn = m[1];
    r.execs = words[0];
    r.args = words.slice(1).map((w) => (/^\$[A-Z_]+$/.test(w) && r.envMap[w.slice(1)] !== undefined ? r.envMap[w.slice(1)] : w));
    r.script = undefined;
  }
}
