/**
 * Node's own compile cache (`module.enableCompileCache`, Node 22.1 and later) for the modules the
 * command loads, so that a repeated synth does not parse the same 4 MB of JavaScript again (the
 * provider bindings alone are 3 MB). Node keys each entry by its source and checks its checksum;
 * what is left here is where the cache lives, because an entry is code:
 * - the default is `.cache/acr-gate/compile` in the project's own node_modules (whoever can change
 *   that can change the modules anyway), used only if that node_modules is this user's;
 * - `ACR_GATE_COMPILE_CACHE=<absolute path>` names another directory, used only if it is this
 *   user's, no one else can write it, and no directory above it can be changed by another user;
 *   `off` (or `0`, `false`, `no`) turns it off; app/cli.ts refuses any other value;
 * - any failure leaves the cache out; the command never fails for it.
 * (help/security.md, "The compile cache".)
 */
import * as fs from "fs";
import * as path from "path";
import Module from "module";

/** The environment variable: `off` (or `0`, `false`, `no`) disables the cache; an absolute path is its directory. */
export const COMPILE_CACHE_ENV = "ACR_GATE_COMPILE_CACHE";
const OFF_VALUES = ["off", "0", "false", "no"];

/** Why a value of {@link COMPILE_CACHE_ENV} is not one, or undefined (app/cli.ts refuses it). */
export function compileCacheSettingProblem(value: string | undefined): string | undefined {
  if (!value || OFF_VALUES.includes(value.toLowerCase()) || path.isAbsolute(value)) return undefined;
  return "must be off or an absolute directory path";
}

/** What {@link enableCompileCache} did. */
export type CompileCacheState = { on: true; dir: string } | { on: false; why: string };

let state: CompileCacheState | undefined;

/**
 * Turns Node's cache on for every module loaded after this call (call it before requiring the
 * app). Idempotent; returns what it did.
 */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): CompileCacheState {
  if (state) return state;
  const off = (why: string) => (state = { on: false, why });
  // Empty is unset (an empty expression in a CI template).
  const setting = env[COMPILE_CACHE_ENV] || undefined;
  if (setting !== undefined && OFF_VALUES.includes(setting.toLowerCase())) return off(`${COMPILE_CACHE_ENV}=${setting}`);
  const problem = compileCacheSettingProblem(setting);
  if (problem) return off(`${COMPILE_CACHE_ENV} ${problem}`);
  if (typeof Module.enableCompileCache !== "function") return off(`Node ${process.version} has no compile cache (22.1 and later have)`);
  let dir: string;
  try {
    dir = setting ?? defaultDir();
  } catch (e) {
    return off(e instanceof Error ? e.message : String(e));
  }
  // Created and checked before Node reads an entry from it, and passed by its real path: no one
  // else can put a directory there, or redirect a link, between the check and the first read.
  // The default place is checked up to the root too when a link leads it elsewhere (a
  // node_modules/.cache pointing into another user's directory).
  const checked = privateDirectory(dir, setting !== undefined || realOrSelf(dir) !== path.resolve(dir));
  if ("why" in checked) return off(checked.why);
  try {
    const r = Module.enableCompileCache(checked.real);
    const status = Module.constants.compileCacheStatus;
    // NODE_COMPILE_CACHE enables Node's cache before this runs, in a directory acr-gate did not check.
    if (r.status === status.ALREADY_ENABLED) return off(`Node's compile cache is already on in ${r.directory ?? "another directory"} (NODE_COMPILE_CACHE), unchecked by acr-gate`);
    if (r.status === status.DISABLED) return off("NODE_DISABLE_COMPILE_CACHE is set");
    if (r.status !== status.ENABLED) return off(`Node's compile cache failed: ${r.message ?? "no reason given"}`);
    return (state = { on: true, dir: checked.real });
  } catch (e) {
    return off(`Node's compile cache failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** What {@link enableCompileCache} did in this process, if it was called. */
export function compileCacheState(): CompileCacheState | undefined {
  return state;
}

/** The real path of `dir`'s nearest existing ancestor joined with the rest (for a path not made yet). */
function realOrSelf(dir: string): string {
  const rest: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    try {
      return path.join(fs.realpathSync(at), ...rest.reverse());
    } catch {
      if (path.dirname(at) === at) return path.resolve(dir);
      rest.push(path.basename(at));
      at = path.dirname(at);
    }
  }
}

/**
 * The default directory: `.cache/acr-gate/compile` in the node_modules that holds cdktf, if that
 * node_modules is this user's (a shared or root-owned install gets no cache, and `sudo acr-gate`
 * leaves no root-owned directory in a user's project).
 */
function defaultDir(): string {
  const nodeModules = path.dirname(path.dirname(require.resolve("cdktf/package.json")));
  if (process.platform !== "win32" && process.getuid !== undefined && fs.statSync(nodeModules).uid !== process.getuid()) {
    throw new Error(`${nodeModules} belongs to another user`);
  }
  return path.join(nodeModules, ".cache", "acr-gate", "compile");
}

/**
 * Creates the directory if missing (0700), and returns its real path, or why it may not be used:
 * a directory someone else owns or can write, or (for a directory named in the variable) one below
 * a directory someone else can change (who could swap it after the check; a sticky directory such
 * as /tmp is fine), would let them plant code. (On Windows mode bits mean nothing and owners are
 * not reported: there only the default place, inside the project's own node_modules, is as private
 * as the modules themselves.)
 */
function privateDirectory(dir: string, checkAncestors: boolean): { real: string } | { why: string } {
  let real: string;
  let st: fs.Stats;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    real = fs.realpathSync(dir);
    st = fs.statSync(real);
    fs.accessSync(real, fs.constants.W_OK);
  } catch (e) {
    return { why: `${dir} cannot be used: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!st.isDirectory()) return { why: `${dir} is not a directory` };
  if (process.platform === "win32" || process.getuid === undefined) return { real };
  const uid = process.getuid();
  if (st.uid !== uid) return { why: `${dir} belongs to another user` };
  if ((st.mode & 0o022) !== 0) return { why: `${dir} is writable by others` };
  for (let up = path.dirname(real); checkAncestors; up = path.dirname(up)) {
    const a = fs.statSync(up);
    if ((a.uid !== uid && a.uid !== 0) || ((a.mode & 0o022) !== 0 && (a.mode & 0o1000) === 0)) {
      return { why: `${dir} is below ${up}, which another user can change` };
    }
    if (path.dirname(up) === up) break;
  }
  return { real };
}
