/**
 * The command's start-up (main.ts): Node's own compile cache (module.enableCompileCache) in a
 * directory only this user can change (app/compile-cache.ts). It may not change a byte of what is
 * written, and must fail safe: a refused directory is never used, a cache that cannot be written
 * costs time, not the synth. Every case runs in fresh node processes (jest's module registry would
 * hide it). In `npm run test:engines`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { compileCacheSettingProblem } from "../app/compile-cache";

const repo = path.resolve(__dirname, "..");
const main = path.join(repo, "dist", "main.js");
const dist = (p: string) => JSON.stringify(path.join(repo, "dist", p));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-startup-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function node(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, args, { cwd: repo, env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
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

/** Files under dir, recursively. */
function count(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).length;
}

/** A script file that turns the cache on, requires `module` and prints what the cache did and what Node reports. */
function driver(dir: string, module: string): string {
  const file = path.join(dir, "driver.js");
  fs.writeFileSync(
    file,
    `const cc = require(${dist("app/compile-cache.js")});
     const state = cc.enableCompileCache();
     require(${JSON.stringify(module)});
     process.stdout.write(JSON.stringify({ state, nodeDir: require("module").getCompileCacheDir() ?? null }));`,
  );
  return file;
}
function runDriver(file: string, env: Record<string, string>) {
  const r = node([file], env);
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as { state: { on: boolean; why?: string; dir?: string }; nodeDir: string | null };
}

beforeAll(() => {
  expect(fs.existsSync(main)).toBe(true);
});

