#!/usr/bin/env node
/*
 * Synth performance bench (issue 6). Run as `npm run bench` (builds dist/ first) or
 * `node scripts/bench.js` after `npm run build`. Every figure comes from whole fresh processes,
 * timed by the bench (wall) and by GNU time (peak RSS, CPU seconds).
 *
 *   1. floor     node -e "require('cdktf')"
 *   2. ours      node dist/main.js, default config, Node's compile cache warm (runs interleaved with
 *                the floor's); then, for what it tells: ours with an empty compile cache every run (a
 *                first run)
 *   3. template  the default config the `cdktf init --template=typescript` way: ts-node (type-checked,
 *                template tsconfig) running our TypeScript sources, plus `import * as azurerm from
 *                "@cdktf/provider-azurerm"` (the root import). ts-node is installed into a temp dir.
 *   4. scale     generated configs with N gated images + N apps + ceil(N/10) team registries, in
 *                both layouts: single (one stack) and split (a platform stack + a stack per team).
 *   5. lab       the default config's task runs on acb for real (npm run lab, scenario unchanged):
 *                the gate's seconds for a changed upstream (its first promotion) and an unchanged
 *                one, and the app's build-and-deploy run; as root with acb only (help/lab.md).
 *
 * Targets are printed as PASS/MISS and never fail the process; it exits 1 only when something errors.
 * Writes the figures as JSON under bench/results/<timestamp>.json. See help/performance.md.
 *
 * Options: --with-tests      also time `npm test` once, before the rest (warm install)
 *          --runs=N          runs of floor and ours (default 11: a median of 5 moved by 0.1x from run to run)
 *          --template-runs=N runs of the template (default 3; 0 skips it)
 *          --scale-runs=N    runs per scale size (default 3)
 *          --sizes=1,10,...  scale sizes (default 1,10,100,500)
 *          --layouts=single,split  layouts of the scale series (default both)
 *          --keep            keep the temp dir (configs, outputs, template project)
 *          --lab=off         skip the lab's figures (default: on where it can run: root and acb)
 *
 * Plain Node.js (CommonJS), no dependencies beyond the app's own.
 */
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawnSync } = require("child_process");

const REPO = path.resolve(__dirname, "..");
const TIME = "/usr/bin/time";
const TS_NODE = "ts-node@10.9.2";
const TYPESCRIPT = "typescript@5.9.2"; // pinned: ts-node 10 does not work with TypeScript 7
const MB = 1e6;

// ---------------------------------------------------------------------------------------------
// Options

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const a = args.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (a === undefined) return fallback;
  return a.includes("=") ? a.slice(a.indexOf("=") + 1) : true;
};
const known = ["with-tests", "runs", "template-runs", "scale-runs", "sizes", "layouts", "keep", "lab", "help"];
for (const a of args) {
  if (!known.includes(a.replace(/^--/, "").split("=")[0])) {
    console.error(`bench: unknown option ${a} (known: ${known.map((k) => `--${k}`).join(" ")})`);
    process.exit(2);
  }
}
if (opt("help", false)) {
  console.log(fs.readFileSync(__filename, "utf8").split("\n").slice(1, 25).join("\n"));
  process.exit(0);
}
const int = (name, fallback) => {
  const v = Number(opt(name, fallback));
  if (!Number.isInteger(v) || v < 0) {
    console.error(`bench: --${name} must be a whole number`);
    process.exit(2);
  }
  return v;
};
const RUNS = Math.max(1, int("runs", 11));
const TEMPLATE_RUNS = int("template-runs", 3);
const SCALE_RUNS = Math.max(1, int("scale-runs", 3));
const SIZES = String(opt("sizes", "1,10,100,500"))
  .split(",")
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);
const LAYOUTS = String(opt("layouts", "single,split")).split(",");
if (LAYOUTS.some((l) => l !== "single" && l !== "split")) {
  console.error("bench: --layouts takes single, split or both");
  process.exit(2);
}
const WITH_TESTS = opt("with-tests", false) === true;
const KEEP = opt("keep", false) === true;

