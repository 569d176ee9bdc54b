/**
 * The output directory, handled so that a synth can never delete what acr-gate did not write (issue
 * 9) and keeps Terraform's working state across re-synths (issue 10).
 *
 * A synth replaces its output directory as a whole. So before anything is touched, checkReplaceable
 * refuses a target whose loss would hurt (a root, home, the project, the cwd or its ancestors, a
 * repository, a file, a link, a directory of someone else's files); replaceOutput then swaps the new
 * output in with renames, so a failure at any step leaves the old output or the new one in place.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";

/** A refused or failed output directory: main prints the message as `acr-gate: <message>`. */
export class OutdirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutdirError";
  }
}

export const DEFAULT_OUTDIR = "cdktf.out";

/** The file acr-gate writes into every output directory it produces: its licence to replace it. */
export const MARKER = ".acr-gate-output";
export const MARKER_TEXT = [
  "Written by acr-gate. This directory is replaced as a whole on every synth: do not keep your own",
  "files here. Terraform's working state in stacks/<stack>/ (.terraform/, .terraform.lock.hcl, *.tfstate)",
  "is carried over to the new output.",
  "",
].join("\n");

const ADVICE = `Choose an empty or new directory, or one acr-gate wrote (it holds ${MARKER}).`;

/**
 * The output directory CDKTF_OUTDIR names. Unset means the default; set but empty (or blank) is an
 * error, not "unset": `CDKTF_OUTDIR=` resolves to the current directory, which a synth would replace.
 */
export function resolveOutdir(value: string | undefined, via = "CDKTF_OUTDIR"): string {
  if (value === undefined) return DEFAULT_OUTDIR;
  if (value.trim() === "") {
    throw new OutdirError(
      via === "CDKTF_OUTDIR"
        ? `CDKTF_OUTDIR is set but empty: unset it for the default ${DEFAULT_OUTDIR}, or name a directory (CDKTF_OUTDIR=out).`
        : `${via} is empty: name a directory, or leave it out for the default ${DEFAULT_OUTDIR}.`,
    );
  }
  return value;
}

/**
 * acr-gate's own root: the nearest directory at or above `from` holding a package.json named
 * "acr-gate". Searched, not computed, because the code runs from lib/ (ts-node, jest) and from
 * dist/lib/ (compiled). Falls back to `from`'s parent if none is found.
 */
export function findProjectRoot(from: string): string {
  for (const dir of selfAndAncestors(path.resolve(from))) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).name === "acr-gate") return dir;
    } catch {
      // No package.json here, or not JSON: keep walking up.
    }
  }
  return path.resolve(from, "..");
}

export interface ReplaceContext {
  /** The directory a relative target is resolved against. */
  cwd: string;
  home: string;
  /** Where acr-gate's package.json is. */
  projectRoot: string;
}

/**
 * Throws an OutdirError, touching nothing, unless `target` may be replaced as a whole: a new path
 * (under an existing directory or a path still to be created), an empty directory, or an output
 * acr-gate wrote (it holds the marker) that is none of the places below.
 */
