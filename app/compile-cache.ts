/**
 * A V8 code cache for the modules the command loads, so that a repeated synth does not parse the
 * same 4 MB of JavaScript again (the provider bindings alone are 3 MB): about 50 ms of the default
 * synth on a 2-core machine (help/performance.md).
 *
 * Node 22.1 and later have this built in (`module.enableCompileCache`), and it is used there.
 * Node 20 (our floor, package.json engines) has not: there, CommonJS modules are compiled through
 * `vm.Script` with the cached data of an earlier run, and at exit the data of every module compiled
 * afresh is written, functions compiled lazily during the run included.
 *
 * Safe by construction:
 * - An entry is used only for the source it was made from: it starts with that source's CRC-32 and
 *   length, as Node's own cache keys its entries (npm gives every installed file the same mtime, so
 *   size and time would not do). V8 itself refuses data of another V8 version or other flags
 *   (`cachedDataRejected`), and the entry is then written anew. The entry's name includes Node's
 *   version, the architecture and the flags, so two Node versions or flag sets do not overwrite
 *   each other; it is one entry per module file, replaced when the file changes.
 * - Entries are written to a temporary name and renamed: concurrent runs (jest, two operators)
 *   never read a half-written entry.
 * - Any failure (a read-only install, a full disk) leaves the cache out; the command never fails
 *   for it. A module it cannot compile the same way as Node (one that uses `import()` or
 *   `import.meta`, ES module syntax, a syntax error) is left to Node, and so is every module when
 *   Node runs with a flag that changes compiling (source maps, policies, loaders).
 * - The cache lives in `node_modules/.cache/acr-gate/compile` (beside the modules it caches: whoever
 *   can write it can already change the modules). `ACR_GATE_COMPILE_CACHE=off` turns it off;
 *   another value names the directory.
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
  enableCompileCache?: (dir?: string) => unknown;
}
const loader = Module as unknown as Loader;

/** The environment variable: `off` (or `0`) disables the cache; another value is its directory. */
export const COMPILE_CACHE_ENV = "ACR_GATE_COMPILE_CACHE";

/**
 * The hash an entry carries of its source: CRC-32, as Node's own cache (src/compile_cache.cc), with
 * the source's length beside it; SHA-1 where zlib has no crc32 (Node before 20.15).
 */
