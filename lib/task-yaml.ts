/**
 * A typed model of the ACR Tasks YAML (multi-step task file), enough for what acr-gate generates.
 *
 * Reference: https://learn.microsoft.com/azure/container-registry/container-registry-tasks-reference-yaml
 * The model rejects, at synth time, what ACR would reject only when the task runs: duplicate step
 * ids, a `when` naming an unknown step, and dependency cycles.
 */
import * as YAML from "yaml";

interface StepBase {
  /** Unique within the task; other steps name it in `when`. */
  readonly id: string;
  /**
   * Steps that must succeed first. `["-"]` starts the step at once; omitted means "after the
   * previous step" (ACR's default), which generated tasks never rely on.
   */
  readonly when: readonly string[];
  /** Seconds; ACR's default is 600. */
  readonly timeout?: number;
  readonly env?: readonly string[];
}

export interface BuildStep extends StepBase {
  /** Arguments of `docker build`, e.g. `-t {{.Run.Registry}}/x:1 -f Dockerfile .`. */
  readonly build: string;
}
export interface PushStep extends StepBase {
  readonly push: readonly string[];
}
export interface CmdStep extends StepBase {
  /** An image to run, followed by its arguments. */
  readonly cmd: string;
  /** Overrides the image's entry point (`docker run --entrypoint`), e.g. a shell (lib/run-scripts.ts). */
  readonly entryPoint?: string;
}
export type TaskStep = BuildStep | PushStep | CmdStep;

export interface TaskSecret {
  readonly id: string;
  /** A Key Vault secret URL; the task identity needs `get` on that vault. */
  readonly keyvault: string;
  /** Client id of a user-assigned identity; omitted means the system-assigned identity. */
  readonly clientID?: string;
}

export interface TaskDefinition {
  readonly version: "v1.1.0";
  readonly stepTimeout?: number;
  readonly secrets?: readonly TaskSecret[];
  readonly steps: readonly TaskStep[];
}

/** Lists what ACR would reject; empty when the definition is sound. */
export function validateTask(def: TaskDefinition): string[] {
  const problems: string[] = [];
  const ids = new Map<string, number>();
  def.steps.forEach((s, i) => {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(s.id)) problems.push(`step ${i}: id ${JSON.stringify(s.id)} is not a valid step id`);
    if (ids.has(s.id)) problems.push(`step ${i}: duplicate step id ${JSON.stringify(s.id)}`);
    ids.set(s.id, i);
  });
  def.steps.forEach((s) => {
    if (s.when.length === 0) problems.push(`step ${JSON.stringify(s.id)}: 'when' must be explicit`);
    for (const w of s.when) {
      if (w === "-") {
        if (s.when.length > 1) problems.push(`step ${JSON.stringify(s.id)}: '-' cannot be combined with step ids in 'when'`);
      } else if (!ids.has(w)) {
        problems.push(`step ${JSON.stringify(s.id)}: 'when' names unknown step ${JSON.stringify(w)}`);
      } else if (w === s.id) {
        problems.push(`step ${JSON.stringify(s.id)}: 'when' names the step itself`);
      }
    }
    if (s.timeout !== undefined && (s.timeout < 1 || !Number.isInteger(s.timeout))) {
      problems.push(`step ${JSON.stringify(s.id)}: timeout must be a positive whole number of seconds`);
    }
  });
  // Cycle check: depth-first over `when` edges.
  const state = new Map<string, "visiting" | "done">();
  const byId = new Map(def.steps.map((s) => [s.id, s]));
  const visit = (id: string, path: string[]): void => {
    if (state.get(id) === "done") return;
    if (state.get(id) === "visiting") {
      problems.push(`steps form a cycle: ${[...path, id].join(" -> ")}`);
      return;
    }
    state.set(id, "visiting");
    for (const w of byId.get(id)?.when ?? []) if (byId.has(w) && w !== id) visit(w, [...path, id]);
    state.set(id, "done");
  };
  for (const s of def.steps) visit(s.id, []);
  const secretIds = new Set<string>();
  for (const sec of def.secrets ?? []) {
    if (secretIds.has(sec.id)) problems.push(`duplicate secret id ${JSON.stringify(sec.id)}`);
    secretIds.add(sec.id);
  }
  return problems;
}

/** ACR's timeout of a step when neither the step nor the task file sets one (seconds). */
export const ACR_DEFAULT_STEP_TIMEOUT = 600;

/**
 * What a run spends before its first step, which the task's timeout also counts: fetching the Git
 * context, starting the agent (seconds; an allowance, not a measure).
 */
export const RUN_SETUP_SECONDS = 300;

/**
 * The longest a run can take before a step's own timeout ends it: the longest chain of `when`
 * through the steps' timeouts (`timeout`, else the file's `stepTimeout`, else ACR's 600 s). A task
 * whose own timeout is shorter would be ended by Azure while a step is still within its own
 * (a scan and a test of an hour each under a one-hour task). Assumes a sound definition
 * (validateTask: no cycle, every `when` known).
 */
export function longestRunSeconds(def: TaskDefinition): number {
  const byId = new Map(def.steps.map((s) => [s.id, s]));
  const ends = new Map<string, number>();
  const end = (id: string): number => {
    const known = ends.get(id);
    if (known !== undefined) return known;
    const s = byId.get(id)!;
    const start = Math.max(0, ...s.when.filter((w) => w !== "-").map(end));
    const e = start + (s.timeout ?? def.stepTimeout ?? ACR_DEFAULT_STEP_TIMEOUT);
    ends.set(id, e);
    return e;
  };
  return Math.max(0, ...def.steps.map((s) => end(s.id)));
}