export function checkReplaceable(target: string, ctx: ReplaceContext): void {
  const given = path.resolve(ctx.cwd, target);
  const refuse = (why: string, todo = ADVICE): never => {
    throw new OutdirError(`will not replace output directory "${given}": ${why}. ${todo}`);
  };

  const st = lstat(given);
  if (st === undefined) {
    // A new directory: nothing to delete, but its nearest existing ancestor must be a directory.
    const existing = selfAndAncestors(given).find((p) => lstat(p) !== undefined)!;
    if (!isDirectory(existing)) refuse(`it cannot be created: "${existing}" is not a directory`);
    return;
  }
  // Not followed: replacing a link would swap the link itself, and what it points to is somewhere
  // the rules below were not checked against.
  if (st.isSymbolicLink()) refuse("it is a symbolic link (acr-gate does not follow links)", `Name a real directory. ${ADVICE}`);

  // Compared by realpath and by device and inode, so a different spelling of the same directory
  // (symlinked parents, case-insensitive filesystems, bind mounts) is still recognized.
  const real = fs.realpathSync.native(given);
  const shown = real === given ? "" : ` (${real})`;
  const same = (other: string) => sameDirectory(real, other);
  const contains = (other: string) => selfAndAncestors(realOr(other)).some(same);

  if (path.parse(real).root === real) refuse(`it is a filesystem root${shown}`);
  if (ctx.home && same(ctx.home)) refuse(`it is your home directory${shown}`);
  if (same(ctx.projectRoot)) refuse(`it is the acr-gate project itself${shown}`);
  if (same(ctx.cwd)) refuse(`it is the current directory${shown}`);
  if (contains(ctx.cwd)) refuse(`it contains the current directory${shown}`);
  if (contains(ctx.projectRoot)) refuse(`it contains the acr-gate project${shown}`);
  if (ctx.home && contains(ctx.home)) refuse(`it contains your home directory${shown}`);
  if (!st.isDirectory()) refuse(`it exists and is not a directory but ${kind(st)}`);
  if (lstat(path.join(real, ".git")) !== undefined) refuse(`it holds .git (a repository)${shown}`);
  const busy = terraformWorkingIn(real);
  if (busy) {
    refuse(
      busy,
      "Replacing the directory under a running terraform would lose its working directory, and with it the state it is about to write. Wait for it to finish.",
    );
  }
  if (!holdsMarkerOrIsEmpty(real)) {
    const legacy = fs.existsSync(path.join(real, "manifest.json")) && fs.existsSync(path.join(real, "stacks"));
    refuse(
      `it is not empty and acr-gate did not write it (no ${MARKER} in it)${shown}`,
      legacy
        ? `If it is the output of an acr-gate from before ${MARKER} existed, check it holds nothing you need ` +
            `(stacks/*/terraform.tfstate is your Terraform state), then create an empty ${MARKER} in it. ${ADVICE}`
        : ADVICE,
    );
  }
}

/** The file-system operations replaceOutput performs, injectable to test failures at each step. */
export interface FsOps {
  rename(from: string, to: string): void;
  /** Removes a whole tree; only ever called on a tree acr-gate wrote. */
  removeTree(p: string): void;
  /** Copies a file, failing if the destination exists. */
  copyFile(from: string, to: string): void;
  mkdirp(p: string): void;
}

export const realFs: FsOps = {
  rename: (from, to) => fs.renameSync(from, to),
  removeTree: (p) => fs.rmSync(p, { recursive: true, force: true }),
  copyFile: (from, to) => fs.copyFileSync(from, to, fs.constants.COPYFILE_EXCL),
  mkdirp: (p) => {
    fs.mkdirSync(p, { recursive: true });
  },
};

