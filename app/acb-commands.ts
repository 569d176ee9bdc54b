/**
 * `npm run check-tasks` (app/acb-check.ts): reading the command lines acb prints. acb starts
 * each step as `docker run [options] IMAGE ARGS...`, cmd and build steps through the host's
 * `/bin/sh -c`; these split such a line as the shell would, read its `docker run` options, and the
 * options of the program inside (`docker build`, `trivy`, `az`).
 */
import * as path from "path";

/** Splits a /bin/sh -c command line into words as the host shell would (no expansions). */
export function shellWords(s: string): { words: string[]; meta: string[] } {
  const words: string[] = [];
  let cur = "";
  let started = false;
  const meta: string[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "'") {
      const j = s.indexOf("'", i + 1);
      if (j < 0) throw new Error("unterminated single quote");
      cur += s.slice(i + 1, j);
      started = true;
      i = j;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === "\\" && s[j + 1] !== undefined && '$`"\\\n'.includes(s[j + 1])) cur += s[++j];
        else {
          if (s[j] === "$" || s[j] === "`") meta.push(s[j]);
          cur += s[j];
        }
      }
      if (j >= s.length) throw new Error("unterminated double quote");
      started = true;
      i = j;
    } else if (c === "\\") {
      cur += s[++i] || "";
      started = true;
    } else if (/\s/.test(c)) {
      if (started) words.push(cur);
      cur = "";
      started = false;
    } else {
      if ("$`;|&<>()".includes(c)) meta.push(c);
      cur += c;
      started = true;
    }
  }
  if (started) words.push(cur);
  return { words, meta };
}

export interface Volume {
  /** "" for acb's workspace mount (its source is the run's context directory in a dry run). */
  src: string;
  dst: string;
}

/** A step's `docker run`, and what the step's program is given. */
export interface DockerRun {
  name?: string;
  volumes: Volume[];
  env: string[];
  workdir?: string;
  entrypoint?: string;
  image: string | undefined;
  args: string[];
  /** The line acb printed. */
  raw?: string;
  /** Script steps (lib/run-scripts.ts): the script run with `-c`. */
  script?: string;
  /** Script steps: their --env values by name (empty for other steps). */
  envMap: Record<string, string>;
  /** Script steps: what the script pushes (`docker push "$X"`, X from its environment). */
  pushes: string[];
  /** A step that runs one command unless unchanged: the marker file it skips on... */
  skipsOn?: string;
  /** ...and the program of that command (its arguments are `args`). */
  execs?: string;
}

const RUN_BOOL_FLAGS = new Set(["--rm", "--detach", "-d", "--privileged", "--init", "-i", "-t", "--interactive", "--tty"]);

/** `docker run [opts] IMAGE ARGS...` -> {name, volumes, workdir, entrypoint, image, args}. */
export function parseDockerRun(words: string[]): DockerRun | undefined {
  if (words[0] !== "docker" || words[1] !== "run") return undefined;
  const r: DockerRun = { volumes: [], env: [], image: undefined, args: [], envMap: {}, pushes: [] };
  let i = 2;
  for (; i < words.length; i++) {
    const w = words[i];
    if (!w.startsWith("-")) break;
    if (RUN_BOOL_FLAGS.has(w)) continue;
    let flag = w;
    let value: string;
    if (w.includes("=")) [flag, value] = [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)];
    else value = words[++i];
    if (flag === "--volume" || flag === "-v") {
      const k = value.indexOf(":");
      // "SRC:DST[:opts]"; acb's workspace mount is ":/workspace" in a dry run (its source is the run's context dir).
      const [dst] = value.slice(k + 1).split(":");
      r.volumes.push({ src: value.slice(0, k), dst: path.posix.normalize(dst) });
    } else if (flag === "--name") r.name = value;
    else if (flag === "--workdir" || flag === "-w") r.workdir = value;
    else if (flag === "--entrypoint") r.entrypoint = value;
    else if (flag === "--env" || flag === "-e") r.env.push(value);
  }
  r.image = words[i];
  r.args = words.slice(i + 1);
  return r;
}

/** Values of an option in an argument list: `--x v`, `--x=v` (every occurrence). */
export function opt(args: readonly string[], ...names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    for (const n of names) {
      if (args[i] === n && i + 1 < args.length) out.push(args[i + 1]);
      else if (args[i].startsWith(n + "=")) out.push(args[i].slice(n.length + 1));
    }
  }
  return out;
}

/** `az ... --flag v1 v2 --other ...`: every value up to the next `--flag` (az takes lists that way). */
export function azOptions(args: readonly string[]): Map<string, string[]> {
  const o = new Map<string, string[]>();
  let cur: string | undefined;
  for (const a of args) {
    if (/^--[a-z]/.test(a)) {
      cur = a;
      if (!o.has(cur)) o.set(cur, []);
    } else if (cur) o.get(cur)!.push(a);
  }
  return o;
}

const BUILD_BOOL_FLAGS = new Set(["--pull", "--no-cache", "--rm", "--force-rm", "-q", "--quiet", "--squash", "--compress"]);
/** The positional context of `docker build` args. */
export function buildContext(args: readonly string[]): string | undefined {
  const pos: string[] = [];
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith("-") && a !== "-") {
      if (!BUILD_BOOL_FLAGS.has(a) && !a.includes("=")) i++;
    } else pos.push(a);
  }
  return pos[pos.length - 1];
}

/** An absolute container path as (volume source, path inside the volume), or undefined if on no volume. */
export function onVolume(run: DockerRun, p: string): (Volume & { rel: string }) | undefined {
  let best: Volume | undefined;
  for (const v of run.volumes) {
    if (p === v.dst || p.startsWith(v.dst.endsWith("/") ? v.dst : v.dst + "/")) {
      if (!best || v.dst.length > best.dst.length) best = v;
    }
  }
  return best ? { src: best.src, dst: best.dst, rel: path.posix.relative(best.dst, p) } : undefined;
}

export const volName = (v: Volume): string => (v.src === "" ? `the run's workspace (${v.dst})` : `volume ${v.src} (${v.dst})`);

/** `name:tag@sha256:<64 hex>`: the tag says what it is, the digest what it is exactly. */
export function pinned(image: string | undefined): boolean {
  const [name, digest, extra] = String(image).split("@");
  const colon = name.lastIndexOf(":");
  const tag = colon > name.lastIndexOf("/") ? name.slice(colon + 1) : "";
  return extra === undefined && /^sha256:[0-9a-f]{64}$/.test(digest || "") && /^[\w][\w.-]{0,127}$/.test(tag);
}

export const within = (rel: string, dir: string): boolean => dir === "" || rel === dir || rel.startsWith(dir + "/");

/** A container path made absolute against the step's working directory, or undefined without one. */
export function absPath(run: DockerRun, p: string): string | undefined {
  if (path.posix.isAbsolute(p)) return path.posix.normalize(p);
  return run.workdir ? path.posix.resolve(run.workdir, p) : undefined;
}

/** Files a script writes (`> FILE`). */
export const writes = (script: string): string[] => [...script.matchAll(/> (\/acb\/home\/[\w./-]+)/g)].map((m) => m[1]);
/** Files a script reads (`-s FILE`, `cat FILE`). */
export const reads = (script: string): string[] => [...script.matchAll(/(?:-s|cat) (\/acb\/home\/[\w./-]+)/g)].map((m) => m[1]);
