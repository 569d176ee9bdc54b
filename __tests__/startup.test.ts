/**
 * The command's start-up (main.ts), which is half of a default synth: a V8 code cache of the
 * modules (app/compile-cache.ts), and three dependencies of dependencies loaded only if used
 * (app/deferred-modules.ts). Neither may change a byte of what is written, and each must fail safe:
 * a changed module runs its new code, a refused or foreign entry is never used, a cache that cannot
 * be written costs time, not the synth. Every case runs in fresh node processes (jest's own module
 * registry would hide both). In `npm run test:engines`: about 40 node processes.
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Module from "module";
import { compileCacheSettingProblem, vmCacheAllowed } from "../app/compile-cache";

// Node 22.1 and later have a compile cache of their own, which app/compile-cache.ts uses instead of
// its vm one: the tests of the vm one (its entries, counts and refusals) run on Node 20 only.
const NODE_HAS_OWN_CACHE = typeof (Module as unknown as { enableCompileCache?: unknown }).enableCompileCache === "function";
if (NODE_HAS_OWN_CACHE) console.warn(`acr-gate: tool missing: Node before 22.1 (for app/compile-cache.ts's vm cache; Node ${process.version} has its own)`);
const vmTest = NODE_HAS_OWN_CACHE ? test.skip : test;

const repo = path.resolve(__dirname, "..");
const main = path.join(repo, "dist", "main.js");
const dist = (p: string) => JSON.stringify(path.join(repo, "dist", p));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-startup-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function node(args: string[], env: Record<string, string> = {}, nodeFlags: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeFlags, ...args], { cwd: repo, env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
  return { ...r, both: `${r.stdout}\n${r.stderr}` };
}

/** Every file under dir, by relative path. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return out;
}

/** A cache directory's entries: name -> "mtime size sha256" (jest compares megabytes of Buffers slowly). */
function entries(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of fs.readdirSync(dir)) {
    const st = fs.statSync(path.join(dir, f));
    m.set(f, `${st.mtimeMs} ${st.size} ${createHash("sha256").update(fs.readFileSync(path.join(dir, f))).digest("hex")}`);
  }
  return m;
}

/**
 * A script file (not `node -e`, whose flag leaves the cache off) that turns the cache on, requires
 * `module` from its own directory and prints what it exported and what the cache did.
 */
function driver(dir: string, module: string): string {
  const file = path.join(dir, "driver.js");
  fs.writeFileSync(
    file,
    `const cc = require(${dist("app/compile-cache.js")});
     cc.enableCompileCache();
     let value;
     try { value = require(${JSON.stringify(module)}); } catch (e) { value = e.name + ": " + e.message.split("\\n")[0]; }
     Promise.resolve(typeof value === "function" ? value() : value).then((v) => {
       process.stdout.write(JSON.stringify({ value: v, state: cc.compileCacheState() }));
     });`,
  );
  return file;
}
function runDriver(file: string, env: Record<string, string>, flags: string[] = []) {
  const r = node([file], env, flags);
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as { value: unknown; state: { mode: string; why?: string; hits: number; misses: number; passed: number } };
}

beforeAll(() => {
  expect(fs.existsSync(main)).toBe(true);
});

