/**
 * Reading the user's config file: size and alias limits, YAML parsing, the rules every string of
 * the file obeys (lib/config/untrusted-text.ts), the schema (lib/config/schema.ts, composed from
 * one module per section of the file), and one message per problem.
 *
 * Config files come from many hands (a team's pull request), so every string in them is untrusted.
 * {@link checkUntrustedText} is the one place that keeps config text data wherever it lands: in the
 * Terraform JSON (Terraform evaluates `${...}` and `%{...}` in every string, map keys included)
 * and in task files (ACR renders them as Go templates before parsing the YAML). It runs on every
 * string and every key of the file, whatever field it is in, so a new field cannot forget it.
 */
import * as fs from "fs";
import * as YAML from "yaml";
import { AcrGateConfig, configSchema } from "./config/schema";
import { CONTROL_CHARACTERS, walkUntrustedText } from "./config/untrusted-text";

/** Larger files are refused before they are read whole (a config is a few KiB; 2,000 apps ~ 300 KiB). */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** YAML aliases (`*x`) expanded while reading; a "billion laughs" file needs far more. */
export const MAX_YAML_ALIASES = 100;

export const SAMPLE_REPOS = "https://github.com/importing-public-content";

/** The walkthrough, as a config file would say it. Parsed like any user file. */
export const DEFAULT_CONFIG_YAML = `# The walkthrough "Task workflow to manage public registry content", as acr-gate config.
location: eastus
upstream:
  source: simulated
publicRegistry:
  name: publicregistry
  images:
    - taskName: node-public
      image: node:15-alpine
      repository: ${SAMPLE_REPOS}/base-image-node.git#main
baseArtifactsRegistry:
  name: contosobaseartifacts
teamRegistries:
  - name: contoso
keyVault:
  name: acr-task-credentials
gatedImages:
  - source: node:15-alpine
    taskName: base-import-node
    test:
      context: ${SAMPLE_REPOS}/import-baseimage-node.git#main
    scan:
      # node:15-alpine is end of life: an enforcing scan would block it on every run.
      # The scan still runs and its findings are in the task log.
      mode: report
apps:
  - name: hello-world
    registry: contoso
    repository: ${SAMPLE_REPOS}/hello-world.git#main
    baseImage: node:15-alpine
    aci:
      name: hello-world-aci
`;

