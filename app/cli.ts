/**
 * The `acr-gate` command: read a config, synthesize it (or only check it), and say what was made.
 *
 * Exit codes: 0 done; 1 bad input (config, output directory) or a failed synth; 2 bad usage
 * (an unknown flag, a misspelled ACR_GATE_* variable). Nothing is written unless everything
 * succeeded (app/synth.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { ConfigError, DEFAULT_CONFIG_YAML, parseConfig, printable, readConfigFile } from "../lib/config";
import { byText } from "../lib/order";
import { resourceType } from "../lib/resource-types";
import { synthesize, synthesizeInMemory } from "./synth";
import { OutdirError, resolveOutdir } from "./outdir";
import { durableAddresses } from "./diff-rules";
import { groupImportScript, handedOverGroups, migrationPlan, migrationScript } from "./migration";
import { teamBackend } from "../constructs/workflow";
import { COMPILE_CACHE_ENV, compileCacheSettingProblem } from "./compile-cache";

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const USAGE = `Usage: acr-gate [--config <file>] [--out <dir>] [--check | --migration-script | --group-import-script] [--help]

Synthesizes the Terraform JSON of an acr-gate config (help/configuration.md) into <dir>/stacks/.

  --config <file>  the config, YAML or JSON (default: $ACR_GATE_CONFIG, else the walkthrough's default config)
  --out <dir>      the output directory (default: $CDKTF_OUTDIR, else cdktf.out); acr-gate replaces it
                   whole, and only if it is new, empty or one it wrote (help/security.md)
  --check          validate the config and synthesize in memory, policy included; write nothing
  --migration-script
                   for a config with layout: split, print the shell commands that move a deployed
                   single-stack state into the split stacks' states (help/split.md); write nothing
  --group-import-script
                   for a config with layout: split, print the shell commands that import each team's
                   resource groups into the platform's state, once, when upgrading a split deployment
                   whose team stacks made them (help/split.md); write nothing
  --help           this text

Exit status: 0 done, 1 bad config or output directory or a failed synth, 2 bad usage.
`;

/**
 * Every ACR_GATE_* variable anything in acr-gate reads (the CLI, npm scripts, tests). Another one
 * is refused: ACR_GATE_CONF=my.yaml would otherwise synthesize the walkthrough's default silently.
 */
const KNOWN_ENV = [
  "ACR_GATE_CONFIG",
  "ACR_GATE_REQUIRE_TOOLS",
  "ACR_GATE_TF_MIRROR",
  "ACR_GATE_STRICT_PROVIDERS",
  "ACR_GATE_CACHE_DIR",
  "ACR_GATE_KEEP_WORK",
  "ACR_GATE_SKIP_BUILD",
  "ACR_GATE_TERRAFORM",
  "ACR_GATE_TOFU_VERSION",
  "ACR_GATE_PYTHON",
  "ACR_GATE_ACB",
  "ACR_GATE_COMPILE_CACHE",
];

interface Options {
  config?: string;
  out?: string;
  check: boolean;
  migration: boolean;
  groupImports: boolean;
  help: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { check: false, migration: false, groupImports: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith("--"))) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === "--help" || flag === "-h") o.help = true;
    else if (flag === "--check" && inline === undefined) o.check = true;
    else if (flag === "--migration-script" && inline === undefined) o.migration = true;
    else if (flag === "--group-import-script" && inline === undefined) o.groupImports = true;
    else if (flag === "--config") o.config = value();
    else if (flag === "--out") o.out = value();
    else throw new UsageError(`unknown ${arg.startsWith("-") ? "option" : "argument"} ${printable(arg)}`);
  }
  return o;
}

/** Edit distance, for "did you mean" on misspelled variables. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length];
}

function checkEnvironment(env: NodeJS.ProcessEnv): void {
  // main.ts read it before anything else (and left the cache off for a bad value); said here.
  const cache = compileCacheSettingProblem(env[COMPILE_CACHE_ENV]);
  if (cache) throw new UsageError(`${COMPILE_CACHE_ENV}: ${printable(env[COMPILE_CACHE_ENV] ?? "")} ${cache}`);
  const unknown = Object.keys(env).filter((k) => /^ACR_?GATE/i.test(k) && !KNOWN_ENV.includes(k));
  if (unknown.length === 0) return;
  const hint = (k: string) => {
    const best = KNOWN_ENV.map((n) => [n, distance(k.toUpperCase(), n)] as const).sort((a, b) => a[1] - b[1])[0];
    return best[1] <= 4 ? ` (did you mean ${best[0]}?)` : "";
  };
  throw new UsageError(unknown.map((k) => `unknown environment variable ${printable(k, false)}${hint(k)}`).join("; "));
}

/** What the user asked for, in a few lines: the config, the stacks, what is durable, what to supply. */
function summary(stacks: Map<string, Record<string, any>>, outdir: string | undefined): string[] {
  const lines: string[] = [];
  for (const [name, tf] of stacks) {
    const types = Object.entries<Record<string, unknown>>(tf.resource ?? {}).map(([t, r]) => [t, Object.keys(r).length] as const);
    const total = types.reduce((n, [, c]) => n + c, 0);
    const counts = types
      .sort((a, b) => b[1] - a[1] || byText(a[0], b[0]))
      .map(([t, c]) => `${c} ${t.replace(/^azurerm_/, "")}`)
      .join(", ");
    lines.push(`  stack ${name}: ${total} resources (${counts})`);
    // The stores (registries, vaults, the audit workspace) by name, what a user recognizes; the rest counted.
    const durable = new Map<string, string[]>();
    for (const a of durableAddresses(tf)) {
      const [type, id] = a.split(".");
      durable.set(type, [...(durable.get(type) ?? []), (tf.resource[type][id] as { name?: string }).name ?? id]);
    }
    const durableText = [...durable]
      .map(([t, names]) => `${names.length} ${t.replace(/^azurerm_/, "")}${resourceType(t).holds !== undefined ? ` (${names.join(", ")})` : ""}`)
      .join(", ");
    lines.push(`    durable, never replaced by a config change: ${durableText || "none"}`);
    const variables = Object.entries<Record<string, any>>(tf.variable ?? {})
      .sort(([a, x], [b, y]) => Number(x.default !== undefined) - Number(y.default !== undefined) || byText(a, b))
      .map(([v, d]) => `${v} (${d.default === undefined ? "required" : "optional"}${d.sensitive ? ", sensitive" : ""})`);
    lines.push(`    variables: ${variables.join(", ")} (pass secrets as TF_VAR_<name> in the environment)`);
    const backend = tf.terraform?.backend ?? {};
    const [kind, settings] = Object.entries<Record<string, string>>(backend)[0] ?? ["local", {}];
    const state = kind === "local" ? `local, ${settings.path}` : settings.storage_account_name === undefined ? "azurerm, settings at terraform init -backend-config" : `azurerm, ${settings.storage_account_name}/${settings.container_name}/${settings.key}`;
    lines.push(`    state: ${state}`);
    if (outdir) lines.push(`    next: cd ${path.join(outdir, "stacks", name)} && terraform init && terraform plan`);
  }
  return lines;
}

