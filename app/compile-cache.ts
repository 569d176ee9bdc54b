/**
 * A V8 code cache for the modules the command loads, so that a repeated synth does not parse the
 * same 4 MB of JavaScript again (the provider bindings alone are 3 MB): about 40 ms of the default
 * synth on a 2-core machine (help/performance.md).
 *
 * Node 22.1 and later have this built in (`module.enableCompileCache`), and it is used there.
 * Node 20 (our floor, package.json engines) has not: there, CommonJS modules are compiled through
 * `vm.Script` with the cached data of an earlier run, and at exit the data of every module compiled
 * afresh is written, functions compiled lazily during the run included.
 *
 * Safe by construction (help/security.md, "The compile cache"):
 * - An entry is used only for the source it was made from, and only if its data is whole: it starts
 *   with that source's CRC-32 and length (as Node's own cache keys its entries; npm gives every
 *   installed file the same mtime, so size and time would not do) and the CRC-32 of the data (V8
 *   on Node 20 does not check its own: a damaged entry could run other code or crash). V8 still
 *   refuses data of another V8 version or other flags (`cachedDataRejected`), and the entry is then
 *   written anew. The entry's name includes Node's version, the architecture and the flags, so two
 *   Node versions or flag sets do not overwrite each other; one entry per module file, replaced
 *   when the file changes.
 * - The directory is created at start, private (0700), and used only if it is this user's and no
 *   one else can write it; each entry is opened and used only if this user owns it. Entries are
 *   written to a temporary name and renamed: concurrent runs never read a half-written entry.
 * - Any failure (a read-only install, a full disk) leaves the cache out; the command never fails
 *   for it. A module it cannot compile the same way as Node (one that uses `import()` or
 *   `import.meta`, ES module syntax, a syntax error) is left to Node, and so is every module when
 *   Node runs with a flag or a preload that changes compiling (source maps, policies, loaders,
 *   coverage, `-r` hooks) or under CI (a one-shot run after `npm ci`, which only pays for writing).
 * - `ACR_GATE_COMPILE_CACHE=off` turns it off; an absolute path names the directory (app/cli.ts
 *   refuses any other value).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as vm from "vm";
import * as zlib from "zlib";
import Module from "module";

/** The parts of Node's CommonJS loader this uses; not in @types/node. */
interface LoaderModule {
  exports: unknown;
  filename: string;
  require(id: string): unknown;
  _compile(content: string, filename: string, format?: string): unknown;
}
interface Loader {
  prototype: LoaderModule;
  wrap(script: string): string;
  _resolveFilename(request: string, parent: LoaderModule, isMain: boolean, options?: unknown): string;
  _resolveLookupPaths(request: string, parent: LoaderModule): string[] | null;
  _extensions: unknown;
  _cache: unknown;
  enableCompileCache?: (dir?: string) => { status?: number; message?: string } | undefined;
  constants?: { compileCacheStatus?: Record<string, number> };
}
const loader = Module as unknown as Loader;

/** The environment variable: `off` (or `0`, `false`, `no`) disables the cache; an absolute path is its directory. */
export const COMPILE_CACHE_ENV = "ACR_GATE_COMPILE_CACHE";
const OFF_VALUES = ["off", "0", "false", "no"];

/** Why a value of {@link COMPILE_CACHE_ENV} is not one, or undefined (app/cli.ts refuses it). */
export function compileCacheSettingProblem(value: string | undefined): string | undefined {
  if (!value || OFF_VALUES.includes(value.toLowerCase()) || path.isAbsolute(value)) return undefined;
  return "must be off or an absolute directory path";
}

/**
 * The hashes an entry carries: CRC-32 (Node's own cache uses it too) with the source's length, or
 * SHA-1 where zlib has no crc32 (Node before 20.15).
 */
const crc32 = (zlib as { crc32?: (data: string | Buffer) => number }).crc32;
const SOURCE_HASH = crc32 ? 8 : 20;
const DATA_HASH = crc32 ? 4 : 20;
function sourceHash(content: string): Buffer {
  if (!crc32) return crypto.createHash("sha1").update(content).digest();
  const b = Buffer.alloc(SOURCE_HASH);
  b.writeUInt32LE(crc32(content), 0);
  b.writeUInt32LE(content.length, 4);
  return b;
}
function dataHash(data: Buffer): Buffer {
  if (!crc32) return crypto.createHash("sha1").update(data).digest();
  const b = Buffer.alloc(DATA_HASH);
  b.writeUInt32LE(crc32(data), 0);
  return b;
}

/** What {@link enableCompileCache} did, for the tests. */
export interface CompileCacheState {
  /** `builtin` (Node's own), `vm` (this module's, Node 20) or `off`. */
  mode: "builtin" | "vm" | "off";
  /** Why it is off. */
  why?: string;
  dir?: string;
  /** Modules compiled from an entry, afresh (an entry is written at exit), and left to Node. */
  hits: number;
  misses: number;
  passed: number;
}

let state: CompileCacheState | undefined;