const crc32 = (zlib as { crc32?: (data: string) => number }).crc32;
const HASH_BYTES = crc32 ? 8 : 20;
function sourceHash(content: string): Buffer {
  if (!crc32) return crypto.createHash("sha1").update(content).digest();
  const b = Buffer.alloc(8);
  b.writeUInt32LE(crc32(content), 0);
  b.writeUInt32LE(content.length, 4);
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

/** The default directory: `.cache/acr-gate/compile` in the node_modules that holds cdktf. */
function defaultDir(): string {
  return path.join(path.dirname(path.dirname(require.resolve("cdktf/package.json"))), ".cache", "acr-gate", "compile");
}

/**
 * Node flags under which a module compiled through vm.Script behaves as Node would compile it: heap
 * and stack sizes, profiling, tracing, warnings, preloads. Any other flag (source maps, policies,
 * loaders, module detection, a debugger pausing on the first line) leaves compiling to Node.
 */
const HARMLESS_FLAG =
  /^(-r|--(max-old-space-size|max-semi-space-size|stack-size|no-warnings|no-deprecation|trace-warnings|trace-deprecation|trace-uncaught|cpu-prof(-dir|-name|-interval)?|heap-prof(-dir|-name|-interval)?|title|unhandled-rejections|dns-result-order|use-openssl-ca|use-bundled-ca|openssl-legacy-provider|require|inspect|inspect-port))(=.*)?$/;

/** Whether the vm cache may compile modules under these flags (the command's, and NODE_OPTIONS'). */
export function vmCacheAllowed(execArgv: readonly string[], nodeOptions = ""): boolean {
  // Values given as separate arguments (`-r ./x.js`) are not flags.
  const flags = [...execArgv, ...nodeOptions.split(/\s+/)].filter((f) => f.startsWith("-"));
  return flags.every((f) => HARMLESS_FLAG.test(f));
}

/**
 * Turns the cache on for every module loaded after this call (call it before requiring the app).
 * Idempotent; returns what it did.
 */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): CompileCacheState {
  if (state) return state;
  const off = (why: string) => (state = { mode: "off", why, hits: 0, misses: 0, passed: 0 });
  const setting = env[COMPILE_CACHE_ENV];
  if (setting === "off" || setting === "0") return off(`${COMPILE_CACHE_ENV}=${setting}`);
  let dir: string;
  try {
    dir = setting ? path.resolve(setting) : defaultDir();
  } catch {
    return off("no node_modules holding cdktf");
  }
  if (typeof loader.enableCompileCache === "function") {
    try {
      loader.enableCompileCache(dir);
      return (state = { mode: "builtin", dir, hits: 0, misses: 0, passed: 0 });
    } catch (e) {
      return off(`Node's compile cache failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (!vmCacheAllowed(process.execArgv, env.NODE_OPTIONS)) return off("Node runs with a flag that changes how modules compile");
  const foreign = foreignDirectory(dir);
  if (foreign) return off(foreign);
  return (state = installVmCache(dir));
}

/**
 * An entry is code: a directory someone else can write (a shared /tmp path in the variable) would
 * let them run theirs. A missing directory is created at exit, private to this user. (On Windows
 * the mode bits mean nothing and the owner is not reported: there the default directory inside the
 * project's node_modules is as private as the modules themselves.)
 */
function foreignDirectory(dir: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    return undefined;
  }
  if (!st.isDirectory()) return `${dir} is not a directory`;
  if (process.platform === "win32" || process.getuid === undefined) return undefined;
  if (st.uid !== process.getuid()) return `${dir} belongs to another user`;
  if ((st.mode & 0o022) !== 0) return `${dir} is writable by others`;
  return undefined;
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

  loader.prototype._compile = function (this: LoaderModule, content: string, filename: string, format?: string) {
    // Left to Node: ES modules, and what vm.Script would compile differently (import() needs a
    // loader callback vm.Script does not have).
    if (format === "module" || !/\.c?js$/.test(filename) || (content.includes("import") && /\bimport\s*[(.]/.test(content))) {
      s.passed++;
      return original.call(this, content, filename, format);
    }
    const hash = sourceHash(content);
    const file = path.join(dir, `${flavour}-${crypto.createHash("sha1").update(filename).digest("hex")}.bin`);
    let cachedData: Buffer | undefined;
    try {
      const entry = fs.readFileSync(file);
      if (entry.length > HASH_BYTES && hash.equals(entry.subarray(0, HASH_BYTES))) cachedData = entry.subarray(HASH_BYTES);
    } catch {
      // no entry yet
    }
    // V8 parses a #! line only at the very start of a script, not inside the wrapper.
    const source = content.startsWith("#!") ? `//${content.slice(2)}` : content;
    let script: vm.Script;
    try {
      script = new vm.Script(loader.wrap(source), { filename, cachedData });
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
    if (pending.length === 0) return;
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch {
      return; // a cache that cannot be written is no cache; the synth is done either way
    }
    for (const { script, file, hash } of pending) {
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        fs.writeFileSync(tmp, Buffer.concat([hash, script.createCachedData()]), { mode: 0o600 });
        fs.renameSync(tmp, file);
      } catch {
        try {
          fs.rmSync(tmp, { force: true });
        } catch {
          // nothing more to do at exit
        }
      }
    }
  });
  return s;
}

/** The `require` Node gives a module (lib/internal/modules/helpers.js makeRequireFunction). */
function makeRequire(mod: LoaderModule): NodeJS.Require {
  const require = ((id: string) => mod.require(id)) as NodeJS.Require;
  const resolve = ((request: string, options?: unknown) => loader._resolveFilename(request, mod, false, options)) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => loader._resolveLookupPaths(request, mod);
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
