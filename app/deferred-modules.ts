/**
 * Three dependencies of our dependencies, loaded only if something uses them: together 310 of the
 * 615 modules the command loaded, about 90 ms of a 0.3 s default synth (help/performance.md). Each
 * is required at the top of a file the synth loads, for a feature acr-gate never reaches:
 *
 * - `archiver` (203 modules with its own dependencies, ~80 ms): cdktf/lib/private/fs.js requires it
 *   for zip assets, yet only uses it when that file is itself the main module (cdktf zips a
 *   directory by running `node fs.js <src> <dest>` as a child process, where this does not apply).
 * - `semver` (45 modules): cdktf's terraform binary version check
 *   (validations/validate-binary-version.js), a validation acr-gate never adds.
 * - zod's locales (62 modules, ~13 ms): `z.locales`, the messages of 60 languages. zod's English
 *   messages, the ones it uses, are loaded by zod itself from their own file, not through this one;
 *   acr-gate writes its own messages anyway (lib/config.ts).
 *
 * Each is put in `require.cache` (Node's public module cache) under the exact file Node would load
 * for the package that requires it, as a stand-in that loads the real module on its first use (a
 * call, a property read, an `in`) and forwards to it. Nothing is lost: a user's zip asset, version
 * check or `z.locales.de()` still works, one load later. A module already loaded, or not found
 * where its user would find it, is left alone. It must run before anything requires those
 * packages; main.ts calls it first. The tests (and any program using dist/ as a library) load
 * everything as usual, and __tests__/startup.test.ts checks the JSON is the same either way.
 */
import Module from "module";
import * as path from "path";

export interface DeferredModule {
  /** What the requiring file asks for, as it asks. */
  readonly request: string;
  /** The file that requires it (resolved the way Node resolves it for that package). */
  readonly requiredBy: string;
  /** The shape of its exports: a callable stand-in or a plain one. */
  readonly shape: "function" | "object";
  /**
   * The module is TypeScript-compiled CommonJS (`exports.__esModule = true`): the stand-in says so
   * without loading, so that `__importStar` in its user keeps the stand-in instead of copying every
   * export at once (which would load it).
   */
  readonly esModule?: boolean;
}

export const DEFERRED_MODULES: readonly DeferredModule[] = [
  { request: "archiver", requiredBy: "cdktf/lib/private/fs", shape: "function" },
  { request: "semver", requiredBy: "cdktf/lib/validations/validate-binary-version", shape: "object" },
  { request: "../locales/index.cjs", requiredBy: "zod/v4/core", shape: "object", esModule: true },
];

const deferred = new Map<string, { loaded: boolean }>();

/** Puts a stand-in in place for each of {@link DEFERRED_MODULES} not yet loaded. Idempotent. */
export function deferUnusedModules(modules: readonly DeferredModule[] = DEFERRED_MODULES): void {
  for (const dep of modules) {
    let file: string;
    try {
      file = require.resolve(dep.request, { paths: [path.dirname(require.resolve(dep.requiredBy))] });
    } catch {
      continue; // a later version moved things: load as usual
    }
    if (require.cache[file] || deferred.has(file)) continue;
    const status = { loaded: false };
    let real: unknown;
    const load = (): any => {
      if (!status.loaded) {
        delete require.cache[file];
        real = require(file);
        // Only once it loaded: a load that threw is tried again on the next use.
        status.loaded = true;
      }
      return real;
    };
    // An arrow function (it has no own `prototype`) or a plain object: the traps then keep the
    // invariants a proxy must keep for its target.
    const target = dep.shape === "function" ? () => undefined : {};
    const standIn = new Proxy(target, {
      apply: (_t, thisArg, args) => Reflect.apply(load(), thisArg, args),
      get: (_t, key) => (dep.esModule && key === "__esModule" && !status.loaded ? true : Reflect.get(load(), key)),
      has: (_t, key) => Reflect.has(load(), key),
      // Writes (a test's stub, a patch) go to the real module, where reads find them.
      set: (_t, key, value) => Reflect.set(load(), key, value),
      defineProperty: (_t, key, d) => Reflect.defineProperty(load(), key, { ...d, configurable: true }),
      deleteProperty: (_t, key) => Reflect.deleteProperty(load(), key),
      ownKeys: () => Reflect.ownKeys(load()).filter((k) => k !== "prototype" || dep.shape === "object"),
      getOwnPropertyDescriptor: (_t, key) => {
        const d = Reflect.getOwnPropertyDescriptor(load(), key);
        // Reported as configurable: the target does not have it (a proxy may not report otherwise).
        return d && { ...d, configurable: true };
      },
    });
    const m = new Module(file);
    m.filename = file;
    m.loaded = true;
    m.exports = standIn;
    require.cache[file] = m;
    deferred.set(file, status);
  }
}

/** The files deferred in this process, and whether each has since been loaded for real. */
export function deferredModules(): { file: string; loaded: boolean }[] {
  return [...deferred].map(([file, s]) => ({ file, loaded: s.loaded }));
}