/**
 * Node flags under which a module compiled through vm.Script behaves as Node would compile it: heap
 * and stack sizes, CPU and heap profiles, warnings. Any other flag (source maps, policies, loaders,
 * preloads that may hook compiling, module detection, a debugger pausing on the first line), and
 * any quoting, leaves compiling to Node.
 */
const HARMLESS_FLAG =
  /^--(max-old-space-size|max-semi-space-size|stack-size|no-warnings|no-deprecation|trace-warnings|trace-deprecation|trace-uncaught|cpu-prof(-dir|-name|-interval)?|heap-prof(-dir|-name|-interval)?|title|unhandled-rejections|dns-result-order|use-openssl-ca|use-bundled-ca|openssl-legacy-provider)(=[^"'\\\s]*)?$/;

/** Whether the vm cache may compile modules under these flags (the command's, and NODE_OPTIONS'). */
export function vmCacheAllowed(execArgv: readonly string[], nodeOptions = ""): boolean {
  // Node unquotes NODE_OPTIONS ('"--enable-source-maps"' is that flag): any quote or escape, no cache.
  if (/["'\\]/.test(nodeOptions)) return false;
  const flags = [...execArgv, ...nodeOptions.split(/\s+/).filter((f) => f !== "")];
  return flags.every((f) => HARMLESS_FLAG.test(f));
}

/**
 * Turns the cache on for every module loaded after this call (call it before requiring the app).
 * Idempotent; returns what it did.
 */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): CompileCacheState {
  if (state) return state;
  const off = (why: string) => (state = { mode: "off", why, hits: 0, misses: 0, passed: 0 });
  // Empty is unset (an empty expression in a CI template).
  const setting = env[COMPILE_CACHE_ENV] || undefined;
  if (setting !== undefined && OFF_VALUES.includes(setting.toLowerCase())) return off(`${COMPILE_CACHE_ENV}=${setting}`);
  if (compileCacheSettingProblem(setting)) return off(`${COMPILE_CACHE_ENV} ${compileCacheSettingProblem(setting)}`);
  // A CI job runs once after `npm ci`: it would only pay for writing the cache. A directory named
  // in the variable (a CI cache restored between jobs) is used. CI as most services set it (any
  // value but empty or "false"), TF_BUILD as Azure Pipelines does.
  if (setting === undefined && ((env.CI !== undefined && env.CI !== "" && env.CI !== "false") || env.TF_BUILD)) return off("CI is set");
  if (env.NODE_V8_COVERAGE) return off("NODE_V8_COVERAGE is set (coverage needs Node's own compile)");
  const builtin = typeof loader.enableCompileCache === "function";
  // Checked before anything is created: a run that will not use a cache makes no directory.
  if (!builtin && !vmCacheAllowed(process.execArgv, env.NODE_OPTIONS)) return off("Node runs with a flag that may change how modules compile");
  let dir: string;
  try {
    dir = setting ?? defaultDir();
  } catch (e) {
    return off(e instanceof Error ? e.message : String(e));
  }
  // Created now, not at exit, checked once it exists, and used by its real path: no one else can
  // put a directory there, or redirect a link, between the check and the first entry read.
  const checked = privateDirectory(dir, setting !== undefined);
  if ("why" in checked) return off(checked.why);
  dir = checked.real;
  if (builtin) {
    try {
      const r = loader.enableCompileCache!(dir);
      const failed = loader.constants?.compileCacheStatus?.FAILED;
      if (r && failed !== undefined && r.status === failed) return off(`Node's compile cache failed: ${r.message ?? "no reason given"}`);
      return (state = { mode: "builtin", dir, hits: 0, misses: 0, passed: 0 });
    } catch (e) {
      return off(`Node's compile cache failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return (state = installVmCache(dir));
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
 * an entry is code, so a directory someone else owns or can write, or (for a directory named in
 * the variable) one below a directory someone else can change (who could swap it after the check;
 * a sticky directory such as /tmp is fine), would let them run theirs. (On Windows mode bits mean nothing and owners are not
 * reported: there only the default place, inside the project's own node_modules, is as private as
 * the modules themselves.)
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
  // The default place is inside node_modules: whoever can change the directories above it can
  // already change the modules. A directory named in the variable can be anywhere.
  for (let up = path.dirname(real); checkAncestors; up = path.dirname(up)) {
    const a = fs.statSync(up);
    if ((a.uid !== uid && a.uid !== 0) || ((a.mode & 0o022) !== 0 && (a.mode & 0o1000) === 0)) {
      return { why: `${dir} is below ${up}, which another user can change` };
    }
    if (path.dirname(up) === up) break;
  }
  return { real };
}

/** Entries larger than this are not read (the largest module's, the container group's bindings, is about 0.6 MB). */
const MAX_ENTRY_BYTES = 32 * 1024 * 1024;

/** An entry's bytes, if it exists and this user owns it. */
function readEntry(file: string): Buffer | undefined {
  let fd: number;
  try {
    // Not through a link, and never waiting on a FIFO (fstat then says it is no file).
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0));
  } catch {
    return undefined; // no entry yet
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > MAX_ENTRY_BYTES) return undefined;
    if (process.getuid !== undefined && process.platform !== "win32" && st.uid !== process.getuid()) return undefined;
    const b = Buffer.allocUnsafe(st.size);
    let at = 0;
    while (at < st.size) {
      const n = fs.readSync(fd, b, at, st.size - at, at);
      if (n === 0) break;
      at += n;
    }
    return at === st.size ? b : undefined;
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** Node 20: compile CommonJS modules through vm.Script with cached data. */
function installVmCache(dir: string): CompileCacheState {
  const s: CompileCacheState = { mode: "vm", dir, hits: 0, misses: 0, passed: 0 };
  // The flags V8 checks the data against, and Node's version: part of every entry's name.
  const flavour = crypto
    .createHash("sha1")
    .update([process.version, process.arch, ...process.execArgv, process.env.NODE_OPTIONS ?? ""].join("\0"))
    .digest("hex")
    .slice(0, 12);
  const pending: { script: vm.Script; file: string; hash: Buffer }[] = [];
  const original = loader.prototype._compile;
  // Errors on a module's first line keep their column: the wrapper is on that line.
  const prefix = loader.wrap("").indexOf("{") + 2;

  loader.prototype._compile = function (this: LoaderModule, content: string, filename: string, format?: string) {
    // Left to Node: ES modules, and what vm.Script would compile differently (import() needs a
    // loader callback vm.Script does not have).
    if (format === "module" || !/\.c?js$/.test(filename) || (content.includes("import") && /\bimport\s*(?:[(.]|\/[*/])/.test(content))) {
      s.passed++;
      return original.call(this, content, filename, format);
    }
    const hash = sourceHash(content);
    const file = path.join(dir, `${flavour}-${crypto.createHash("sha1").update(filename).digest("hex")}.bin`);
    let cachedData: Buffer | undefined;
    const entry = readEntry(file);
    if (entry && entry.length > SOURCE_HASH + DATA_HASH && hash.equals(entry.subarray(0, SOURCE_HASH))) {
      const data = entry.subarray(SOURCE_HASH + DATA_HASH);
      if (dataHash(data).equals(entry.subarray(SOURCE_HASH, SOURCE_HASH + DATA_HASH))) cachedData = data;
    }
    // V8 parses a #! line only at the very start of a script, not inside the wrapper.
    const source = content.startsWith("#!") ? `//${content.slice(2)}` : content;
    let script: vm.Script;
    try {
      script = new vm.Script(loader.wrap(source), { filename, cachedData, columnOffset: -prefix });
    } catch {
      // A syntax error (or ES module syntax): Node compiles it and reports it its own way.
      s.passed++;
      return original.call(this, content, filename, format);
    }
    if (cachedData && !script.cachedDataRejected) s.hits++;
    else {
      s.misses++;
      pending.push({ script, file, hash });
    }
    const fn = script.runInThisContext({ displayErrors: true }) as (...a: unknown[]) => unknown;
    return fn.call(this.exports, this.exports, makeRequire(this), this, filename, path.dirname(filename));
  };

  // At exit the data includes the functions compiled during the run, not only the top level.
  process.once("exit", () => {
    for (const { script, file, hash } of pending) {
      // pid and random: a container's pid 1 leaves the same pid behind run after run.
      const tmp = `${file}.${process.pid}-${crypto.randomBytes(4).toString("hex")}.tmp`;
      try {
        const data = script.createCachedData();
        fs.writeFileSync(tmp, Buffer.concat([hash, dataHash(data), data]), { mode: 0o600, flag: "wx" });
        fs.renameSync(tmp, file);
      } catch {
        try {
          fs.rmSync(tmp, { force: true });
        } catch {
          // nothing more to do at exit
        }
        return; // a cache that cannot be written is no cache; the synth is done either way
      }
    }
  });
  return s;
}

/** The `require` Node gives a module (lib/internal/modules/helpers.js makeRequireFunction). */
function makeRequire(mod: LoaderModule): NodeJS.Require {
  const string = (what: string, v: unknown) => {
    if (typeof v !== "string") {
      throw Object.assign(new TypeError(`The "${what}" argument must be of type string. Received ${typeof v}`), { code: "ERR_INVALID_ARG_TYPE" });
    }
  };
  const require = ((id: string) => mod.require(id)) as NodeJS.Require;
  const resolve = ((request: string, options?: unknown) => {
    string("request", request);
    return loader._resolveFilename(request, mod, false, options);
  }) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => {
    string("request", request);
    return loader._resolveLookupPaths(request, mod);
  };
  require.resolve = resolve;
  require.main = process.mainModule;
  require.extensions = loader._extensions as NodeJS.RequireExtensions;
  require.cache = loader._cache as NodeJS.Dict<NodeModule>;
  return require;
}

/** What the cache did in this process (undefined before {@link enableCompileCache}). */
export function compileCacheState(): CompileCacheState | undefined {
  return state;
}