describe("The compile cache (app/compile-cache.ts)", () => {
  test("Node's cache, in the directory named: a first run fills it, and cached or not the command writes the same files", () => {
    const cache = path.join(tmp, "cache-main");
    const env = { ACR_GATE_COMPILE_CACHE: cache };
    expect(node([main, "--out", path.join(tmp, "out-1")], env).status).toBe(0);
    // cdktf, zod, yaml, the bindings and ours: well over a hundred modules.
    expect(count(cache)).toBeGreaterThan(100);
    if (process.platform !== "win32") expect(fs.statSync(cache).mode & 0o777).toBe(0o700);
    expect(node([main, "--out", path.join(tmp, "out-2")], env).status).toBe(0);
    expect(node([main, "--out", path.join(tmp, "out-plain")], { ACR_GATE_COMPILE_CACHE: "off" }).status).toBe(0);
    const plain = tree(path.join(tmp, "out-plain"));
    expect(Object.keys(plain).length).toBeGreaterThan(3);
    expect(tree(path.join(tmp, "out-1"))).toEqual(plain);
    expect(tree(path.join(tmp, "out-2"))).toEqual(plain);
  });

  test("the directory is made (0700) and checked before Node reads from it, and Node uses that very directory", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "early-"));
    const cache = path.join(dir, "not-yet", "cache");
    fs.writeFileSync(path.join(dir, "mod.js"), "module.exports = 1;\n");
    const r = runDriver(driver(dir, "./mod.js"), { ACR_GATE_COMPILE_CACHE: cache });
    expect(r.state).toEqual({ on: true, dir: fs.realpathSync(cache) });
    // Node keeps its entries in a folder per Node version, architecture and flags, inside the one given.
    expect(path.dirname(r.nodeDir!)).toBe(fs.realpathSync(cache));
    if (process.platform !== "win32") expect(fs.statSync(cache).mode & 0o777).toBe(0o700);
  });

  test("off by the variable, or in a directory others can write or swap", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "off-"));
    fs.writeFileSync(path.join(dir, "mod.js"), "module.exports = 1;\n");
    const file = driver(dir, "./mod.js");
    for (const value of ["off", "0", "false", "NO"]) {
      expect(runDriver(file, { ACR_GATE_COMPILE_CACHE: value })).toEqual({ state: { on: false, why: `ACR_GATE_COMPILE_CACHE=${value}` }, nodeDir: null });
    }
    expect(runDriver(file, { ACR_GATE_COMPILE_CACHE: "relative/dir" }).state.on).toBe(false);
    expect(fs.existsSync(path.join(repo, "relative"))).toBe(false);
    if (process.platform !== "win32") {
      const shared = path.join(dir, "shared");
      fs.mkdirSync(shared);
      fs.chmodSync(shared, 0o777);
      expect(runDriver(file, { ACR_GATE_COMPILE_CACHE: shared })).toEqual({ state: { on: false, why: `${shared} is writable by others` }, nodeDir: null });
      expect(fs.readdirSync(shared)).toEqual([]);
      // Below a directory others can change (who could swap the cache after the check): off;
      // below a sticky one (as /tmp): on, by the real path of a link.
      expect(runDriver(file, { ACR_GATE_COMPILE_CACHE: path.join(shared, "cache") }).state).toEqual({
        on: false,
        why: `${path.join(shared, "cache")} is below ${fs.realpathSync(shared)}, which another user can change`,
      });
      const sticky = path.join(dir, "sticky");
      fs.mkdirSync(sticky);
      fs.chmodSync(sticky, 0o1777);
      fs.mkdirSync(path.join(sticky, "cache"), { mode: 0o700 });
      fs.symlinkSync(path.join(sticky, "cache"), path.join(dir, "link"));
      const linked = runDriver(file, { ACR_GATE_COMPILE_CACHE: path.join(dir, "link") });
      expect(linked.state).toEqual({ on: true, dir: fs.realpathSync(path.join(sticky, "cache")) });
      expect(path.dirname(linked.nodeDir!)).toBe(fs.realpathSync(path.join(sticky, "cache")));
    }
  });

  test("NODE_COMPILE_CACHE (Node's own switch, on before acr-gate runs) is reported, not claimed as checked", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "node-own-"));
    fs.writeFileSync(path.join(dir, "mod.js"), "module.exports = 1;\n");
    const r = runDriver(driver(dir, "./mod.js"), { ACR_GATE_COMPILE_CACHE: path.join(dir, "ours"), NODE_COMPILE_CACHE: path.join(dir, "theirs") });
    expect(r.state.on).toBe(false);
    expect(r.state.why).toMatch(/already on in .*theirs.* \(NODE_COMPILE_CACHE\), unchecked by acr-gate/);
    const disabled = runDriver(driver(dir, "./mod.js"), { ACR_GATE_COMPILE_CACHE: path.join(dir, "ours"), NODE_DISABLE_COMPILE_CACHE: "1" });
    expect(disabled.state).toEqual({ on: false, why: "NODE_DISABLE_COMPILE_CACHE is set" });
  });

  test("the command refuses a value of ACR_GATE_COMPILE_CACHE that is neither off nor an absolute path", () => {
    const r = node([main, "--check"], { ACR_GATE_COMPILE_CACHE: "cache" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('acr-gate: ACR_GATE_COMPILE_CACHE: "cache" must be off or an absolute directory path');
    expect(fs.existsSync(path.join(repo, "cache"))).toBe(false);
    expect(compileCacheSettingProblem("")).toBeUndefined();
    expect(compileCacheSettingProblem("/abs/dir")).toBeUndefined();
    expect(compileCacheSettingProblem("rel/dir")).toBe("must be off or an absolute directory path");
  });

  test("a cache that cannot be written costs time, not the synth", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "unwritable-"));
    fs.writeFileSync(path.join(dir, "a-file"), "");
    const r = node([main, "--out", path.join(dir, "out")], { ACR_GATE_COMPILE_CACHE: path.join(dir, "a-file", "cache") });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("acr-gate: synthesized into");
  });

  test("every example writes the same files through the command (with the cache) as through runCli in a plain process", () => {
    const examples = fs.readdirSync(path.join(repo, "examples")).filter((f) => f.endsWith(".yaml"));
    expect(examples.length).toBeGreaterThan(5);
    const cache = path.join(tmp, "cache-examples");
    for (const ex of examples) {
      const config = path.join(repo, "examples", ex);
      const viaCommand = path.join(tmp, `ex-${ex}-command`);
      const r = node([main, "--config", config, "--out", viaCommand], { ACR_GATE_COMPILE_CACHE: cache });
      expect([ex, r.status, r.stderr]).toEqual([ex, 0, ""]);
      const plainOut = path.join(tmp, `ex-${ex}-plain`);
      const plain = node([
        "-e",
        `process.exitCode = require(${dist("app/cli.js")}).runCli(["--config", ${JSON.stringify(config)}, "--out", ${JSON.stringify(plainOut)}], {}, { out: () => {}, err: (t) => process.stderr.write(t) });`,
      ]);
      expect([ex, plain.status, plain.stderr]).toEqual([ex, 0, ""]);
      expect([ex, tree(viaCommand)]).toEqual([ex, tree(plainOut)]);
    }
  });
});