export class ConfigError extends Error {
  constructor(
    /** Where the config came from, already made safe to print. */
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source}: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Reads the file named by ACR_GATE_CONFIG, or the embedded walkthrough default. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AcrGateConfig {
  const file = env.ACR_GATE_CONFIG;
  if (file === undefined) return parseConfig(DEFAULT_CONFIG_YAML, "default config");
  return parseConfig(readConfigFile(file), file);
}

/**
 * Reads at most {@link MAX_CONFIG_BYTES} + 1 bytes: `/dev/zero`, a FIFO or a huge file is refused
 * without being read whole (a size from stat alone would miss devices and pipes).
 */
export function readConfigFile(file: string, via = "ACR_GATE_CONFIG"): string {
  const name = printable(file, false);
  const fail = (why: string): never => {
    throw new ConfigError(name, [`${via}: ${why}`]);
  };
  if (file.trim() === "") fail(`names no file (unset ${via} for the walkthrough's default config)`);
  // Only regular files: a FIFO without a writer would block forever, a device never ends.
  let kind: fs.Stats;
  try {
    kind = fs.statSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === "ENOENT" ? "no such file" : err.code === "EACCES" ? "permission denied" : err.code ?? "unreadable";
    return fail(`cannot read ${printable(file)}: ${why}`);
  }
  if (kind.isDirectory()) fail(`${name} is a directory, not a file`);
  if (!kind.isFile()) fail(`${name} is not a regular file (a device, pipe or socket)`);
  if (kind.size > MAX_CONFIG_BYTES) fail(`${name} is larger than 1 MiB; a config is a few KiB (2,000 apps are about 300 KiB)`);
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === "ENOENT" ? "no such file" : err.code === "EACCES" ? "permission denied" : err.code ?? "unreadable";
    return fail(`cannot read ${printable(file)}: ${why}`);
  }
  try {
    // Read at most one byte past the cap: the file may have grown since stat.
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > MAX_CONFIG_BYTES) fail(`${name} is larger than 1 MiB; a config is a few KiB (2,000 apps are about 300 KiB)`);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(buffer.subarray(0, length)).replace(/^\uFEFF/, "");
    } catch {
      return fail(`${name} is not UTF-8 text`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Parses YAML (JSON is YAML too) and resolves defaults; throws {@link ConfigError} listing every problem. */
export function parseConfig(text: string, source = "config"): AcrGateConfig {
  const name = printable(source, false);
  const raw = readDocument(text, name);
  // Before anything walks it recursively (JSON.parse reads nesting that deep without complaint).
  if (depthOf(raw) > MAX_DEPTH) throw new ConfigError(name, [TOO_DEEP]);
  const problems: string[] = [];
  const cleaned = checkUntrustedText(raw, problems);
  const result = configSchema.safeParse(cleaned, { reportInput: true });
  if (!result.success) {
    // A value refused as untrusted text is reported once, not again by its field's own rule.
    const refused = new Set(problems.map((p) => p.slice(0, p.indexOf(": "))));
    problems.push(...result.error.issues.flatMap(formatIssue).filter((p) => !refused.has(p.slice(0, p.indexOf(": ")))));
  }
  if (problems.length > 0) throw new ConfigError(name, [...new Set(problems)]);
  return result.data!;
}

/** The file's data: JSON on the fast path, otherwise YAML with line numbers in its messages. */
function readDocument(text: string, name: string): unknown {
  const json = parseJsonFast(text);
  if (json !== NOT_JSON) return json;
  const lines = new YAML.LineCounter();
  try {
    // yaml's own uniqueKeys check compares every pair of keys (87,000 keys in one mapping: minutes);
    // duplicates are found here with one Set per mapping instead.
    const doc = YAML.parseDocument(text, { uniqueKeys: false, prettyErrors: false, lineCounter: lines });
    const errors = doc.errors.map((e) => `malformed YAML at line ${lines.linePos(e.pos[0]).line}: ${printable(e.message.split("\n")[0], false)}`);
    YAML.visit(doc, {
      Map(_, map) {
        const seen = new Set<unknown>();
        for (const pair of map.items) {
          const key = YAML.isScalar(pair.key) ? pair.key.value : pair.key;
          if (seen.has(key)) {
            const at = YAML.isNode(pair.key) && pair.key.range ? ` at line ${lines.linePos(pair.key.range[0]).line}` : "";
            errors.push(`malformed YAML${at}: duplicate key ${printable(String(key))}`);
          }
          seen.add(key);
        }
      },
    });
    if (errors.length > 0) throw new ConfigError(name, errors);
    return toJS(doc, lines, name);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    // The parser's own limits: deep nesting overflows its stack. Say what, not where in yaml's code.
    if (e instanceof RangeError) throw new ConfigError(name, [TOO_DEEP]);
    throw new ConfigError(name, [`the file: cannot be read as YAML (${printable((e as Error).message, false)})`]);
  }
}

const NOT_JSON = Symbol("not JSON");

/** A config is at most a handful of levels deep; 64 leaves room for any hand-written one. */
const MAX_DEPTH = 64;
const TOO_DEEP = `the file: nests lists or mappings more than ${MAX_DEPTH} levels deep (an acr-gate config needs fewer than 8): refused unread`;

/** The deepest nesting of lists and mappings in `value`, counted without recursion, up to MAX_DEPTH + 1. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (d + 1 > deepest) deepest = d + 1;
    if (deepest > MAX_DEPTH) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return deepest;
}

/**
 * Generated configs (2,000 apps) are usually JSON, which JSON.parse reads 100x faster than the YAML
 * parser. JSON.parse keeps the last of duplicate keys silently, so the fast path is taken only when
 * the text has exactly as many keys as the parsed value; otherwise the YAML parser reports them.
 */
function parseJsonFast(text: string): unknown {
  if (!/^\s*\{/.test(text)) return NOT_JSON;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
  return countKeysInText(text) === countKeys(value) ? value : NOT_JSON;
}

/** Object keys written in JSON text: strings followed by ':' (a string value is followed by ',', '}' or ']'). */
function countKeysInText(text: string): number {
  let keys = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== 34 /* " */) continue;
    for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92 /* \\ */) i++;
    let j = i + 1;
    while (j < text.length && /\s/.test(text[j])) j++;
    if (text[j] === ":") keys++;
  }
  return keys;
}

