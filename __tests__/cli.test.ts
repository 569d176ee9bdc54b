/**
 * The app as users run it (`node dist/main.js`, what `npm start` and `cdktf synth` run): secrets
 * never reach the JSON, the output is byte-identical anywhere, bad input writes nothing.
 * `npm test` compiles dist/ with tsc before jest runs.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_CONFIG_YAML } from "../lib/config";
import { DOCKERHUB_CONFIG } from "./helpers";

const repo = path.resolve(__dirname, "..");
const main = path.join(repo, "dist", "main.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-cli-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(env: Record<string, string>, cwd = repo) {
  return spawnSync(process.execPath, [main], { cwd, env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
}
function readTree(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(fs.readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return out.join("\n");
}


beforeAll(() => {
  expect(fs.existsSync(main)).toBe(true);
});

describe("secrets never reach cdktf.out", () => {
  const CANARIES = {
    GITHUB_TOKEN: "canary-ghp-7f3a9c1e",
    GIT_TOKEN: "canary-git-52b8d0",
    TF_VAR_github_token: "canary-tfvar-gh-91c4e2",
    TF_VAR_dockerhub_username: "canary-dh-user-4e7a",
    TF_VAR_dockerhub_password: "canary-dh-pass-b31f",
    REGISTRY_DOCKERHUB_PASSWORD: "canary-dh-env-6d2c",
    ARM_CLIENT_SECRET: "canary-arm-secret-0a9e",
    ARM_SUBSCRIPTION_ID: "00000000-dead-beef-0000-000000000001",
  };

  test.each([
    ["default config", undefined],
    ["Docker Hub config", DOCKERHUB_CONFIG],
  ])("%s", (_name, config) => {
    const out = path.join(tmp, `canary-${config ? "dockerhub" : "default"}`);
    const env: Record<string, string> = { ...CANARIES, CDKTF_OUTDIR: out };
    if (config) {
      fs.writeFileSync(path.join(tmp, "dockerhub.yaml"), config);
      env.ACR_GATE_CONFIG = path.join(tmp, "dockerhub.yaml");
    }
    const r = run(env);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const text = readTree(out);
    expect(text).toContain('"sensitive": true'); // the secrets are variables...
    for (const value of Object.values(CANARIES)) expect(text).not.toContain(value); // ...never values
    if (config) {
      const tf = JSON.parse(fs.readFileSync(path.join(out, "stacks/acr-gate/cdk.tf.json"), "utf8"));
      expect(tf.variable.dockerhub_password).toEqual(expect.objectContaining({ sensitive: true }));
      expect(tf.resource.azurerm_key_vault_secret.secret_registry_dockerhub_password.value).toBe("${var.dockerhub_password}");
    }
  });
});

describe("synthesis is deterministic and carries no path of the synthesizing machine", () => {
  test("two working directories, two output directories, byte-identical JSON", () => {
    const a = path.join(tmp, "det-a");
    const b = path.join(tmp, "elsewhere", "det-b");
    fs.mkdirSync(path.dirname(b), { recursive: true });
    expect(run({ CDKTF_OUTDIR: a }, repo).status).toBe(0);
    expect(run({ CDKTF_OUTDIR: b }, os.tmpdir()).status).toBe(0);
    const ja = fs.readFileSync(path.join(a, "stacks/acr-gate/cdk.tf.json"), "utf8");
    const jb = fs.readFileSync(path.join(b, "stacks/acr-gate/cdk.tf.json"), "utf8");
    expect(ja).toBe(jb);
    expect(fs.readFileSync(path.join(a, "workflow.md"), "utf8")).toBe(fs.readFileSync(path.join(b, "workflow.md"), "utf8"));
    for (const p of [repo, tmp, os.homedir(), os.tmpdir()]) expect(ja).not.toContain(p);
    // State beside cdktf.out (it survives the next synth), by a relative path: no machine path.
    expect(JSON.parse(ja).terraform.backend).toEqual({ local: { path: "../../../acr-gate.tfstate" } });
  });
});

describe("bad input fails before any file is written", () => {
  test("a bad config exits 1 with one line per problem, no stack trace, and leaves the outdir alone", () => {
    const out = path.join(tmp, "bad-out");
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, "previous.txt"), "from an earlier synth");
    const cfg = path.join(tmp, "bad.yaml");
    fs.writeFileSync(cfg, "keyVault:\n  name: 1vault\nbaseArtifactsRegistry:\n  name: base-artifacts\n");
    const r = run({ ACR_GATE_CONFIG: cfg, CDKTF_OUTDIR: out });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`acr-gate: ${cfg}: `);
    expect(r.stderr).toContain('keyVault.name: "1vault" is not a valid key vault name');
    expect(r.stderr).toContain('baseArtifactsRegistry.name: "base-artifacts" is not a valid container registry name');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(fs.readdirSync(out)).toEqual(["previous.txt"]);
    expect(fs.readdirSync(tmp).filter((f) => f.includes("staging"))).toEqual([]);
  });

  test("a missing config file is named", () => {
    const out = path.join(tmp, "missing-out");
    const r = run({ ACR_GATE_CONFIG: path.join(tmp, "nope.yaml"), CDKTF_OUTDIR: out });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ACR_GATE_CONFIG: cannot read ".*nope\.yaml"/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe("long error output reaches a pipe whole", () => {
  test("over 64 KiB of problems: every line arrives, then exit 1", () => {
    const cfg = path.join(tmp, "many-problems.yaml");
    // 2,000 empty apps: four problems each, well over the 64 KiB a pipe buffers.
    fs.writeFileSync(cfg, DEFAULT_CONFIG_YAML.replace(/apps:[\s\S]*$/, `apps:\n${"  - {}\n".repeat(2000)}`));
    // A reader that starts late, like a pager or a CI log collector: the pipe fills while acr-gate
    // is still writing. (spawnSync's own pipe is drained at once and would hide the problem.)
    const r = spawnSync("sh", ["-c", `"${process.execPath}" "${main}" 2>&1 >/dev/null | (sleep 1; cat)`], {
      cwd: repo,
      env: { PATH: process.env.PATH ?? "", ACR_GATE_CONFIG: cfg, CDKTF_OUTDIR: path.join(tmp, "many-out") },
      encoding: "utf8",
    });
    const err = r.stdout;
    expect(Buffer.byteLength(err)).toBeGreaterThan(64 * 1024);
    expect(err).toContain("8000 problem(s)");
    expect(err.trimEnd().split("\n").pop()).toBe("  - apps[1999].baseImage: is required (it is missing)");
    expect(run({ ACR_GATE_CONFIG: cfg, CDKTF_OUTDIR: path.join(tmp, "many-out") }).status).toBe(1);
  });
});

describe("the acr-gate command: flags, and what it says it made", () => {
  const cli = (args: string[], env: Record<string, string> = {}, cwd = repo) =>
    spawnSync(process.execPath, [main, ...args], { cwd, env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });

  test("--help prints the usage and exits 0, writing nothing", () => {
    const out = path.join(tmp, "help-out");
    const r = cli(["--help"], { CDKTF_OUTDIR: out });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: acr-gate \[--config <file>\] \[--out <dir>\] \[--check \| --migration-script \| --group-import-script\] \[--help\]/);
    // Every option the parser takes is in the synopsis and explained below it.
    const synopsis = r.stdout.split("\n")[0];
    for (const flag of fs.readFileSync(path.join(__dirname, "..", "app", "cli.ts"), "utf8").match(/flag === "(--[a-z-]+)"/g)!.map((m) => m.slice(10, -1))) {
      expect(synopsis).toContain(flag);
      expect(r.stdout).toMatch(new RegExp(`^  ${flag}\\b`, "m"));
    }
    expect(fs.existsSync(out)).toBe(false);
  });

  test.each([
    [["--bogus"], 'unknown option "--bogus"'],
    [["extra"], 'unknown argument "extra"'],
    [["--config"], "--config needs a value"],
    [["--out", "--check"], "--out needs a value"],
    [["--check=yes"], 'unknown option "--check=yes"'],
  ])("%j is bad usage: exit 2 with the usage, nothing written", (args, message) => {
    const out = path.join(tmp, "usage-out");
    const r = cli(args, { CDKTF_OUTDIR: out });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`acr-gate: ${message}`);
    expect(r.stderr).toContain("Usage: acr-gate");
    expect(r.stdout).toBe("");
    expect(fs.existsSync(out)).toBe(false);
  });

  test("a misspelled ACR_GATE_* variable is refused, not read as 'no config'", () => {
    const r = cli([], { ACR_GATE_CONF: "my.yaml", CDKTF_OUTDIR: path.join(tmp, "typo-out") });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown environment variable ACR_GATE_CONF (did you mean ACR_GATE_CONFIG?)");
    expect(fs.existsSync(path.join(tmp, "typo-out"))).toBe(false);
  });

  test("--check validates and synthesizes in memory, policy included, and writes nothing", () => {
    const project = fs.mkdtempSync(path.join(tmp, "check-"));
    const r = cli(["--check"], {}, project);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("acr-gate: the walkthrough's default config is valid; nothing written (--check)");
    expect(r.stdout).toMatch(/stack acr-gate: \d+ resources \(/);
    expect(fs.readdirSync(project)).toEqual([]);
    // A config the access policy or the schema refuses fails the check the same way as a synth.
    const bad = path.join(tmp, "check-bad.yaml");
    fs.writeFileSync(bad, "location: nowhere\n");
    const b = cli(["--check", "--config", bad], {}, project);
    expect(b.status).toBe(1);
    expect(b.stderr).toContain('location: "nowhere" is not a valid Azure location');
    expect(fs.readdirSync(project)).toEqual([]);
  });

  test("with neither --config nor ACR_GATE_CONFIG (as under cdktf synth), the first line says the default config was read and why", () => {
    const out = path.join(tmp, "default-out");
    const r = cli([`--out=${out}`], {});
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("acr-gate: read the walkthrough's default config (neither --config nor ACR_GATE_CONFIG is set)");
  });

  test("--config and --out win over ACR_GATE_CONFIG and CDKTF_OUTDIR; the summary names config, stack, durable content and variables", () => {
    const cfg = path.join(tmp, "flag.yaml");
    fs.writeFileSync(cfg, DOCKERHUB_CONFIG);
    const envOut = path.join(tmp, "env-out");
    const flagOut = path.join(tmp, "flag-out");
    const r = cli(["--config", cfg, `--out=${flagOut}`], { ACR_GATE_CONFIG: path.join(tmp, "nope.yaml"), CDKTF_OUTDIR: envOut });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(fs.existsSync(envOut)).toBe(false);
    expect(fs.existsSync(path.join(flagOut, "stacks", "acr-gate", "cdk.tf.json"))).toBe(true);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`acr-gate: read ${cfg}`);
    expect(lines[1]).toBe(`acr-gate: synthesized into ${flagOut} (workflow.md: the diagram of what was synthesized)`);
    expect(lines[2]).toMatch(/^  stack acr-gate: \d+ resources \(.*\d+ container_registry,/);
    expect(lines[3]).toBe(
      "    durable, never replaced by a config change: 2 container_registry (contoso, contosobaseartifacts), 2 container_registry_scope_map, 2 container_registry_token, 1 key_vault (acr-task-credentials), 7 key_vault_secret, 3 management_lock, 3 resource_group",
    );
    expect(lines[4]).toBe(
      "    variables: deployers (required), dockerhub_password (required, sensitive), dockerhub_username (required, sensitive), github_token (required, sensitive), subscription_id (optional) (pass secrets as TF_VAR_<name> in the environment)",
    );
    expect(lines[5]).toBe("    state: local, ../../../acr-gate.tfstate");
    expect(lines).toHaveLength(7);
  });
});