describe("The compile cache (app/compile-cache.ts)", () => {
  vmTest("a first run writes an entry per module; a second compiles nothing afresh and writes the same files as an uncached run", () => {
    const cache = path.join(tmp, "cache-main");
    const env = { ACR_GATE_COMPILE_CACHE: cache };
    expect(node([main, "--out", path.join(tmp, "out-1")], env).status).toBe(0);
    const first = entries(cache);
    // cdktf, zod, yaml, the bindings and ours: well over a hundred modules.
    expect(first.size).toBeGreaterThan(100);
    if (process.platform !== "win32") {
      expect(fs.statSync(cache).mode & 0o777).toBe(0o700);
      expect([...first.keys()].every((f) => (fs.statSync(path.join(cache, f)).mode & 0o777) === 0o600)).toBe(true);
    }
    expect(node([main, "--out", path.join(tmp, "out-2")], env).status).toBe(0);
    // Nothing rewritten: every module came from its entry.
    expect(entries(cache)).toEqual(first);
    expect(node([main, "--out", path.join(tmp, "out-plain")], { ACR_GATE_COMPILE_CACHE: "off" }).status).toBe(0);
    const plain = tree(path.join(tmp, "out-plain"));
    expect(Object.keys(plain).length).toBeGreaterThan(3);
    expect(tree(path.join(tmp, "out-1"))).toEqual(plain);
    expect(tree(path.join(tmp, "out-2"))).toEqual(plain);
  });

  vmTest("a module changed to a source of the same length runs its new code (the entry carries the source's hash)", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "changed-"));
    const env = { ACR_GATE_COMPILE_CACHE: path.join(dir, "cache") };
    fs.writeFileSync(path.join(dir, "mod.js"), 'module.exports = "one";\n');
    const file = driver(dir, "./mod.js");
    expect(runDriver(file, env)).toMatchObject({ value: "one", state: { mode: "vm", misses: 1, hits: 0 } });
    expect(runDriver(file, env)).toMatchObject({ value: "one", state: { mode: "vm", misses: 0, hits: 1 } });
    fs.writeFileSync(path.join(dir, "mod.js"), 'module.exports = "two";\n');
    expect(runDriver(file, env)).toMatchObject({ value: "two", state: { misses: 1, hits: 0 } });
    expect(runDriver(file, env)).toMatchObject({ value: "two", state: { misses: 0, hits: 1 } });
  });

  vmTest("an entry with damaged data, or made for another source, or planted by another user, is never used and is written anew", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "damaged-"));
    const cache = path.join(dir, "cache");
    const env = { ACR_GATE_COMPILE_CACHE: cache };
    fs.writeFileSync(path.join(dir, "mod.js"), "module.exports = () => [1, 2, 3].map((x) => x * 2).join();\n");
    const file = driver(dir, "./mod.js");
    expect(runDriver(file, env).value).toBe("2,4,6");
    const [name] = fs.readdirSync(cache);
    const entry = path.join(cache, name);
    const good = fs.readFileSync(entry);
    // Header: the source's CRC-32 and length (8 bytes), the data's CRC-32 (4); then V8's data.
    const damage = (at: number) => {
      const b = Buffer.from(good);
      b[at] ^= 0x01;
      fs.writeFileSync(entry, b);
      return b;
    };
    // One bit anywhere in V8's data: V8 on Node 20 does not notice, the data's CRC does.
    for (const at of [12, 12 + 40, Math.floor(good.length / 2), good.length - 1]) {
      const damaged = damage(at);
      expect([at, runDriver(file, env)]).toMatchObject([at, { value: "2,4,6", state: { hits: 0, misses: 1 } }]);
      expect(fs.readFileSync(entry).equals(damaged)).toBe(false);
    }
    // Another source's hash in front of good data: not even offered to V8.
    damage(0);
    expect(runDriver(file, env)).toMatchObject({ value: "2,4,6", state: { hits: 0, misses: 1 } });
    expect(runDriver(file, env)).toMatchObject({ value: "2,4,6", state: { hits: 1, misses: 0 } });
    if (process.getuid?.() === 0) {
      // Root here can give the entry away: an entry this user does not own is not read.
      fs.chownSync(entry, 65534, 65534);
      expect(runDriver(file, env)).toMatchObject({ value: "2,4,6", state: { hits: 0, misses: 1 } });
    }
  });

  vmTest("an entry that is a link or a FIFO is neither followed nor waited on, and is replaced by a file", () => {
    if (process.platform === "win32") return;
    const dir = fs.mkdtempSync(path.join(tmp, "special-"));
    const cache = path.join(dir, "cache");
    const env = { ACR_GATE_COMPILE_CACHE: cache };
    fs.writeFileSync(path.join(dir, "mod.js"), "module.exports = 5;\n");
    const file = driver(dir, "./mod.js");
    runDriver(file, env);
    const [name] = fs.readdirSync(cache);
    const entry = path.join(cache, name);
    const target = path.join(dir, "elsewhere.bin");
    fs.renameSync(entry, target);
    fs.symlinkSync(target, entry);
    expect(runDriver(file, env)).toMatchObject({ value: 5, state: { hits: 0, misses: 1 } });
    expect(fs.lstatSync(entry).isFile()).toBe(true);
    fs.rmSync(entry);
    expect(spawnSync("mkfifo", [entry]).status).toBe(0);
    // A FIFO opened for reading would wait for a writer forever.
    const r = spawnSync(process.execPath, [file], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8", timeout: 20000 });
    expect([r.status, r.signal]).toEqual([0, null]);
    expect(fs.lstatSync(entry).isFile()).toBe(true);
  });

  test("the directory is made (0700) before any module is read from it, so no one can put one there first", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "early-"));
    const cache = path.join(dir, "not-yet", "cache");
    fs.writeFileSync(path.join(dir, "mod.js"), `const fs = require("fs"); module.exports = fs.existsSync(${JSON.stringify(cache)}) && (fs.statSync(${JSON.stringify(cache)}).mode & 0o777).toString(8);\n`);
    expect(runDriver(driver(dir, "./mod.js"), { ACR_GATE_COMPILE_CACHE: cache }).value).toBe(process.platform === "win32" ? expect.any(String) : "700");
  });

  vmTest("an error on a module's first line keeps its column", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "column-"));
    fs.writeFileSync(path.join(dir, "mod.js"), 'module.exports = () => { throw new Error("here"); };\n');
    fs.writeFileSync(path.join(dir, "where.js"), 'module.exports = () => { try { require("./mod.js")(); } catch (e) { return e.stack.split("\\n")[1].replace(/.*mod\\.js/, "mod.js"); } };\n');
    const file = driver(dir, "./where.js");
    const plain = runDriver(file, { ACR_GATE_COMPILE_CACHE: "off" }).value;
    expect(plain).toBe("mod.js:1:32)");
    expect(runDriver(file, { ACR_GATE_COMPILE_CACHE: path.join(dir, "cache") })).toMatchObject({ value: plain, state: { mode: "vm" } });
  });

  vmTest("a module using import(), and one with a syntax error, are left to Node, which runs or reports them as usual", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "node-"));
    const env = { ACR_GATE_COMPILE_CACHE: path.join(dir, "cache") };
    fs.writeFileSync(path.join(dir, "dynamic.js"), 'module.exports = () => import("node:path").then((p) => p.sep);\n');
    expect(runDriver(driver(dir, "./dynamic.js"), env)).toMatchObject({ value: path.sep, state: { mode: "vm", passed: 1, misses: 0 } });
    fs.writeFileSync(path.join(dir, "commented.js"), 'module.exports = () => import /* a comment */ ("node:path").then((p) => p.sep);\n');
    expect(runDriver(driver(dir, "./commented.js"), env)).toMatchObject({ value: path.sep, state: { passed: 1, misses: 0 } });
    fs.writeFileSync(path.join(dir, "broken.js"), "module.exports = ;\n");
    const broken = runDriver(driver(dir, "./broken.js"), env);
    expect(broken.value).toBe("SyntaxError: Unexpected token ';'");
    expect(broken.state).toMatchObject({ passed: 1, misses: 0 });
  });

  vmTest("off by the variable, under CI, coverage or a flag that may change compiling, or in a directory others can write", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "off-"));
    fs.writeFileSync(path.join(dir, "mod.js"), "module.exports = 1;\n");
    const file = driver(dir, "./mod.js");
    for (const value of ["off", "0", "false", "NO"]) {
      expect(runDriver(file, { ACR_GATE_COMPILE_CACHE: value }).state).toMatchObject({ mode: "off", why: `ACR_GATE_COMPILE_CACHE=${value}` });
    }
    expect(runDriver(file, { ACR_GATE_COMPILE_CACHE: "relative/dir" }).state.mode).toBe("off");
    expect(fs.existsSync(path.join(repo, "relative"))).toBe(false);
    const cache = path.join(dir, "cache");
    expect(runDriver(file, { ACR_GATE_COMPILE_CACHE: cache }, ["--enable-source-maps"]).state.mode).toBe("off");
    expect(runDriver(file, { ACR_GATE_COMPILE_CACHE: cache, NODE_OPTIONS: "--enable-source-maps" }).state.mode).toBe("off");
    // Node unquotes NODE_OPTIONS: a quoted flag is still that flag.
    expect(runDriver(file, { ACR_GATE_COMPILE_CACHE: cache, NODE_OPTIONS: '"--enable-source-maps"' }).state.mode).toBe("off");
    expect(runDriver(file, { ACR_GATE_COMPILE_CACHE: cache, NODE_V8_COVERAGE: path.join(dir, "coverage") }).state.mode).toBe("off");
    // A run that will not use a cache makes no directory.
    expect(fs.existsSync(cache)).toBe(false);
    // CI runs once after npm ci: off by default there (CI as most services set it, TF_BUILD as
    // Azure Pipelines does), on where the variable names a directory.
    expect(runDriver(file, { CI: "true" }).state).toMatchObject({ mode: "off", why: "CI is set" });
    expect(runDriver(file, { TF_BUILD: "True" }).state).toMatchObject({ mode: "off", why: "CI is set" });
    expect(runDriver(file, { CI: "true", ACR_GATE_COMPILE_CACHE: cache }).state.mode).toBe("vm");
    // Heap sizes and profiling change nothing about compiling.
    expect(runDriver(file, { ACR_GATE_COMPILE_CACHE: cache, NODE_OPTIONS: "--max-old-space-size=4096" }).state.mode).toBe("vm");
    if (process.platform !== "win32") {
      const shared = path.join(dir, "shared");
      fs.mkdirSync(shared);
      fs.chmodSync(shared, 0o777);
      expect(runDriver(file, { ACR_GATE_COMPILE_CACHE: shared }).state).toMatchObject({ mode: "off", why: `${shared} is writable by others` });
      expect(fs.readdirSync(shared)).toEqual([]);
      // Below a directory others can change (who could swap the cache after the check): off;
      // below a sticky one (as /tmp): on, by the real path of a link.
      expect(runDriver(file, { ACR_GATE_COMPILE_CACHE: path.join(shared, "cache") }).state).toMatchObject({
        mode: "off",
        why: `${path.join(shared, "cache")} is below ${fs.realpathSync(shared)}, which another user can change`,
      });
      const sticky = path.join(dir, "sticky");
      fs.mkdirSync(sticky);
      fs.chmodSync(sticky, 0o1777);
      fs.mkdirSync(path.join(sticky, "cache"), { mode: 0o700 });
      fs.symlinkSync(path.join(sticky, "cache"), path.join(dir, "link"));
      expect(runDriver(file, { ACR_GATE_COMPILE_CACHE: path.join(dir, "link") }).state).toMatchObject({ mode: "vm", dir: fs.realpathSync(path.join(sticky, "cache")) });
    }
  });

  test("the command refuses a value of ACR_GATE_COMPILE_CACHE that is neither off nor an absolute path", () => {
    const r = node([main, "--check"], { ACR_GATE_COMPILE_CACHE: "cache" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('acr-gate: ACR_GATE_COMPILE_CACHE: "cache" must be off or an absolute directory path');
    expect(fs.existsSync(path.join(repo, "cache"))).toBe(false);
  });

  test("the flags it compiles under", () => {
    expect(vmCacheAllowed([])).toBe(true);
    expect(vmCacheAllowed(["--max-old-space-size=4096", "--cpu-prof", "--cpu-prof-dir=/tmp/p"])).toBe(true);
    expect(vmCacheAllowed([], "--max-old-space-size=4096 --no-warnings")).toBe(true);
    const refused = ["--enable-source-maps", "--inspect-brk", "--experimental-policy=p.json", "--loader=x", "--import=x", "-e", "-r", "--require=./hook.js", "--preserve-symlinks"];
    for (const flag of refused) {
      expect([flag, vmCacheAllowed([flag])]).toEqual([flag, false]);
      expect([flag, vmCacheAllowed([], `--no-warnings ${flag}`)]).toEqual([flag, false]);
    }
    expect(vmCacheAllowed([], '"--enable-source-maps"')).toBe(false);
    expect(compileCacheSettingProblem("")).toBeUndefined();
    expect(compileCacheSettingProblem("/abs/dir")).toBeUndefined();
    expect(compileCacheSettingProblem("rel/dir")).toBe("must be off or an absolute directory path");
    expect(vmCacheAllowed([], "--title=a\\ b")).toBe(false);
  });

  test("a cache that cannot be written costs time, not the synth", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "unwritable-"));
    fs.writeFileSync(path.join(dir, "a-file"), "");
    const r = node([main, "--out", path.join(dir, "out")], { ACR_GATE_COMPILE_CACHE: path.join(dir, "a-file", "cache") });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("acr-gate: synthesized into");
  });
});

