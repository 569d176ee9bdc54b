/**
 * Renders ACR task files with Go's text/template the way ACR's engine (acr-builder, `acb`) does,
 * through the Go program in __tests__/tools/render-task (see its main.go for what is mirrored).
 *
 * ACR renders a task file as a Go template BEFORE parsing its YAML, so what a task does is only
 * known after rendering; tests use this to look at the rendered file. The program is built once
 * into a cache directory keyed by the hash of its sources (rebuilt only when they change) and
 * renders a whole batch in one process.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface RenderItem {
  /** The task file text, as ACR receives it (decoded from base64). */
  template: string;
  /** `.Values`; always strings, as `--set` and a quoted values file give them. */
  values?: Record<string, string>;
  /** `.Run.Registry`, e.g. `x.azurecr.io` (`.Run.RegistryName` is what precedes the first dot). */
  registry?: string;
  /** `.Run.ID` (and `.Build.ID`). */
  id?: string;
  /** Stand-ins for the resolved Key Vault secrets; used only when the text contains "secrets", as in acb. */
  secrets?: Record<string, string>;
  /** Also apply `acb exec`'s `$alias` preprocessing (task version >= v1.1.0), which `acb render` skips. */
  exec?: boolean;
  /** RFC 3339 time for `.Run.Date`; the current time when omitted, as in acb. */
  date?: string;
  /** Template name in error messages; `decoded` (what acb calls a base64 task) when omitted. */
  name?: string;
  commit?: string;
  repository?: string;
  branch?: string;
  triggeredBy?: string;
  gitTag?: string;
  sharedVolume?: string;
  /** `.Run.OS`; `linux` when omitted (ACR's Linux agents), whatever the test machine is. */
  os?: string;
  osVersion?: string;
  /** `.Run.Architecture`; `amd64` when omitted. */
  architecture?: string;
  taskName?: string;
}

export type RenderResult = { ok: true; rendered: string } | { ok: false; error: string };

const TOOL_DIR = path.join(__dirname, "..", "tools", "render-task");
const SOURCES = ["main.go", "go.mod"];

/** undefined: not tried yet; null: `go` is not installed. */
let binary: string | null | undefined;

function buildEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Hermetic build: the program is stdlib only, so no GOFLAGS (e.g. -mod=vendor) or go.work of
    // the caller applies, and never download another toolchain.
    GOFLAGS: "",
    GOWORK: "off",
    GOTOOLCHAIN: "local",
  };
  // go refuses to build without a cache directory; CI containers sometimes have no HOME.
  if (!env.GOCACHE && !env.XDG_CACHE_HOME && !env.HOME) env.GOCACHE = path.join(os.tmpdir(), "acr-gate-go-build");
  return env;
}

function ensureBinary(): string | null {
  if (binary !== undefined) return binary;
  const probe = spawnSync("go", ["version"], { encoding: "utf8" });
  if (probe.error) {
    // ENOENT: no Go toolchain on this machine; the caller decides whether that is fatal.
    if ((probe.error as NodeJS.ErrnoException).code === "ENOENT") return (binary = null);
    throw probe.error;
  }
  const hash = crypto.createHash("sha256");
  for (const f of SOURCES) hash.update(f + "\0").update(fs.readFileSync(path.join(TOOL_DIR, f))).update("\0");
  const dir = path.join(os.tmpdir(), `acr-gate-render-task-${hash.digest("hex").slice(0, 16)}`);
  const bin = path.join(dir, process.platform === "win32" ? "render-task.exe" : "render-task");
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(dir, { recursive: true });
    // Build under a private name and rename, so parallel jest workers never run a half-written file.
    const tmp = `${bin}.${process.pid}.tmp`;
    const built = spawnSync("go", ["build", "-buildvcs=false", "-o", tmp, "."], { cwd: TOOL_DIR, env: buildEnv(), encoding: "utf8" });
    if (built.error || built.status !== 0) {
      // A Go toolchain that cannot build the program is a real failure, never a reason to skip.
      throw new Error(`go build of ${TOOL_DIR} failed (${built.error?.message ?? `exit ${built.status}`}):\n${built.stderr}`);
    }
    fs.renameSync(tmp, bin);
  }
  return (binary = bin);
}

/** True when the renderer can run here (Go installed; builds it on first call). */
export function goRenderAvailable(): boolean {
  return ensureBinary() !== null;
}

/** Renders every item in one process; results are in input order. */
export function renderWithGo(items: readonly RenderItem[]): RenderResult[] {
  const bin = ensureBinary();
  if (bin === null) throw new Error("renderWithGo: the Go toolchain (`go`) is not installed; check goRenderAvailable() first");
  if (items.length === 0) return [];
  const run = spawnSync(bin, [], {
    input: items.map((i) => JSON.stringify(i)).join("\n") + "\n",
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
  });
  if (run.error || run.status !== 0) {
    throw new Error(`render-task failed (${run.error?.message ?? `exit ${run.status}`}):\n${run.stderr}`);
  }
  const lines = run.stdout.split("\n").filter((l) => l !== "");
  if (lines.length !== items.length) throw new Error(`render-task answered ${lines.length} lines for ${items.length} inputs:\n${run.stderr}`);
  return lines.map((l) => JSON.parse(l) as RenderResult);
}

/** CI (or ACR_GATE_REQUIRE_TOOLS=1) must not skip tests silently for want of a tool. */
function toolsRequired(): boolean {
  return !!process.env.CI || process.env.ACR_GATE_REQUIRE_TOOLS === "1";
}

/**
 * Returns true when the tool is available. Otherwise throws in CI or when ACR_GATE_REQUIRE_TOOLS=1,
 * and elsewhere prints a note and returns false so the caller can skip its tests visibly.
 */
export function requireTool(name: string, available: boolean): boolean {
  if (available) return true;
  if (toolsRequired()) throw new Error(`${name} is required here (CI or ACR_GATE_REQUIRE_TOOLS=1) but is not available`);
  // The prefix is what support/skip-reporter.js lists at the end of the run.
  console.warn(`acr-gate: tool missing: ${name} is not available, so the tests that need it are skipped`);
  return false;
}