// ---------------------------------------------------------------------------------------------
// Measuring one fresh process

const HAVE_TIME = fs.existsSync(TIME);
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-bench-"));

/** An environment for children: no ACR_GATE_CONFIG or TS_NODE_* leaking in from the caller. */
function childEnv(extra = {}) {
  const env = { ...process.env };
  delete env.ACR_GATE_CONFIG;
  delete env.CDKTF_OUTDIR;
  for (const k of Object.keys(env)) if (k.startsWith("TS_NODE_")) delete env[k];
  return { ...env, ...extra };
}

let runSeq = 0;
/** Runs a command once; returns {wall, rss (bytes), cpu, stdout, stderr, status}. */
function measure(cmd, argv, { cwd = REPO, env = childEnv(), timeoutMs = 600000 } = {}) {
  const timeFile = path.join(TMP, `time-${++runSeq}.txt`);
  const spawnArgs = HAVE_TIME ? [TIME, ["-f", "%e %M %U %S", "-o", timeFile, cmd, ...argv]] : [cmd, argv];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(spawnArgs[0], spawnArgs[1], {
    cwd,
    env,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    timeout: timeoutMs,
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  let rss = null;
  let cpu = null;
  if (HAVE_TIME && fs.existsSync(timeFile)) {
    // GNU time writes "Command exited with non-zero status N" before the figures on failure.
    const last = fs.readFileSync(timeFile, "utf8").trim().split("\n").pop().split(/\s+/).map(Number);
    if (last.length === 4 && last.every(Number.isFinite)) {
      rss = last[1] * 1024;
      cpu = last[2] + last[3];
    }
  }
  return {
    wall,
    rss,
    cpu,
    status: r.error ? `error: ${r.error.message}` : r.status,
    stdout: r.stdout || "",
    stderr: r.stderr || "",
  };
}

function fail(what, r) {
  const out = `${r.stderr}\n${r.stdout}`.trim().split("\n").slice(-25).join("\n");
  return new Error(`${what} failed (exit ${r.status}):\n${out}`);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
function summarize(samples) {
  const pick = (k) => samples.map((s) => s[k]).filter((v) => v !== null);
  const stat = (xs) => (xs.length ? { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) } : null);
  return {
    runs: samples.length,
    wall: stat(pick("wall")),
    rss: stat(pick("rss")),
    cpu: stat(pick("cpu")),
    samples: samples.map(({ wall, rss, cpu }) => ({ wall, rss, cpu })),
  };
}

/**
 * Runs each of `cases` ([label, once, check]) warmup + runs times, alternating between them, so a
 * change of load during the series weighs on all of them alike. Returns one summary per case.
 */
function interleaved(runs, warmup, cases) {
  process.stderr.write(`bench: ${cases.map((c) => c[0]).join(" / ")} `);
  const samples = cases.map(() => []);
  for (let i = 0; i < warmup + runs; i++) {
    cases.forEach(([label, once, check], k) => {
      const r = once(i < warmup ? `w${i}` : String(i - warmup));
      if (r.status !== 0) throw fail(label, r);
      if (i >= warmup) {
        if (check) check(r, i - warmup);
        samples[k].push(r);
      }
    });
    process.stderr.write(i < warmup ? "w" : ".");
  }
  process.stderr.write("\n");
  return samples.map(summarize);
}

/** Runs `once` warmup + runs times; `check` validates each run (throws). */
function series(label, runs, warmup, once, check) {
  process.stderr.write(`bench: ${label} `);
  for (let i = 0; i < warmup; i++) {
    const r = once(`w${i}`);
    if (r.status !== 0) throw fail(label, r);
    process.stderr.write("w");
  }
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const r = once(String(i));
    if (r.status !== 0) throw fail(label, r);
    if (check) check(r, i);
    samples.push(r);
    process.stderr.write(".");
  }
  process.stderr.write("\n");
  return summarize(samples);
}

// ---------------------------------------------------------------------------------------------
// Synth runs and configs

/** The cdk.tf.json of every stack under outdir; throws unless there are `expected` of them. */
function stackFiles(outdir, expected = 1) {
  const stacks = path.join(outdir, "stacks");
  const names = fs.existsSync(stacks) ? fs.readdirSync(stacks) : [];
  if (names.length !== expected) throw new Error(`${outdir}: expected ${expected} stacks under stacks/, found ${names.length}`);
  const files = names.map((n) => path.join(stacks, n, "cdk.tf.json"));
  for (const f of files) if (!fs.existsSync(f)) throw new Error(`${f} is missing`);
  return files;
}

function synthCheck(outdir, expected = 1) {
  return (r) => {
    if (!r.stdout.includes("acr-gate: synthesized into")) throw fail("synth (no 'synthesized into' line)", r);
    stackFiles(outdir, expected); // throws if missing
  };
}

/** The compile cache of the bench's runs (app/compile-cache.ts): its own, so no earlier run counts. */
const COMPILE_CACHE = path.join(TMP, "compile-cache");

/**
 * The Node flags `npm start`, `npm run synth` and `cdktf synth` (cdktf.json runs the synth script)
 * give the command: read from that script, so the bench times what they run.
 */
const SYNTH_NODE_FLAGS = (() => {
  const script = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")).scripts.synth;
  const m = /\bnode((?: --[\w-]+(?:=\S+)?)*) dist\/main\.js\b/.exec(script);
  if (!m) throw new Error(`bench: package.json's synth script does not run node dist/main.js: ${script}`);
  return m[1].trim().split(/\s+/).filter(Boolean);
})();

function runOurs(outdir, configFile, cacheDir = COMPILE_CACHE) {
  fs.rmSync(outdir, { recursive: true, force: true });
  const env = childEnv({ CDKTF_OUTDIR: outdir, ACR_GATE_COMPILE_CACHE: cacheDir, ...(configFile ? { ACR_GATE_CONFIG: configFile } : {}) });
  return measure(process.execPath, [...SYNTH_NODE_FLAGS, path.join(REPO, "dist", "main.js")], { env });
}

/** The scale config of the brief: N gated images, N apps, ceil(N/10) team registries. */
function scaleConfig(n, layout) {
  const teams = Math.ceil(n / 10);
  return {
    layout,
    location: "eastus",
    // Docker Hub upstream: a simulated registry would need one image task per gated image.
    upstream: { source: "dockerhub", dockerHubCredentials: true },
    baseArtifactsRegistry: { name: "contosobaseartifacts" },
    teamRegistries: Array.from({ length: teams }, (_, j) => ({ name: `team${j}acr` })),
    keyVault: { name: "acr-task-credentials" },
    gatedImages: Array.from({ length: n }, (_, i) => ({
      source: `img${i}:1.${i}`,
      taskName: `base-import-img${i}`,
      test: { context: `https://github.com/example/import-img${i}.git#main` },
    })),
    apps: Array.from({ length: n }, (_, i) => ({
      name: `app${i}`,
      // Registry task names need 5-50 characters: set one explicitly for every size.
      taskName: `build-app${i}`,
      registry: `team${Math.floor(i / 10)}acr`,
      repository: `https://github.com/example/app${i}.git#main`,
      baseImage: `img${i}:1.${i}`,
      aci: { name: `app${i}-aci` },
    })),
  };
}

function countResources(files) {
  let total = 0;
  const byType = {};
  for (const file of files) {
    const tf = JSON.parse(fs.readFileSync(file, "utf8"));
    for (const [type, rs] of Object.entries(tf.resource || {})) {
      byType[type] = (byType[type] || 0) + Object.keys(rs).length;
      total += Object.keys(rs).length;
    }
  }
  return { total, byType };
}

// ---------------------------------------------------------------------------------------------
// The template project (item 3)

function templateTsconfig() {
  const f = path.join(REPO, "node_modules", "cdktf-cli", "bundle", "templates", "typescript", "tsconfig.json");
  if (fs.existsSync(f)) return { text: fs.readFileSync(f, "utf8"), from: path.relative(REPO, f) };
  // cdktf-cli 0.21.0 templates/typescript/tsconfig.json
  const compilerOptions = {
    alwaysStrict: true, declaration: true, experimentalDecorators: true, inlineSourceMap: true,
    inlineSources: true, lib: ["es2018"], module: "CommonJS", noEmitOnError: true,
    noFallthroughCasesInSwitch: true, noImplicitAny: true, noImplicitReturns: true, noImplicitThis: true,
    noUnusedLocals: true, noUnusedParameters: true, resolveJsonModule: true, strict: true,
    strictNullChecks: true, strictPropertyInitialization: true, stripInternal: true, target: "ES2018",
    incremental: true, skipLibCheck: true,
  };
  const text = JSON.stringify({ compilerOptions, include: ["**/*.ts"], exclude: ["node_modules", "cdktf.out"] }, null, 2);
  return { text, from: "embedded copy of cdktf-cli 0.21.0 templates/typescript/tsconfig.json" };
}

/** Returns {run(outdir), info} or {skip: reason}. */
function prepareTemplate() {
  const tools = path.join(TMP, "template-tools");
  const app = path.join(TMP, "template-app");
  fs.mkdirSync(tools, { recursive: true });
  fs.mkdirSync(app, { recursive: true });
  process.stderr.write(`bench: npm install --no-save --prefix ${tools} ${TS_NODE} ${TYPESCRIPT}\n`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const inst = spawnSync(
    npm,
    ["install", "--no-save", "--no-audit", "--no-fund", "--prefer-offline", "--prefix", tools, TS_NODE, TYPESCRIPT],
    { cwd: tools, env: childEnv(), encoding: "utf8", timeout: 300000 },
  );
  const bin = path.join(tools, "node_modules", "ts-node", "dist", "bin.js");
  if (inst.error || inst.status !== 0 || !fs.existsSync(bin)) {
    const why = inst.error ? inst.error.message : `${inst.stderr || ""}${inst.stdout || ""}`.trim().split("\n").slice(-8).join("\n");
    return { skip: `npm install of ${TS_NODE} ${TYPESCRIPT} failed (exit ${inst.status}):\n${why}` };
  }
  const tsconfig = templateTsconfig();
  fs.writeFileSync(path.join(app, "tsconfig.json"), tsconfig.text);
  // The template's own node_modules would hold cdktf, constructs and the provider: ours stand in.
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(app, "node_modules"), "dir");
  const src = (p) => JSON.stringify(path.join(REPO, p));
  fs.writeFileSync(
    path.join(app, "main.ts"),
    [
      "// Our main.ts the way `cdktf init --template=typescript` runs an app: ts-node (type-checking",
      "// every file it loads, template tsconfig) and the provider's root import.",
      'import * as azurerm from "@cdktf/provider-azurerm";',
      `import { loadConfig } from ${src("lib/config")};`,
      `import { synthesize } from ${src("app/synth")};`,
      "",
      "void azurerm.provider;",
      'const outdir = synthesize(loadConfig(), process.env.CDKTF_OUTDIR ?? "cdktf.out");',
      "console.log(`acr-gate: synthesized into ${outdir}`);",
      "",
    ].join("\n"),
  );
  // ts-node loads the compiler next to the project first (our node_modules), else its own.
  const version = (from) => {
    try {
      return JSON.parse(fs.readFileSync(require.resolve("typescript/package.json", { paths: [from] }), "utf8")).version;
    } catch {
      return null;
    }
  };
  const tsVersion = version(app) || version(tools) || "?";
  return {
    info: {
      dir: app,
      tsconfig: tsconfig.from,
      tsNode: TS_NODE,
      typescript: tsVersion,
      command: `node ${path.relative(TMP, bin)} main.ts (in ${path.relative(TMP, app)}; npx start-up not included)`,
    },
    run: (outdir) => {
      fs.rmSync(outdir, { recursive: true, force: true });
      return measure(process.execPath, [bin, "main.ts"], { cwd: app, env: childEnv({ CDKTF_OUTDIR: outdir }) });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Printing

const f2 = (x) => (x === null || x === undefined ? "n/a" : x.toFixed(2));
const fmb = (x) => (x === null || x === undefined ? "n/a" : (x / MB).toFixed(0));
function line(label, s) {
  const w = s.wall;
  const rss = s.rss ? `${fmb(s.rss.median)} MB (max ${fmb(s.rss.max)})` : "n/a (no /usr/bin/time)";
  const cpu = s.cpu ? `${f2(s.cpu.median)} s` : "n/a";
  return `  ${label.padEnd(40)} ${f2(w.median).padStart(6)} s  [${f2(w.min)} .. ${f2(w.max)}]  n=${s.runs}  rss ${rss}  cpu ${cpu}`;
}
const targets = [];
function target(name, ok, detail) {
  const t = { name, status: ok === null ? "N/A" : ok ? "PASS" : "MISS", detail };
  targets.push(t);
  return `  ${t.status.padEnd(4)}  ${name}: ${detail}`;
}

// ---------------------------------------------------------------------------------------------

function main() {
  let errored = false;
  const out = [];
  const say = (s = "") => {
    out.push(s);
    console.log(s);
  };
  const load0 = os.loadavg();
  const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO, encoding: "utf8" }).stdout.trim();
  const dirty = spawnSync("git", ["status", "--porcelain", "--", "main.ts", "lib", "constructs"], { cwd: REPO, encoding: "utf8" }).stdout.trim() !== "";
  const machine = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: (os.cpus()[0] || {}).model,
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    loadavgStart: load0.map((x) => +x.toFixed(2)),
    commit: commit + (dirty ? "+dirty" : ""),
    nodeOptions: process.env.NODE_OPTIONS || "",
  };
  if (!fs.existsSync(path.join(REPO, "dist", "main.js"))) {
    console.error("bench: dist/main.js is missing: run `npm run build` (or `npm run bench`)");
    process.exit(1);
  }
  say(`acr-gate synth bench  ${machine.date}`);
  say(`  node ${machine.node}, ${machine.cpus} cores (${machine.cpuModel}), ${machine.memGiB} GiB, ${machine.platform}, commit ${machine.commit}`);
  say(`  load average at start ${machine.loadavgStart.join(" ")}${load0[0] > machine.cpus / 2 ? "  WARNING: the machine is busy; times are inflated (compare cpu)" : ""}`);
  if (!HAVE_TIME) say(`  WARNING: ${TIME} not found: no peak RSS or CPU figures`);
  say("  wall: median [min .. max] over n fresh processes; rss: peak RSS (GNU time %M); cpu: user+sys");
  say();

  const results = { machine, options: { RUNS, TEMPLATE_RUNS, SCALE_RUNS, SIZES, WITH_TESTS }, tmp: KEEP ? TMP : undefined };

  // npm test, first: the other series load the machine for minutes, and the load average they
  // leave would be npm test's, not the machine's. Printed with the targets.
  let npmTest = null;
  if (WITH_TESTS) {
    process.stderr.write("bench: npm test (once, first)\n");
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const loadBefore = os.loadavg()[0];
    const t = measure(npm, ["test", "--silent"], { timeoutMs: 1800000 });
    npmTest = { wall: t.wall, rss: t.rss, cpu: t.cpu, status: t.status, loadavgBefore: loadBefore, stderr: t.stderr, stdout: t.stdout };
    results.npmTest = { wall: t.wall, rss: t.rss, cpu: t.cpu, status: t.status, loadavgBefore: loadBefore };
  }

  // 1-2 -----------------------------------------------------------------------------------------
  const oursDir = path.join(TMP, "ours");
  const [floor, ours] = interleaved(RUNS, 1, [
    ["floor", () => measure(process.execPath, ["-e", "require('cdktf')"])],
    ["ours (default config)", () => runOurs(oursDir), synthCheck(oursDir)],
  ]);
  const cold = series("ours, empty compile cache", RUNS, 0, (i) => runOurs(oursDir, undefined, path.join(TMP, `cold-cache-${i}`)), synthCheck(oursDir));
  results.floor = floor;
  results.ours = ours;
  results.oursColdCache = cold;
  say("1-2. Floor and our synth (default config)");
  say(line(`floor   node -e "require('cdktf')"`, floor));
  say(line(`ours    node ${[...SYNTH_NODE_FLAGS, "dist/main.js"].join(" ")}`, ours));
  say(`  ours / floor = ${(ours.wall.median / floor.wall.median).toFixed(2)}x   ours - floor = ${f2(ours.wall.median - floor.wall.median)} s`);
  say("  for comparison (help/performance.md):");
  say(line("ours, empty compile cache each run", cold));
  say(`  first run / floor = ${(cold.wall.median / floor.wall.median).toFixed(2)}x`);
  say();

  // 3 -------------------------------------------------------------------------------------------
  say(`3. The cdktf init template way (ts-node type-checking, root import of @cdktf/provider-azurerm)`);
  if (TEMPLATE_RUNS === 0) {
    say("  SKIPPED: --template-runs=0");
    results.template = { skipped: "--template-runs=0" };
  } else {
    const prep = prepareTemplate();
    if (prep.skip) {
      say(`  SKIPPED: ${prep.skip.replace(/\n/g, "\n    ")}`);
      results.template = { skipped: prep.skip };
    } else {
      const tplDir = path.join(TMP, "template-out");
      try {
        const tpl = series("template", TEMPLATE_RUNS, 1, () => prep.run(tplDir), synthCheck(tplDir));
        const same = fs.readFileSync(stackFiles(tplDir)[0], "utf8") === fs.readFileSync(stackFiles(oursDir)[0], "utf8");
        results.template = { ...tpl, ...prep.info, sameOutputAsOurs: same };
        say(`  ${prep.info.tsNode}, typescript ${prep.info.typescript}, tsconfig ${prep.info.tsconfig}`);
        say(line("template  ts-node main.ts", tpl));
        say(`  template / ours = ${(tpl.wall.median / ours.wall.median).toFixed(1)}x   same cdk.tf.json as ours: ${same ? "yes" : "NO"}`);
      } catch (e) {
        errored = true;
        say(`  ERROR: ${e.message.replace(/\n/g, "\n    ")}`);
        results.template = { error: e.message };
      }
    }
  }
  say();

  // 4 -------------------------------------------------------------------------------------------
  say(`4. Scale: N gated images + N apps + ceil(N/10) team registries (one "item" = 1 gated image + 1 app)`);
  results.scale = [];
  for (const layout of LAYOUTS) {
    say(`  layout ${layout}${layout === "split" ? " (a platform stack + one stack per team)" : " (one stack)"}`);
    for (const n of SIZES) {
      const stacks = layout === "split" ? 1 + Math.ceil(n / 10) : 1;
      const cfgFile = path.join(TMP, `scale-${layout}-${n}.json`);
      fs.writeFileSync(cfgFile, JSON.stringify(scaleConfig(n, layout), null, 1));
      const dir = path.join(TMP, `scale-${layout}-${n}`);
      // Check once that the config synthesizes, and what it makes, before timing it.
      const probe = runOurs(dir, cfgFile);
      if (probe.status !== 0) throw fail(`synth of the N=${n} ${layout} scale config`, probe);
      const resources = countResources(stackFiles(dir, stacks));
      const s = series(`scale ${layout} N=${n}`, SCALE_RUNS, 0, () => runOurs(dir, cfgFile), synthCheck(dir, stacks));
      results.scale.push({ layout, n, stacks, resources: resources.total, resourcesByType: resources.byType, ...s });
      say(line(`N=${String(n).padEnd(4)} (${resources.total} resources, ${stacks} stack${stacks > 1 ? "s" : ""})`, s));
    }
    const at = (n) => results.scale.find((x) => x.n === n && x.layout === layout);
    const slope = (a, b) => {
      const A = at(a);
      const B = at(b);
      if (!A || !B) return null;
      const ds = (B.wall.median - A.wall.median) / (b - a);
      const dcpu = A.cpu && B.cpu ? (B.cpu.median - A.cpu.median) / (b - a) : null;
      const dm = A.rss && B.rss ? (B.rss.median - A.rss.median) / (b - a) : null;
      return { layout, from: a, to: b, secondsPerItem: ds, cpuSecondsPerItem: dcpu, bytesPerItem: dm };
    };
    const slopes = [slope(10, 100), slope(100, 500)].filter(Boolean);
    results.slopes = [...(results.slopes || []), ...slopes];
    for (const sl of slopes) {
      say(
        `  slope N=${sl.from}..${sl.to}: ${(sl.secondsPerItem * 1000).toFixed(1)} ms/item wall, ` +
          `${sl.cpuSecondsPerItem === null ? "n/a" : (sl.cpuSecondsPerItem * 1000).toFixed(1)} ms/item cpu, ` +
          `${sl.bytesPerItem === null ? "n/a" : (sl.bytesPerItem / MB).toFixed(2)} MB/item`,
      );
    }
    if (slopes.length === 2) {
      const [lo, hi] = slopes;
      const r = hi.secondsPerItem / lo.secondsPerItem;
      const rc = lo.cpuSecondsPerItem && hi.cpuSecondsPerItem ? hi.cpuSecondsPerItem / lo.cpuSecondsPerItem : null;
      results.slopeRatio = { ...(results.slopeRatio || {}), [layout]: { wall: r, cpu: rc } };
      const verdict = (rc ?? r) > 1.5 ? "WORSE THAN LINEAR (per-item cost grows with N)" : "about linear";
      say(`  slope ratio (100..500 vs 10..100): ${r.toFixed(2)} wall, ${rc === null ? "n/a" : rc.toFixed(2)} cpu -> ${verdict}`);
    }
  }
  say();

  // The lab -------------------------------------------------------------------------------------
  const lab = labFigures();
  results.lab = lab;
  say("Lab (npm run lab -- --scenario unchanged: the default config's tasks on acb, for real)");
  if (lab.skipped) say(`  skipped: ${lab.skipped}`);
  else {
    say(`  gate, changed upstream (first promotion): ${f2(lab.gateChanged)} s`);
    say(`  gate, unchanged upstream:                 ${f2(lab.gateUnchanged)} s (${(lab.gateUnchanged / lab.gateChanged).toFixed(2)} of it)`);
    say(`  app build and deploy:                     ${f2(lab.app)} s`);
  }
  say();

  // Targets -------------------------------------------------------------------------------------
  say("Targets");
  say(target("default config within 1.4x the floor", ours.wall.median <= 1.4 * floor.wall.median,
    `ours/floor = ${(ours.wall.median / floor.wall.median).toFixed(2)}x (<= 1.4x; CPU ${ours.cpu && floor.cpu ? (ours.cpu.median / floor.cpu.median).toFixed(2) : "n/a"}x)`));
  const tpl = results.template && results.template.wall ? results.template : null;
  say(target("template >= 15x slower than ours", tpl ? tpl.wall.median / ours.wall.median >= 15 : null,
    tpl ? `template/ours = ${(tpl.wall.median / ours.wall.median).toFixed(1)}x (>= 15x)` : "template not measured"));
  say(target("our peak RSS < 150 MB", ours.rss ? ours.rss.max < 150 * MB : null,
    ours.rss ? `max ${fmb(ours.rss.max)} MB over ${ours.runs} runs` : "no RSS figures"));
  for (const layout of LAYOUTS) {
    const s500 = results.scale.find((x) => x.n === 500 && x.layout === layout);
    say(target(`500 gated images + 500 apps within 1.7 s (${layout})`, s500 ? s500.wall.median <= 1.7 : null,
      s500 ? `median ${f2(s500.wall.median)} s (cpu ${s500.cpu ? f2(s500.cpu.median) : "n/a"} s)` : "N=500 not in --sizes"));
    say(target(`500 gated images + 500 apps within 300 MB (${layout})`, s500 && s500.rss ? s500.rss.max <= 300 * MB : null,
      s500 && s500.rss ? `max ${fmb(s500.rss.max)} MB` : "not measured"));
  }
  say(target("the gate on an unchanged upstream within a third of a changed one (lab)", lab.skipped ? null : lab.gateUnchanged * 3 <= lab.gateChanged,
    lab.skipped ? lab.skipped : `${f2(lab.gateUnchanged)} s against ${f2(lab.gateChanged)} s`));
  results.targets = targets;

  if (npmTest) {
    const t = npmTest;
    say();
    say(`npm test (once, first, warm install, load ${t.loadavgBefore.toFixed(2)} before it): ${f2(t.wall)} s, exit ${t.status}${t.status === 0 ? "" : " (tests failed or not ready; not counted as a bench error)"}`);
    if (t.status !== 0) say(`  ${`${t.stderr}\n${t.stdout}`.trim().split("\n").slice(-5).join("\n  ")}`);
    say(target("npm test within 30 s", t.status === 0 ? t.wall <= 30 : null, `${f2(t.wall)} s (the unit project; npm run test:engines runs the rest)`));
  }

  const load1 = os.loadavg();
  results.machine.loadavgEnd = load1.map((x) => +x.toFixed(2));
  const dir = path.join(REPO, "bench", "results");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${machine.date.replace(/[:.]/g, "-")}.json`);
  results.printed = out;
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  say();
  say(`load average at end ${results.machine.loadavgEnd.join(" ")}`);
  say(`wrote ${path.relative(REPO, file)}`);
  return errored ? 1 : 0;
}

/** The lab's run seconds: its unchanged scenario runs the gate on a changed upstream, then on the same one again. */
function labFigures() {
  if (opt("lab", "on") === "off") return { skipped: "--lab=off" };
  const acb = process.env.ACR_GATE_ACB || path.join(REPO, "..", "shared", "tools", "acb", "acb");
  if (process.getuid && process.getuid() !== 0) return { skipped: "not root (the lab makes namespaces)" };
  if (!fs.existsSync(acb)) return { skipped: `no acb at ${acb}` };
  const out = path.join(TMP, "lab.out");
  const r = spawnSync(process.execPath, [path.join(REPO, "dist", "app", "lab.js"), "--scenario", "unchanged", "--out", out], { encoding: "utf8", timeout: 1800000 });
  if (r.status !== 0) return { skipped: `the lab failed (exit ${r.status}): ${`${r.stderr}`.trim().split("\n").slice(-3).join(" / ")}` };
  const runs = JSON.parse(fs.readFileSync(path.join(out, "report.json"), "utf8")).scenarios[0].runs;
  const gates = runs.filter((x) => x.task === "base-import-node");
  const app = runs.find((x) => x.task === "hello-world");
  return { gateChanged: gates[0].seconds, gateUnchanged: gates[1].seconds, app: app.seconds, runs };
}

let code = 1;
try {
  code = main();
} catch (e) {
  console.error(`bench: ${e.message}`);
} finally {
  if (KEEP) console.error(`bench: kept ${TMP}`);
  else fs.rmSync(TMP, { recursive: true, force: true });
}
process.exit(code);