describe("Deferred modules (app/deferred-modules.ts)", () => {
  /** A script that defers, runs `body`, and prints the JSON of what it returns. */
  function deferred(body: string, defer = true): any {
    const file = path.join(fs.mkdtempSync(path.join(tmp, "deferred-")), "driver.js");
    fs.writeFileSync(
      file,
      `const r = require("module").createRequire(${JSON.stringify(path.join(repo, "package.json"))});
       const d = require(${dist("app/deferred-modules.js")});
       ${defer ? "d.deferUnusedModules();" : ""}
       const result = (() => { ${body} })();
       process.stdout.write("\\n" + JSON.stringify({ result, deferred: d.deferredModules() }));`,
    );
    const r = node([file], { ACR_GATE_COMPILE_CACHE: "off" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout.slice(r.stdout.lastIndexOf("\n") + 1));
  }
  /** Modules of archiver, semver or zod's locales other than the files standing in for them, and zod's English. */
  const REAL = String.raw`[\\/](archiver-utils|zip-stream|compress-commons)[\\/]|[\\/]semver[\\/](classes|functions|ranges)[\\/]|[\\/]zod[\\/]v4[\\/]locales[\\/](?!index\.cjs$|en\.cjs$)`;

  test("a default synth loads none of them: archiver, semver and zod's locales stay stand-ins", () => {
    const out = path.join(tmp, "deferred-out");
    const r = deferred(`
      const io = { out: () => {}, err: (t) => process.stderr.write(t) };
      const code = require(${dist("app/cli.js")}).runCli(["--out", ${JSON.stringify(out)}], {}, io);
      return { code, real: Object.keys(require.cache).filter((k) => new RegExp(${JSON.stringify(REAL)}).test(k)), modules: Object.keys(require.cache).length };
    `);
    expect(r.result.code).toBe(0);
    expect(r.result.real).toEqual([]);
    expect(r.deferred.map((d: { file: string; loaded: boolean }) => [path.relative(repo, d.file).split(path.sep).join("/"), d.loaded])).toEqual([
      ["node_modules/cdktf/node_modules/archiver/index.js", false],
      ["node_modules/cdktf/node_modules/semver/index.js", false],
      ["node_modules/zod/v4/locales/index.cjs", false],
    ]);
    // Without them the same synth loads them all.
    const plain = deferred(
      `const code = require(${dist("app/cli.js")}).runCli(["--out", ${JSON.stringify(out + "-plain")}], {}, { out: () => {}, err: () => {} });
       return { code, real: Object.keys(require.cache).filter((k) => new RegExp(${JSON.stringify(REAL)}).test(k)).length, modules: Object.keys(require.cache).length };`,
      false,
    );
    expect(plain.result.real).toBeGreaterThan(100);
    expect(plain.result.modules - r.result.modules).toBeGreaterThan(250);
    expect(tree(out)).toEqual(tree(out + "-plain"));
  });

  test("each loads on its first use and then works as itself", () => {
    const r = deferred(`
      r("cdktf");
      const from = (request, by) => require(require.resolve(request, { paths: [require("path").dirname(r.resolve(by))] }));
      const archiver = from("archiver", "cdktf/lib/private/fs");
      const semver = from("semver", "cdktf/lib/validations/validate-binary-version");
      const { z } = r("zod");
      const before = require(${dist("app/deferred-modules.js")}).deferredModules().map((d) => d.loaded);
      const german = z.locales.de();
      return {
        before,
        archiver: [typeof archiver, archiver.isRegisteredFormat("zip"), typeof archiver("zip").pipe],
        semver: [semver.satisfies("1.4.0", ">= 1.2.0"), semver.satisfies("1.3.10", ">= 1.4.0"), "satisfies" in semver],
        locale: [typeof german.localeError, "de" in z.locales],
      };
    `);
    expect(r.result).toEqual({
      before: [false, false, false],
      archiver: ["function", true, "function"],
      semver: [true, false, true],
      locale: ["function", true],
    });
    expect(r.deferred.map((d: { loaded: boolean }) => d.loaded)).toEqual([true, true, true]);
  });

  test("a stand-in can be patched like the module (a test's stub): writes reach the real module", () => {
    const r = deferred(`
      r("cdktf");
      const semver = require(require.resolve("semver", { paths: [require("path").dirname(r.resolve("cdktf/lib/validations/validate-binary-version"))] }));
      semver.stubbed = 42;
      Object.defineProperty(semver, "defined", { value: 7, enumerable: true });
      const real = require.cache[require.resolve("semver", { paths: [require("path").dirname(r.resolve("cdktf/lib/validations/validate-binary-version"))] })].exports;
      delete semver.defined;
      return [semver.stubbed, real === semver ? "stand-in still cached" : real.stubbed, "defined" in semver];
    `);
    expect(r.result).toEqual([42, 42, false]);
  });

  test("a zip asset (cdktf zips with archiver, in a child process of its own) still works", () => {
    const src = fs.mkdtempSync(path.join(tmp, "asset-src-"));
    fs.writeFileSync(path.join(src, "hello.txt"), "hello\n");
    const out = path.join(tmp, "asset-out");
    const r = deferred(`
      const { App, TerraformStack, TerraformAsset, AssetType } = r("cdktf");
      const app = new App({ outdir: ${JSON.stringify(out)}, stackTraces: false });
      const stack = new TerraformStack(app, "assets");
      new TerraformAsset(stack, "zipped", { path: ${JSON.stringify(src)}, type: AssetType.ARCHIVE });
      app.synth();
      const zips = [];
      const walk = (d) => { for (const e of require("fs").readdirSync(d, { withFileTypes: true })) { const p = require("path").join(d, e.name); if (e.isDirectory()) walk(p); else if (p.endsWith(".zip")) zips.push(p); } };
      walk(${JSON.stringify(out)});
      return zips.map((z) => require("fs").readFileSync(z).subarray(0, 2).toString());
    `);
    expect(r.result).toEqual(["PK"]);
  });

  test("every example writes the same files through the command (cache and deferrals) as without either", () => {
    const examples = fs.readdirSync(path.join(repo, "examples")).filter((f) => f.endsWith(".yaml"));
    expect(examples.length).toBeGreaterThan(5);
    const cache = path.join(tmp, "cache-examples");
    for (const ex of examples) {
      const config = path.join(repo, "examples", ex);
      const viaCommand = path.join(tmp, `ex-${ex}-command`);
      const r = node([main, "--config", config, "--out", viaCommand], { ACR_GATE_COMPILE_CACHE: cache });
      expect([ex, r.status, r.stderr]).toEqual([ex, 0, ""]);
      const plainOut = path.join(tmp, `ex-${ex}-plain`);
      const plain = deferred(
        `return require(${dist("app/cli.js")}).runCli(["--config", ${JSON.stringify(config)}, "--out", ${JSON.stringify(plainOut)}], {}, { out: () => {}, err: (t) => process.stderr.write(t) });`,
        false,
      );
      expect([ex, plain.result]).toEqual([ex, 0]);
      expect([ex, tree(viaCommand)]).toEqual([ex, tree(plainOut)]);
    }
  });
});
