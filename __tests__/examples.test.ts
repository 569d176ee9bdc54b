/** Every config under examples/ parses and synthesizes, policy included (validate and scan use them too). */
import * as fs from "fs";
import * as path from "path";
import { parseConfig } from "../lib/config";
import { synthStacks } from "./helpers";

const dir = path.join(__dirname, "..", "examples");
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"));

test("there are examples", () => {
  expect(files.sort()).toEqual([
    "artifact-cache.yaml",
    "audit-logs.yaml",
    "dockerhub.yaml",
    "identity.yaml",
    "multi-team.yaml",
    "partial-backend.yaml",
    "private.yaml",
    "sandbox.yaml",
    "signing.yaml",
    "split.yaml",
    "upstreams.yaml",
  ]);
});

test.each(files)("%s synthesizes, every stack of its layout", (file) => {
  const config = parseConfig(fs.readFileSync(path.join(dir, file), "utf8"), file);
  const stacks = synthStacks(config);
  expect(stacks.length).toBe(config.layout === "split" ? 1 + config.teamRegistries.length : 1);
  const tasks = stacks.flatMap(({ tf }) => Object.values(tf.resource.azurerm_container_registry_task ?? {}).map((t: any) => t.name));
  expect(tasks).toEqual(expect.arrayContaining(config.apps.map((a) => a.taskName)));
  expect(tasks).toEqual(expect.arrayContaining(config.gatedImages.map((g) => g.taskName)));
});

/**
 * "Applies as written": what the sample repositories (importing-public-content) can do. Their test
 * Dockerfile and app Dockerfile are FROM node:15-alpine, which is end of life (an enforcing scan
 * would block it forever), and the app listens on port 80.
 */