export function runCli(argv: readonly string[], env: NodeJS.ProcessEnv, io: Io): number {
  let options: Options;
  try {
    options = parseArgs(argv);
    if (options.help) {
      io.out(USAGE);
      return 0;
    }
    checkEnvironment(env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`acr-gate: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  try {
    const file = options.config ?? env.ACR_GATE_CONFIG;
    const via = options.config !== undefined ? "--config" : "ACR_GATE_CONFIG";
    const config = file === undefined ? parseConfig(DEFAULT_CONFIG_YAML, "default config") : parseConfig(readConfigFile(file, via), file);
    const source = file === undefined ? "the walkthrough's default config" : printable(file, false);
    if (options.groupImports) {
      if (config.layout !== "split") {
        io.err(`acr-gate: --group-import-script: ${source} has layout '${config.layout}'; the script imports split teams' resource groups into the platform's state\n`);
        return 1;
      }
      const [platform, ...teams] = [...synthesizeInMemory(config)].map(([name, tf]) => ({ name, tf }));
      const groups = handedOverGroups(platform.tf, teams);
      io.out(groupImportScript(groups, config.stackName));
      io.err(`acr-gate: ${groups.length} resource groups of ${teams.length} team stacks to import into ${config.stackName}\n`);
      return 0;
    }
    if (options.migration) {
      if (config.layout !== "split") {
        io.err(`acr-gate: --migration-script: ${source} has layout '${config.layout}'; the script moves a single-stack state into the stacks of layout 'split'\n`);
        return 1;
      }
      const single = synthesizeInMemory({ ...config, layout: "single" });
      const split = synthesizeInMemory(config);
      const stacks = [...split].map(([name, tf]) => ({ name, tf }));
      const plan = migrationPlan(single.get(config.stackName)!, stacks);
      const teamBackends = new Map(config.teamRegistries.map((t) => [`${config.stackName}-${t.name}`, teamBackend(config.backend, t.name)]));
      io.out(migrationScript(plan, config.stackName, config.backend, teamBackends));
      io.err(
        `acr-gate: ${plan.moves.length} resources move to ${new Set(plan.moves.map((m) => m.to)).size} team states, ${plan.retires.length} more for the teams to delete, ${plan.stays.length} stay in ${config.stackName}, ${plan.created.length} are new, ${plan.dropped.length} dropped\n`,
      );
      return 0;
    }
    if (options.check) {
      const stacks = synthesizeInMemory(config);
      io.out([`acr-gate: ${source} is valid; nothing written (--check)`, ...summary(stacks, undefined)].join("\n") + "\n");
      return 0;
    }
    const outdir = options.out !== undefined ? resolveOutdir(options.out, "--out") : resolveOutdir(env.CDKTF_OUTDIR);
    synthesize(config, outdir);
    const stacks = new Map<string, Record<string, any>>();
    // The manifest's stacks: under the cdktf CLI, stacks/ may also hold empty placeholders of removed ones (outdir.ts).
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, "manifest.json"), "utf8")) as { stacks: Record<string, unknown> };
    for (const name of Object.keys(manifest.stacks).sort()) {
      stacks.set(name, JSON.parse(fs.readFileSync(path.join(outdir, "stacks", name, "cdk.tf.json"), "utf8")));
    }
    // `cdktf synth` and `deploy` run this with neither set: say so, or a user's output is replaced by the walkthrough's unnoticed.
    const unset = file === undefined ? " (neither --config nor ACR_GATE_CONFIG is set)" : "";
    io.out([`acr-gate: read ${source}${unset}`, `acr-gate: synthesized into ${outdir} (workflow.md: the diagram of what was synthesized)`, ...summary(stacks, outdir)].join("\n") + "\n");
    return 0;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof OutdirError) {
      io.err(`acr-gate: ${e.message}\n`);
      return 1;
    }
    // A failed synth (cdktf's own validation, the access policy): its message, never a stack trace.
    io.err(`acr-gate: ${(e as Error).message}\n`);
    return 1;
  }
}