/** A fresh, unused sibling name of `target`: same parent, hence same filesystem, so renames work. */
export function siblingName(target: string, kind: "staging" | "old"): string {
  return `${path.resolve(target)}.${kind}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/**
 * Puts the finished output `staging` at `target`, replacing what is there (which must have passed
 * checkReplaceable) without ever leaving neither:
 *
 * 1. copy each old stack's lock file and local state into staging (old output untouched);
 * 2. rename the old output aside to a sibling `<target>.old-<pid>-<random>`;
 * 3. rename staging to target; if that fails, rename the old output back and rethrow;
 * 4. move each old stack's `.terraform/` into the new output;
 * 5. last, remove the old output.
 *
 * A failure before step 4 leaves the old output byte for byte at `target` (staging is the caller's
 * to remove); a failure in 4 or 5 leaves the new output at `target` and says where the old one is.
 */
export interface ReplaceOptions {
  /**
   * Leave an empty `stacks/<name>/` for each stack of the old output the new one lacks. The cdktf
   * CLI lists the stack directories before it runs the app and afterwards removes the ones the new
   * manifest does not name, with an `rmSync` that fails on a missing directory ("ENOENT ... lstat
   * cdktf.out/stacks/<old stack>" after a change of stackName): under the CLI, those placeholders
   * are what it removes.
   */
  readonly placeholdersForRemovedStacks?: boolean;
}

export function replaceOutput(staging: string, target: string, ops: Partial<FsOps> = {}, options: ReplaceOptions = {}): void {
  const o: FsOps = { ...realFs, ...ops };
  target = path.resolve(target);
  staging = path.resolve(staging);
  const parent = path.dirname(target);
  if (parent === target) throw new OutdirError(`will not replace "${target}": it is a filesystem root.`);
  if (path.dirname(staging) !== parent) {
    throw new Error(`internal: staging "${staging}" must be a sibling of "${target}" (renames must stay on one filesystem)`);
  }
  o.mkdirp(parent);

  const st = lstat(target);
  if (st === undefined) {
    o.rename(staging, target);
    return;
  }
  // Checked here too, so replaceOutput alone can never delete a tree acr-gate did not write.
  if (!st.isDirectory() || !holdsMarkerOrIsEmpty(target)) {
    throw new OutdirError(`will not replace "${target}": it is not a directory acr-gate wrote (no ${MARKER} in it). ${ADVICE}`);
  }

  carryStateInto(target, staging, o);
  const placeholders = new Set<string>();
  if (options.placeholdersForRemovedStacks) {
    for (const stack of stackDirs(target)) {
      if (lstat(path.join(staging, "stacks", stack)) !== undefined) continue;
      o.mkdirp(path.join(staging, "stacks", stack));
      placeholders.add(stack);
    }
  }

  const aside = siblingName(target, "old");
  o.rename(target, aside);
  try {
    o.rename(staging, target);
  } catch (e) {
    try {
      o.rename(aside, target);
    } catch (back) {
      throw new OutdirError(
        `could not put the new output at "${target}" (${message(e)}) nor the old one back (${message(back)}): ` +
          `the previous output is intact at "${aside}"; rename it to "${target}".`,
      );
    }
    throw e;
  }

  // The new output is in place; from here on nothing that failed may lose the old output's state.
  const keep = (what: string, e: unknown): never => {
    throw new OutdirError(
      `synthesized into "${target}", but ${what} failed (${message(e)}); the previous output is kept at ` +
        `"${aside}": take what you need from it, then remove it.`,
    );
  };
  try {
    moveTerraformDirs(aside, target, o, placeholders);
  } catch (e) {
    keep("carrying stacks/*/.terraform/ over", e);
  }
  try {
    o.removeTree(aside);
  } catch (e) {
    keep("removing the previous output", e);
  }
}

// Terraform's working files live in each stack directory of the output. Carrying them over means
// the provider lock (.terraform.lock.hcl) and the backend and providers `terraform init` set up
// (.terraform/) survive a re-synth: `cdktf deploy` and plain `terraform plan/apply` keep working
// without a new init. The state itself lives outside the output (backend.path, default
// ../../../<stack>.tfstate); a *.tfstate found in a stack directory was written there by an older
// acr-gate, whose default was terraform.tfstate, and is carried too until `terraform init
// -migrate-state` moves it (help/operations.md).

/** Small files, copied into staging before the swap so the new output is complete when it appears. */
function isCopiedState(name: string): boolean {
  return name === ".terraform.lock.hcl" || name.endsWith(".tfstate") || name.endsWith(".tfstate.backup");
}
/** Directories, possibly large (provider binaries): moved after the swap, never copied. */
const MOVED_STATE = [".terraform", "terraform.tfstate.d"];

function stackDirs(output: string): string[] {
  const stacks = path.join(output, "stacks");
  if (!lstat(stacks)?.isDirectory()) return [];
  return fs
    .readdirSync(stacks, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
}

function carryStateInto(old: string, staging: string, o: FsOps): void {
  for (const stack of stackDirs(old)) {
    const from = path.join(old, "stacks", stack);
    const to = path.join(staging, "stacks", stack);
    const files = fs.readdirSync(from, { withFileTypes: true }).filter((e) => e.isFile() && isCopiedState(e.name));
    if (!lstat(to)?.isDirectory()) {
      // Removing the old output would delete this state with nowhere to carry it: refuse instead.
      const state = files.filter((e) => e.name !== ".terraform.lock.hcl").map((e) => e.name);
      // Workspace states (terraform workspace new ...) live in a directory of their own.
      const workspaces = path.join(from, "terraform.tfstate.d");
      if (lstat(workspaces)?.isDirectory() && fs.readdirSync(workspaces).length > 0) state.push("terraform.tfstate.d/");
      if (state.length > 0) {
        throw new OutdirError(
          `the output in "${old}" holds Terraform state for stack "${stack}" (stacks/${stack}/${state[0]}), ` +
            `which this synth no longer produces: move that state somewhere safe, or synthesize into another directory.`,
        );
      }
      continue;
    }
    for (const f of files) {
      // What this synth wrote wins over what the old output had.
      if (lstat(path.join(to, f.name)) === undefined) o.copyFile(path.join(from, f.name), path.join(to, f.name));
    }
  }
}

function moveTerraformDirs(old: string, target: string, o: FsOps, placeholders: ReadonlySet<string>): void {
  for (const stack of stackDirs(old)) {
    const to = path.join(target, "stacks", stack);
    // A stack this synth no longer has (or its placeholder for the cdktf CLI): its .terraform/ goes.
    if (placeholders.has(stack) || !lstat(to)?.isDirectory()) continue;
    for (const name of MOVED_STATE) {
      const src = path.join(old, "stacks", stack, name);
      if (lstat(src) !== undefined && lstat(path.join(to, name)) === undefined) o.rename(src, path.join(to, name));
    }
  }
}

function lstat(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    // ENOTDIR: a parent is a file, so this path does not exist either.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw e;
  }
}

/** Follows links: a parent reached through a link is fine, a dangling one is not a directory. */
function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function holdsMarkerOrIsEmpty(dir: string): boolean {
  return lstat(path.join(dir, MARKER))?.isFile() === true || fs.readdirSync(dir).length === 0;
}

/** `p` and every directory above it, nearest first. */
function selfAndAncestors(p: string): string[] {
  const out = [p];
  for (let up = path.dirname(p); up !== out[out.length - 1]; up = path.dirname(up)) out.push(up);
  return out;
}

function realOr(p: string): string {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return path.resolve(p);
  }
}