/** The transitive `when` closure of a step: every step that must have succeeded before it runs. */
export function prerequisites(def: TaskDefinition, id: string): Set<string> {
  const byId = new Map(def.steps.map((s) => [s.id, s]));
  const out = new Set<string>();
  const walk = (x: string) => {
    for (const w of byId.get(x)?.when ?? []) {
      if (w !== "-" && !out.has(w)) {
        out.add(w);
        walk(w);
      }
    }
  };
  walk(id);
  return out;
}

/** Renders the task file; throws when {@link validateTask} finds a problem. */
export function renderTask(def: TaskDefinition): string {
  const problems = validateTask(def);
  if (problems.length > 0) throw new Error(`invalid ACR task definition:\n  - ${problems.join("\n  - ")}`);
  return renderDirect(def) ?? renderWithYamlLibrary(def);
}

/**
 * Scalars the direct writer knows how the yaml library writes them: plain (starting with a letter,
 * '_', '/', '(', or '-' or '--' and a letter, no ': ', ' #', surrounding spaces or trailing ':', printable ASCII, not a YAML
 * keyword), or double-quoted as-is (starting with '{' or exactly "-", no '"' or '\\'). Anything else
 * sends the whole file through the yaml library.
 */
function scalar(v: string | number): string | undefined {
  if (typeof v === "number") return Number.isInteger(v) && v >= 0 ? String(v) : undefined;
  if (!/^[\x20-\x7e]+$/.test(v) || v !== v.trim()) return undefined;
  if (/^(?:[A-Za-z_/(]|--?[A-Za-z])/.test(v) && !/: | #|:$/.test(v) && !/^(true|false|null|yes|no|on|off)$/i.test(v)) return v;
  if ((v.startsWith("{") || v === "-") && !/["\\]/.test(v)) return `"${v}"`;
  return undefined;
}

/**
 * The task file written directly: what the yaml library writes for these documents, byte for
 * byte (__tests__/task-yaml.test.ts compares the two on every generated task), at a tenth of the
 * cost (1,000 task files at scale). Returns undefined when a value is outside what it knows.
 * Kept for its figure (issue 26, Node 24, 2026-12-07): 500 gated images + 500 apps in 1.49 s with
 * it against 1.64 s without (medians of 5 interleaved runs; 1.90 s in a bench run), next to the
 * 1.7 s target (help/performance.md).
 */
function renderDirect(def: TaskDefinition): string | undefined {
  const out: string[] = [];
  const line = (indent: string, key: string, value: string | number): boolean => {
    const s = scalar(value);
    if (s === undefined) return false;
    out.push(`${indent}${key}: ${s}`);
    return true;
  };
  const list = (indent: string, key: string, values: readonly string[]): boolean => {
    out.push(`${indent}${key}:`);
    for (const v of values) {
      const s = scalar(v);
      if (s === undefined) return false;
      out.push(`${indent}  - ${s}`);
    }
    return true;
  };
  if (!line("", "version", def.version)) return undefined;
  if (def.stepTimeout !== undefined && !line("", "stepTimeout", def.stepTimeout)) return undefined;
  if (def.secrets && def.secrets.length > 0) {
    out.push("secrets:");
    for (const sec of def.secrets) {
      const first = scalar(sec.id);
      if (first === undefined) return undefined;
      out.push(`  - id: ${first}`);
      if (!line("    ", "keyvault", sec.keyvault)) return undefined;
      if (sec.clientID !== undefined && !line("    ", "clientID", sec.clientID)) return undefined;
    }
  }
  out.push("steps:");
  for (const step of def.steps) {
    const id = scalar(step.id);
    if (id === undefined) return undefined;
    out.push(`  - id: ${id}`);
    if ("push" in step) {
      if (!list("    ", "push", step.push)) return undefined;
    } else if (!line("    ", "build" in step ? "build" : "cmd", "build" in step ? step.build : step.cmd)) return undefined;
    if ("cmd" in step && step.entryPoint !== undefined && !line("    ", "entryPoint", step.entryPoint)) return undefined;
    if (!list("    ", "when", step.when)) return undefined;
    if (step.timeout !== undefined && !line("    ", "timeout", step.timeout)) return undefined;
    if (step.env && step.env.length > 0 && !list("    ", "env", step.env)) return undefined;
  }
  return `${out.join("\n")}\n`;
}

/** The task file through the yaml library: the reference, and the path for unusual values. */
export function renderWithYamlLibrary(def: TaskDefinition): string {
  const doc: Record<string, unknown> = { version: def.version };
  if (def.stepTimeout !== undefined) doc.stepTimeout = def.stepTimeout;
  if (def.secrets && def.secrets.length > 0) doc.secrets = def.secrets.map((s) => ({ ...s }));
  doc.steps = def.steps.map((s) => {
    const out: Record<string, unknown> = { id: s.id };
    if ("push" in s) out.push = [...s.push];
    else if ("build" in s) out.build = s.build;
    else {
      out.cmd = s.cmd;
      if (s.entryPoint !== undefined) out.entryPoint = s.entryPoint;
    }
    out.when = [...s.when];
    if (s.timeout !== undefined) out.timeout = s.timeout;
    if (s.env && s.env.length > 0) out.env = [...s.env];
    return out;
  });
  return YAML.stringify(doc, { lineWidth: 0, defaultStringType: "PLAIN", defaultKeyType: "PLAIN" });
}

/** Parses a rendered task back into the model (used by tests and the workflow diagram). */
export function parseTask(text: string): TaskDefinition {
  return YAML.parse(text) as TaskDefinition;
}