/** Keys in a parsed JSON value; iterative, since JSON.parse accepts nesting a recursion would not. */
function countKeys(value: unknown): number {
  let keys = 0;
  const pending = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (Array.isArray(v)) pending.push(...v);
    else if (v !== null && typeof v === "object") {
      const entries = Object.values(v);
      keys += entries.length;
      pending.push(...entries);
    }
  }
  return keys;
}

function toJS(doc: YAML.Document, lines: YAML.LineCounter, name: string): unknown {
  let aliases = 0;
  let firstAlias: number | undefined;
  YAML.visit(doc, {
    Alias(_, node) {
      aliases++;
      firstAlias ??= node.range?.[0];
    },
  });
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    if (aliases === 0) throw e;
    const line = firstAlias === undefined ? "" : ` (first alias at line ${lines.linePos(firstAlias).line})`;
    throw new ConfigError(name, [
      `the file: its YAML aliases expand to more than ${MAX_YAML_ALIASES} copies${line}; write the values out instead`,
    ]);
  }
}

/** {@link walkUntrustedText} with its problems as messages (`<path>: <value> <problem>`). */
export function checkUntrustedText(value: unknown, problems: string[]): unknown {
  return walkUntrustedText(value, (path, text, problem) => {
    problems.push(text === undefined ? `${formatPath(path)}: ${problem}` : `${formatPath(path)}: ${describeValue(text)} ${problem}`);
  });
}

// ---------------------------------------------------------------------------------------------
// Messages: `<path>: <value> <rule>`, one line each, nothing a hostile value can forge.

const MAX_SHOWN = 80;

const UNPRINTABLE = new RegExp(CONTROL_CHARACTERS, "g");

/** Escapes what could break a line or hide text (controls, line separators, bidi controls) as `\uXXXX`. */
export function escapeControls(s: string): string {
  return s.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Makes a value safe to print on one line: JSON-quoted, control characters escaped, long text cut. */
export function printable(s: string, quote = true): string {
  const cut = s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}...(${s.length} characters)` : s;
  const json = escapeControls(JSON.stringify(cut));
  return quote ? json : json.slice(1, -1);
}

/** A value as a message shows it: YAML's own names for non-numbers, a summary for structures. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "missing";
  if (typeof v === "number") return Number.isNaN(v) ? ".nan" : v === Infinity ? ".inf" : v === -Infinity ? "-.inf" : String(v);
  if (typeof v === "string") return printable(v);
  if (Array.isArray(v)) return v.length === 0 ? "[]" : `a list of ${v.length}`;
  if (v !== null && typeof v === "object") return "a mapping";
  return String(v);
}

export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "the file";
  return path
    .map((p, i) => {
      if (typeof p === "number") return `[${p}]`;
      const key = String(p);
      if (/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(key)) return i === 0 ? key : `.${key}`;
      return `[${printable(key)}]`;
    })
    .join("");
}

function formatIssue(issue: { code: string; path: PropertyKey[]; message: string; input?: unknown; keys?: string[] }): string[] {
  // Rules may quote other values of the file: the message itself is made printable too.
  const rule = escapeControls(issue.message);
  if (issue.code === "unrecognized_keys") {
    return (issue.keys ?? []).map((k) => `${formatPath([...issue.path, k])}: ${rule}`);
  }
  // A tag written without a value (`team:`): the key is there, its value is not.
  if (issue.input === undefined && issue.path[0] === "tags" && issue.path.length === 2) {
    return [`${formatPath(issue.path)}: has no value; write ${printable(String(issue.path[1]), false)}: "" for an empty one`];
  }
  // A missing value has nothing to show: the rule first, then that it is missing.
  if (issue.input === undefined) return [`${formatPath(issue.path)}: ${rule} (it is missing)`];
  return [`${formatPath(issue.path)}: ${describeValue(issue.input)} ${rule}`];
}