describe.each(files)("%s applies as written", (file) => {
  const config = parseConfig(fs.readFileSync(path.join(dir, file), "utf8"), file);
  const SAMPLES = "https://github.com/importing-public-content/";
  test("gates: the sample test builds node:15-alpine, which only a reporting scan lets through", () => {
    for (const g of config.gatedImages) {
      const ref = `${g.source.repository}:${g.source.tag}`;
      if (g.test.enabled && g.test.context.startsWith(`${SAMPLES}import-baseimage-node.git`)) expect(ref).toBe("node:15-alpine");
      if (ref === "node:15-alpine") expect(g.scan.enabled && g.scan.mode === "enforce").toBe(false);
    }
  });
  test("apps: the sample app builds FROM node:15-alpine and serves port 80", () => {
    for (const a of config.apps) {
      if (!a.repository.startsWith(`${SAMPLES}hello-world.git`)) continue;
      expect(`${a.baseImage.repository}:${a.baseImage.tag}`).toBe("node:15-alpine");
      expect(a.aci.port).toBe(80);
    }
  });
  test("only repositories that exist: the samples, or ones the file says are yours", () => {
    const text = fs.readFileSync(path.join(dir, file), "utf8");
    // A placeholder for a repository of the user's own must be named as such in the file.
    const YOURS = "https://github.com/your-github-org/";
    for (const url of text.match(/https:\/\/github\.com\/[^\s"#]+/g) ?? []) {
      expect(url.startsWith(SAMPLES) || (url.startsWith(YOURS) && text.includes("replace your-github-org"))).toBe(true);
    }
  });
});

describe("the starter test context (examples/gate-test/), as a gate runs it", () => {
  const dir = path.join(__dirname, "..", "examples", "gate-test");
  const script = path.join(dir, "test.sh");
  const { spawnSync } = require("child_process") as typeof import("child_process");

  test("the Dockerfile builds FROM the SOURCE_IMAGE build argument the gate passes, and runs the test as its command", () => {
    const docker = fs.readFileSync(path.join(dir, "Dockerfile"), "utf8").split("\n").filter((l) => l.trim() && !l.startsWith("#"));
    // expect.env (optional, test.sh step 3) comes along where the context has one: a pattern copies what exists.
    expect(docker).toEqual(["ARG SOURCE_IMAGE", "FROM ${SOURCE_IMAGE}", "COPY test.sh expect.en[v] /acr-gate/", 'CMD ["/bin/sh", "/acr-gate/test.sh"]']);
    const sandbox = fs.readFileSync(path.join(__dirname, "..", "examples", "sandbox.yaml"), "utf8");
    expect(sandbox).toContain('test: { context: "https://github.com/your-github-org/acr-gate.git#main:examples/gate-test" }');
  });

  test("in an image with Node.js (this machine's node stands in), the test passes and says what it checked", () => {
    const r = spawnSync("sh", [script], { encoding: "utf8", env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` } });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^acr-gate test: ok: runs on Linux x86_64$/m);
    expect(r.stdout).toMatch(/^acr-gate test: ok: node v\d+/m);
    expect(r.stdout).toMatch(/^acr-gate test: ok: node serves HTTP$/m);
  });

  test("expect.env beside it: the image's environment must hold one of the allowed values (the lab's questionable upstream)", () => {
    const ctx = fs.mkdtempSync(path.join(require("os").tmpdir(), "acr-gate-starter-"));
    fs.copyFileSync(script, path.join(ctx, "test.sh"));
    fs.writeFileSync(path.join(ctx, "expect.env"), "# allowed\nBACKGROUND_COLOR=DeepSkyBlue|Green\n\nNODE_VERSION=15-alpine");
    const run = (env: Record<string, string>) =>
      spawnSync("sh", [path.join(ctx, "test.sh")], { encoding: "utf8", env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, NODE_VERSION: "15-alpine", ...env } });
    const green = run({ BACKGROUND_COLOR: "Green" });
    expect(green.status).toBe(0);
    expect(green.stdout).toMatch(/^acr-gate test: ok: BACKGROUND_COLOR=Green$/m);
    expect(green.stdout).toMatch(/^acr-gate test: ok: NODE_VERSION=15-alpine$/m);
    const orange = run({ BACKGROUND_COLOR: "Orange" });
    expect(orange.status).toBe(1);
    expect(orange.stderr).toMatch(/^acr-gate test: FAIL: BACKGROUND_COLOR is \[Orange\], allowed: DeepSkyBlue\|Green$/m);
    // Unset is not allowed either, and a part of an allowed value is not one.
    expect(run({}).status).toBe(1);
    expect(run({ BACKGROUND_COLOR: "Deep" }).status).toBe(1);
    fs.writeFileSync(path.join(ctx, "expect.env"), "BACKGROUND COLOR=x\n");
    expect(run({ BACKGROUND_COLOR: "x" }).stderr).toMatch(/expect.env: \[BACKGROUND COLOR=x\] is not NAME=value1\|value2/);
    fs.rmSync(ctx, { recursive: true, force: true });
  });

  test("an image with neither node nor python3 fails the test, and so the promotion", () => {
    const bin = fs.mkdtempSync(path.join(require("os").tmpdir(), "acr-gate-starter-"));
    for (const tool of ["uname", "grep", "cut", "tr", "cat", "getconf"]) fs.symlinkSync(`/usr/bin/${tool}`.replace(/^\/usr\/bin\/(uname|cat)$/, (m) => (fs.existsSync(m) ? m : m.replace("/usr", ""))), path.join(bin, tool));
    const r = spawnSync("/bin/sh", [script], { encoding: "utf8", env: { PATH: bin } });
    fs.rmSync(bin, { recursive: true, force: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^acr-gate test: FAIL: neither node nor python3 in the image/m);
  });
});

test("the GitHub token's scopes are said one way: in getting-started's two places and in the variable's description", () => {
  const guide = fs.readFileSync(path.join(__dirname, "..", "help", "getting-started.md"), "utf8");
  expect(guide).not.toMatch(/read access to the task repositories/);
  expect(guide).toMatch(/`repo` and `admin:repo_hook`\s+scopes/);
  expect(guide).toMatch(/TF_VAR_github_token=<the token of "Before you start": repo and admin:repo_hook/);
  const { tf } = require("./helpers").synth();
  expect(tf.variable.github_token.description).toMatch(/repo and admin:repo_hook, or fine-grained Contents read and Webhooks read and write/);
});
