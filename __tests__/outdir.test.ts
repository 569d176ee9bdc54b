/**
 * The output directory (issues 9 and 10): a synth replaces only what acr-gate wrote, refuses the
 * rest before touching anything, swaps atomically, and carries Terraform's working state over.
 * Everything runs in throwaway directories; `/` and the real project are only ever handed to
 * checkReplaceable, which reads and never writes.
 */
import { spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import {
  checkReplaceable,
  findProjectRoot,
  MARKER,
  MARKER_TEXT,
  OutdirError,
  replaceOutput,
  resolveOutdir,
  terraformWorkingIn,
} from "../app/outdir";
import { synthesize } from "../app/synth";

const repo = path.resolve(__dirname, "..");
const main = path.join(repo, "dist", "main.js");
const config = parseConfig(DEFAULT_CONFIG_YAML);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-outdir-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A fresh directory per test, so no test sees another's files. */
function world(): string {
  const dir = path.join(tmp, `w${n++}`);
  fs.mkdirSync(dir);
  return dir;
}

/** Every entry under `dir` (not following links) with its kind and content hash. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const rel = path.relative(dir, p);
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) out[rel] = `link ${fs.readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[rel] = "dir";
        walk(p);
      } else out[rel] = `file ${createHash("sha256").update(fs.readFileSync(p)).digest("hex")}`;
    }
  };
  walk(dir);
  return out;
}

function write(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** What `terraform init` and `apply` leave in a stack directory. */
function terraformInit(stackDir: string): void {
  write(path.join(stackDir, ".terraform.lock.hcl"), 'provider "registry.terraform.io/hashicorp/azurerm" {}\n');
  write(path.join(stackDir, ".terraform", "providers", "azurerm", "terraform-provider-azurerm"), "binary");
  write(path.join(stackDir, ".terraform", "terraform.tfstate"), '{"backend":{"type":"local"}}');
  write(path.join(stackDir, "terraform.tfstate"), '{"resources":["deployed"]}');
}

describe("resolveOutdir", () => {
  test("unset means cdktf.out; a name is kept as given", () => {
    expect(resolveOutdir(undefined)).toBe("cdktf.out");
    expect(resolveOutdir("out dir")).toBe("out dir");
  });
  test.each(["", "   ", "\t"])("set but blank (%j) is an error, not the default", (value) => {
    expect(() => resolveOutdir(value)).toThrow(OutdirError);
    expect(() => resolveOutdir(value)).toThrow("CDKTF_OUTDIR is set but empty: unset it for the default cdktf.out");
  });
});

describe("the CLI refuses an outdir it may not replace, and touches nothing", () => {
  beforeAll(() => {
    expect(fs.existsSync(main)).toBe(true);
  });

  /** A throwaway world: a project (package.json, .git, a source) as cwd, and a home. */
  function setup() {
    const root = world();
    const project = path.join(root, "project");
    write(path.join(project, "package.json"), '{"name":"someone-else"}\n');
    write(path.join(project, ".git", "HEAD"), "ref: refs/heads/main\n");
    write(path.join(project, "src", "index.ts"), "export const x = 1;\n");
    const home = path.join(root, "home");
    // Marked, so only the home rule stands between it and a synth.
    write(path.join(home, MARKER), MARKER_TEXT);
    write(path.join(home, ".bashrc"), "export PS1='$ '\n");
    return { root, project, home };
  }

  type Case = [string, (w: ReturnType<typeof setup>) => { outdir: string; shown: string; home?: string }, RegExp];
  const cases: Case[] = [
    [".", (w) => ({ outdir: ".", shown: w.project }), /it is the current directory/],
    ["'' (set but empty)", () => ({ outdir: "", shown: "CDKTF_OUTDIR" }), /CDKTF_OUTDIR is set but empty/],
    ["..", (w) => ({ outdir: "..", shown: w.root }), /it contains the current directory/],
    ["the cwd's absolute path", (w) => ({ outdir: w.project, shown: w.project }), /it is the current directory/],
    [
      "a regular file",
      (w) => ({ outdir: write(path.join(w.root, "notes.txt"), "mine\n"), shown: path.join(w.root, "notes.txt") }),
      /it exists and is not a directory but a regular file/,
    ],
    [
      "a non-empty directory without the marker",
      (w) => {
        write(path.join(w.root, "data", "keep.csv"), "a,b\n");
        return { outdir: path.join(w.root, "data"), shown: path.join(w.root, "data") };
      },
      /it is not empty and acr-gate did not write it \(no \.acr-gate-output in it\)/,
    ],
    [
      "a directory holding .git (even with the marker)",
      (w) => {
        write(path.join(w.root, "repo", ".git", "HEAD"), "ref: refs/heads/main\n");
        write(path.join(w.root, "repo", MARKER), MARKER_TEXT);
        return { outdir: path.join(w.root, "repo"), shown: path.join(w.root, "repo") };
      },
      /it holds \.git \(a repository\)/,
    ],
    ["HOME", (w) => ({ outdir: w.home, shown: w.home, home: w.home }), /it is your home directory/],
    [
      "a symbolic link to an output acr-gate wrote",
      (w) => {
        write(path.join(w.root, "real-out", MARKER), MARKER_TEXT);
        fs.symlinkSync(path.join(w.root, "real-out"), path.join(w.root, "link-out"));
        return { outdir: path.join(w.root, "link-out"), shown: path.join(w.root, "link-out") };
      },
      /it is a symbolic link \(acr-gate does not follow links\)/,
    ],
  ];

  test.each(cases)("CDKTF_OUTDIR=%s", (_name, arrange, rule) => {
    const w = setup();
    const { outdir, shown, home } = arrange(w);
    const before = tree(w.root);
    const r = spawnSync(process.execPath, [main], {
      cwd: w.project,
      // HOME is always a throwaway: the real one is never a candidate.
      env: { PATH: process.env.PATH ?? "", HOME: home ?? path.join(w.root, "home"), CDKTF_OUTDIR: outdir },
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^acr-gate: [^\n]+\n$/); // one line
    expect(r.stderr).toContain(shown);
    expect(r.stderr).toMatch(rule);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(tree(w.root)).toEqual(before);
  });
});

describe("checkReplaceable alone guards / and the real project", () => {
  // Only this function, which never writes, is pointed at these: never the CLI nor synthesize.
  const ctx = () => ({ cwd: world(), home: world(), projectRoot: findProjectRoot(path.join(repo, "dist", "lib")) });

  test("the project root is found from lib/ and from dist/lib/", () => {
    expect(findProjectRoot(path.join(repo, "lib"))).toBe(repo);
    expect(findProjectRoot(path.join(repo, "dist", "lib"))).toBe(repo);
  });
  test("/ is a filesystem root", () => {
    expect(() => checkReplaceable("/", ctx())).toThrow(/will not replace output directory "\/": it is a filesystem root/);
  });
  test("the real project root", () => {
    expect(() => checkReplaceable(repo, ctx())).toThrow(`"${repo}": it is the acr-gate project itself`);
  });
  test("an ancestor of the project root", () => {
    const up = path.dirname(repo);
    // The current directory outside it: with the checkout directly in /tmp, `up` is /tmp, which
    // also holds this test's own directories, and that refusal would come first.
    expect(() => checkReplaceable(up, { ...ctx(), cwd: path.parse(up).root })).toThrow(`"${up}": it contains the acr-gate project`);
  });
  test("an ancestor of home", () => {
    const c = ctx();
    const home = path.join(c.home, "me");
    fs.mkdirSync(home);
    expect(() => checkReplaceable(c.home, { ...c, home })).toThrow(`"${c.home}": it contains your home directory`);
  });
  test("home reached through a linked parent is still home", () => {
    const c = ctx();
    const alias = path.join(world(), "alias");
    fs.symlinkSync(path.dirname(c.home), alias);
    const spelled = path.join(alias, path.basename(c.home));
    expect(() => checkReplaceable(spelled, c)).toThrow(`"${spelled}": it is your home directory (${c.home})`);
  });
  test("a new directory under a file cannot be created", () => {
    const c = ctx();
    const file = write(path.join(c.cwd, "f.txt"), "x");
    expect(() => checkReplaceable("f.txt/out", c)).toThrow(`it cannot be created: "${file}" is not a directory`);
  });
  test("an unmarked output of an older acr-gate is refused, with how to let acr-gate take it over", () => {
    const c = ctx();
    write(path.join(c.cwd, "cdktf.out", "manifest.json"), "{}");
    write(path.join(c.cwd, "cdktf.out", "stacks", "acr-gate", "terraform.tfstate"), "{}");
    expect(() => checkReplaceable("cdktf.out", c)).toThrow(`then create an empty ${MARKER} in it`);
  });
  test("a missing, an empty and a marked directory may be replaced", () => {
    const c = ctx();
    fs.mkdirSync(path.join(c.cwd, "empty"));
    write(path.join(c.cwd, "marked", MARKER), MARKER_TEXT);
    write(path.join(c.cwd, "marked", "manifest.json"), "{}");
    for (const t of ["missing", "missing/deeper", "empty", "marked"]) expect(() => checkReplaceable(t, c)).not.toThrow();
  });
});

describe("a synth replaces an output acr-gate wrote, whole or not at all", () => {
  const siblings = (out: string) => fs.readdirSync(path.dirname(out)).sort();

  test("a missing directory (and its parents) is created, with the marker", () => {
    const out = path.join(world(), "a", "b", "out");
    expect(synthesize(config, out)).toBe(out);
    expect(fs.readFileSync(path.join(out, MARKER), "utf8")).toBe(MARKER_TEXT);
    expect(fs.existsSync(path.join(out, "stacks", "acr-gate", "cdk.tf.json"))).toBe(true);
    expect(siblings(out)).toEqual(["out"]);
  });

  test("a marked output is replaced: what the old one had and the new one has not is gone", () => {
    const out = path.join(world(), "out");
    synthesize(config, out);
    write(path.join(out, "stale.txt"), "from an earlier synth");
    const json = path.join(out, "stacks", "acr-gate", "cdk.tf.json");
    const fresh = fs.readFileSync(json, "utf8");
    fs.writeFileSync(json, "{}");
    synthesize(config, out);
    expect(fs.existsSync(path.join(out, "stale.txt"))).toBe(false);
    expect(fs.readFileSync(json, "utf8")).toBe(fresh);
    expect(fs.existsSync(path.join(out, MARKER))).toBe(true);
    expect(siblings(out)).toEqual(["out"]);
  });

  test("a synth failing mid-way leaves the old output byte for byte and nothing beside it", () => {
    const out = path.join(world(), "out");
    synthesize(config, out);
    terraformInit(path.join(out, "stacks", "acr-gate"));
    const before = tree(out);
    expect(() =>
      synthesize(config, out, () => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(tree(out)).toEqual(before);
    expect(siblings(out)).toEqual(["out"]);
  });

  test("a failed synth into a new path leaves no directory it created", () => {
    const w = world();
    expect(() =>
      synthesize(config, path.join(w, "new", "deeper", "out"), () => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(fs.readdirSync(w)).toEqual([]);
  });
});

describe("replaceOutput failing at any step leaves the old output or the new one, never neither", () => {
  /** A marked old output with Terraform state, and a finished staging sibling. */
  function arrange() {
    const w = world();
    const target = path.join(w, "out");
    const staging = path.join(w, "out.staging-test");
    write(path.join(target, MARKER), MARKER_TEXT);
    write(path.join(target, "stacks", "s", "cdk.tf.json"), '{"old":true}');
    terraformInit(path.join(target, "stacks", "s"));
    write(path.join(staging, MARKER), MARKER_TEXT);
    write(path.join(staging, "stacks", "s", "cdk.tf.json"), '{"new":true}');
    const old = tree(target);
    const asides = () => fs.readdirSync(w).filter((f) => f.startsWith("out.old-"));
    return { w, target, staging, old, asides };
  }
  /** fs.renameSync, except that the `failAt`-th call (and `alsoAt`) throws without renaming. */
  function renameFailingAt(failAt: number, alsoAt = -1) {
    let calls = 0;
    return (from: string, to: string) => {
      calls++;
      if (calls === failAt || calls === alsoAt) throw new Error(`injected rename failure #${calls}`);
      fs.renameSync(from, to);
    };
  }
  const isNew = (target: string) => fs.readFileSync(path.join(target, "stacks", "s", "cdk.tf.json"), "utf8") === '{"new":true}';

  test("copying the lock file fails: old output intact, nothing moved aside", () => {
    const a = arrange();
    const copyFile = () => {
      throw new Error("injected copy failure");
    };
    expect(() => replaceOutput(a.staging, a.target, { copyFile })).toThrow("injected copy failure");
    expect(tree(a.target)).toEqual(a.old);
    expect(a.asides()).toEqual([]);
  });

  test("renaming the old output aside fails: old output intact", () => {
    const a = arrange();
    expect(() => replaceOutput(a.staging, a.target, { rename: renameFailingAt(1) })).toThrow("injected rename failure #1");
    expect(tree(a.target)).toEqual(a.old);
    expect(a.asides()).toEqual([]);
  });

  test("renaming the new output in fails: the old one is renamed back, intact", () => {
    const a = arrange();
    expect(() => replaceOutput(a.staging, a.target, { rename: renameFailingAt(2) })).toThrow("injected rename failure #2");
    expect(tree(a.target)).toEqual(a.old);
    expect(a.asides()).toEqual([]);
  });

  test("renaming in and renaming back both fail: the message says where the intact old output is", () => {
    const a = arrange();
    let error: Error | undefined;
    try {
      replaceOutput(a.staging, a.target, { rename: renameFailingAt(2, 3) });
    } catch (e) {
      error = e as Error;
    }
    expect(a.asides()).toHaveLength(1);
    const aside = path.join(a.w, a.asides()[0]);
    expect(error).toBeInstanceOf(OutdirError);
    expect(error?.message).toContain(`the previous output is intact at "${aside}"`);
    expect(tree(aside)).toEqual(a.old);
  });

  test("moving .terraform/ over fails: new output in place, old output kept whole aside", () => {
    const a = arrange();
    expect(() => replaceOutput(a.staging, a.target, { rename: renameFailingAt(3) })).toThrow(OutdirError);
    expect(isNew(a.target)).toBe(true);
    expect(a.asides()).toHaveLength(1);
    expect(tree(path.join(a.w, a.asides()[0]))).toEqual(a.old);
  });

  test("removing the old output fails: new output in place with the state carried, old one kept aside", () => {
    const a = arrange();
    const removeTree = () => {
      throw new Error("injected remove failure");
    };
    expect(() => replaceOutput(a.staging, a.target, { removeTree })).toThrow(/synthesized into .*but removing the previous output failed/);
    expect(isNew(a.target)).toBe(true);
    expect(fs.existsSync(path.join(a.target, "stacks", "s", ".terraform", "terraform.tfstate"))).toBe(true);
    expect(a.asides()).toHaveLength(1);
  });

  test("no failure: new output in place, nothing left beside it", () => {
    const a = arrange();
    replaceOutput(a.staging, a.target);
    expect(isNew(a.target)).toBe(true);
    expect(fs.readdirSync(a.w)).toEqual(["out"]);
  });

  test("an unmarked, non-empty directory is refused even without checkReplaceable", () => {
    const a = arrange();
    fs.rmSync(path.join(a.target, MARKER));
    const old = tree(a.target);
    expect(() => replaceOutput(a.staging, a.target)).toThrow(`no ${MARKER} in it`);
    expect(tree(a.target)).toEqual(old);
  });
});

describe("Terraform's working state survives a re-synth", () => {
  test("lock file, .terraform/ (moved, not copied) and local state carry over across two synths", () => {
    const out = path.join(world(), "out");
    const stackDir = path.join(out, "stacks", "acr-gate");
    synthesize(config, out);
    terraformInit(stackDir);
    const names = [".terraform.lock.hcl", ".terraform", "terraform.tfstate"];
    const state = () => Object.fromEntries(Object.entries(tree(stackDir)).filter(([k]) => names.some((s) => k.startsWith(s))));
    const before = state();
    expect(Object.keys(before)).toHaveLength(7); // lock, state, .terraform and its 4 entries
    const inode = fs.statSync(path.join(stackDir, ".terraform")).ino;
    for (let i = 0; i < 2; i++) {
      synthesize(config, out);
      expect(state()).toEqual(before);
      expect(fs.statSync(path.join(stackDir, ".terraform")).ino).toBe(inode);
      expect(fs.existsSync(path.join(stackDir, "cdk.tf.json"))).toBe(true);
    }
    expect(fs.readdirSync(path.dirname(out))).toEqual(["out"]);
  });

  test("state of a stack the new synth no longer has is not thrown away: the synth is refused", () => {
    const out = path.join(world(), "out");
    synthesize(config, out);
    terraformInit(path.join(out, "stacks", "acr-gate"));
    const before = tree(out);
    expect(() => synthesize({ ...config, stackName: "renamed" }, out)).toThrow(
      'holds Terraform state for stack "acr-gate" (stacks/acr-gate/terraform.tfstate)',
    );
    expect(tree(out)).toEqual(before);
    expect(fs.readdirSync(path.dirname(out))).toEqual(["out"]);
  });

  test("a removed stack's workspace states (terraform.tfstate.d/) refuse the synth too, with or without the cdktf CLI", () => {
    const out = path.join(world(), "out");
    synthesize(config, out);
    const ws = path.join(out, "stacks", "acr-gate", "terraform.tfstate.d", "dev");
    fs.mkdirSync(ws, { recursive: true });
    fs.writeFileSync(path.join(ws, "terraform.tfstate"), "{}");
    const before = tree(out);
    for (const cli of [undefined, "true"]) {
      const saved = process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS;
      if (cli === undefined) delete process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS;
      else process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS = cli;
      try {
        expect(() => synthesize({ ...config, stackName: "renamed" }, out)).toThrow('holds Terraform state for stack "acr-gate" (stacks/acr-gate/terraform.tfstate.d/)');
      } finally {
        if (saved === undefined) delete process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS;
        else process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS = saved;
      }
      expect(tree(out)).toEqual(before);
    }
  });

  test("under the cdktf CLI, a removed stack's .terraform/ is not moved into its placeholder", () => {
    const out = path.join(world(), "out");
    synthesize(config, out);
    fs.mkdirSync(path.join(out, "stacks", "acr-gate", ".terraform", "providers"), { recursive: true });
    process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS = "true";
    try {
      synthesize({ ...config, stackName: "renamed" }, out);
    } finally {
      delete process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS;
    }
    expect(fs.readdirSync(path.join(out, "stacks")).sort()).toEqual(["acr-gate", "renamed"]);
    // The placeholder is empty: the CLI removes it, and nothing of the old stack is inside.
    expect(fs.readdirSync(path.join(out, "stacks", "acr-gate"))).toEqual([]);
  });
});

describe("a running terraform keeps its working directory", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-busy-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const config = parseConfig(DEFAULT_CONFIG_YAML);

  test("a state lock in a stack directory refuses the synth and changes nothing", () => {
    const out = path.join(tmp, "locked");
    synthesize(config, out);
    const lock = path.join(out, "stacks", "acr-gate", ".terraform.tfstate.lock.info");
    fs.writeFileSync(lock, '{"ID":"x","Operation":"OperationTypeApply"}');
    expect(() => synthesize(config, out)).toThrow(/Terraform holds a state lock in it .*a plan or apply is running/);
    expect(fs.existsSync(lock)).toBe(true);
  });

  (process.platform === "linux" ? test : test.skip)("a terraform process working in a stack directory refuses the synth", () => {
    const out = path.join(tmp, "running");
    synthesize(config, out);
    // A stand-in named terraform (what /proc/<pid>/comm shows), sitting in the stack directory.
    const fake = path.join(tmp, "terraform");
    fs.copyFileSync("/bin/sleep", fake);
    fs.chmodSync(fake, 0o755);
    const child = spawn(fake, ["30"], { cwd: path.join(out, "stacks", "acr-gate"), stdio: "ignore" });
    try {
      const deadline = Date.now() + 5000;
      while (!terraformWorkingIn(out) && Date.now() < deadline) spawnSync("sleep", ["0.1"]);
      expect(() => synthesize(config, out)).toThrow(/terraform \(process \d+\) is running in .*stacks\/acr-gate/);
      expect(fs.existsSync(path.join(out, "stacks", "acr-gate", "cdk.tf.json"))).toBe(true);
    } finally {
      child.kill();
    }
  });
});

describe("under the cdktf CLI, a new stackName after an earlier synth (npx cdktf synth, deploy)", () => {
  // The CLI's own synth (@cdktf/cli-core, what `npx cdktf synth` and `deploy` run): it lists the
  // stack directories before running the app and removes those the new manifest lacks afterwards.
  const { SynthStack } = require("@cdktf/cli-core/src/lib/synth-stack") as {
    SynthStack: { synth(signal: AbortSignal, command: string, outdir: string, cwd: string, graceful: boolean, noColor: boolean, origin: string): Promise<{ name: string }[]> };
  };
  const main = path.join(__dirname, "..", "dist", "main.js");

  test("the second synth succeeds, and only the new stack is left", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-cli-"));
    const config = path.join(dir, "my.yaml");
    fs.writeFileSync(config, `${DEFAULT_CONFIG_YAML}\nstackName: my-gate\n`);
    // The app's environment goes on its command line: the CLI passes its own process's environment.
    const synth = (env: string) => SynthStack.synth(new AbortController().signal, `env -u ACR_GATE_CONFIG ${env} node ${main}`, path.join(dir, "cdktf.out"), dir, true, true, "cli");
    try {
      expect((await synth("CHECKPOINT_DISABLE=1")).map((s) => s.name)).toEqual(["acr-gate"]);
      expect((await synth(`CHECKPOINT_DISABLE=1 ACR_GATE_CONFIG=${config}`)).map((s) => s.name)).toEqual(["my-gate"]);
      expect(fs.readdirSync(path.join(dir, "cdktf.out", "stacks"))).toEqual(["my-gate"]);
      // And back: the placeholder of a removed stack is never mistaken for a stack.
      expect((await synth("CHECKPOINT_DISABLE=1")).map((s) => s.name)).toEqual(["acr-gate"]);
      expect(fs.readdirSync(path.join(dir, "cdktf.out", "stacks"))).toEqual(["acr-gate"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