function sameDirectory(real: string, other: string): boolean {
  if (realOr(other) === real) return true;
  try {
    const a = fs.statSync(real, { bigint: true });
    const b = fs.statSync(other, { bigint: true });
    // Some filesystems report inode 0 for everything: then only the path comparison counts.
    // BigInt(0), not 0n: these sources also compile under the cdktf init template's tsconfig
    // (target ES2018), which `npm run bench` times.
    return a.ino !== BigInt(0) && a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

function kind(st: fs.Stats): string {
  if (st.isFile()) return "a regular file";
  if (st.isSocket()) return "a socket";
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  return "something else";
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Why Terraform seems to be working in `output` right now, or undefined: a state lock held in a
 * stack directory (`.terraform.tfstate.lock.info`, written beside a local state while a plan or
 * apply runs), or, on Linux, a terraform, tofu or provider process whose working directory is in
 * it. A shell merely sitting there is not a reason to refuse.
 */
export function terraformWorkingIn(output: string): string | undefined {
  for (const stack of stackDirs(output)) {
    const lock = path.join(output, "stacks", stack, ".terraform.tfstate.lock.info");
    if (lstat(lock) !== undefined) return `Terraform holds a state lock in it (${lock}): a plan or apply is running`;
  }
  let pids: string[];
  try {
    pids = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined; // not Linux: the lock file check above is what there is
  }
  const inside = (dir: string) => dir === output || dir.startsWith(`${output}${path.sep}`);
  for (const pid of pids) {
    try {
      const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      if (!inside(cwd)) continue;
      const name = fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      if (/^(terraform|tofu|terraform-provi)/.test(name)) return `${name} (process ${pid}) is running in ${cwd}`;
    } catch {
      // The process ended, or is not ours to look at.
    }
  }
  return undefined;
}
