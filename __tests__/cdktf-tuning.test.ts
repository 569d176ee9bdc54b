/**
 * app/cdktf-tuning.ts changes how cdktf runs (no per-token stack traces; no cross-stack scan of a
 * stack that references no other; plain values not sent through the token resolver). It must not change what cdktf writes: the same configs,
 * synthesized with `app.synth()` in fresh processes with and without it, give byte-identical files.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_CONFIG_YAML } from "../lib/config";
import { scaledConfigYaml } from "./helpers";

const repo = path.resolve(__dirname, "..");
const examples = fs.readdirSync(path.join(repo, "examples")).filter((f) => f.endsWith(".yaml"));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-tuning-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Synthesizes each config with app.synth() in a fresh node process (dist/), tuned or not; returns the files written. */
function synthAll(tuned: boolean, configs: string[]): Record<string, string>[] {
  const out = path.join(tmp, tuned ? "tuned" : "plain");
  const script = `
    const fs = require("fs"), path = require("path");
    const { App } = require("cdktf");
    const { parseConfig } = require("./dist/lib/config");
    const { AcrGateStack } = require("./dist/constructs/acr-gate-stack");
    const { PlatformStack } = require("./dist/constructs/platform-stack");
    const { TeamStack } = require("./dist/constructs/team-stack");
    const tuning = require("./dist/app/cdktf-tuning");
    const configs = JSON.parse(fs.readFileSync(0, "utf8"));
    configs.forEach((text, i) => {
      ${tuned ? "tuning.tuneCdktf();" : ""}
      const outdir = path.join(${JSON.stringify(out)}, String(i));
      fs.mkdirSync(outdir, { recursive: true });
      const app = new App({ outdir, stackTraces: false });
      const c = parseConfig(text);
      let stacks;
      if (c.layout === "split") {
        const platform = new PlatformStack(app, c.stackName, c);
        stacks = [platform, ...c.teamRegistries.map((t) => new TeamStack(app, c.stackName + "-" + t.name, c, t, platform))];
      } else stacks = [new AcrGateStack(app, c.stackName, c)];
      ${tuned ? "stacks.forEach((s) => tuning.skipCrossStackScan(s));" : ""}
      app.synth();
    });
  `;
  const r = spawnSync(process.execPath, ["-e", script], { cwd: repo, input: JSON.stringify(configs), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(r.stderr);
  return configs.map((_, i) => {
    const files: Record<string, string> = {};
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else files[path.relative(path.join(out, String(i)), p)] = fs.readFileSync(p, "utf8");
      }
    };
    walk(path.join(out, String(i)));
    return files;
  });
}

test("cdk.tf.json and the manifest are byte-identical with and without the tuning", () => {
  const configs = [
    DEFAULT_CONFIG_YAML,
    ...examples.map((f) => fs.readFileSync(path.join(repo, "examples", f), "utf8")),
    scaledConfigYaml(20),
    `layout: split\n${scaledConfigYaml(20)}`,
  ];
  const plain = synthAll(false, configs);
  const tuned = synthAll(true, configs);
  expect(tuned).toHaveLength(configs.length);
  tuned.forEach((files, i) => {
    expect(Object.keys(files).sort()).toEqual(Object.keys(plain[i]).sort());
    expect(Object.keys(files)).toContain("stacks/acr-gate/cdk.tf.json");
    for (const [name, text] of Object.entries(files)) expect(`${name}:\n${text}`).toBe(`${name}:\n${plain[i][name]}`);
  });
});

/**
 * The token kinds acr-gate's configs do not all produce, in one stack: number tokens, list and map
 * tokens, tokens inside nested blocks and lists, Terraform functions, an escaped `${`, an
 * exponent-looking string, a map key from a token, overrides. Same JSON with and without tuning.
 */
test("every kind of token resolves the same with and without the tuning", () => {
  const script = (tuned: boolean) => `
    ${tuned ? 'require("./dist/app/cdktf-tuning").tuneCdktf();' : ""}
    const { App, TerraformStack, TerraformVariable, TerraformOutput, Fn, Token } = require("cdktf");
    const { AzurermProvider } = require("@cdktf/provider-azurerm/lib/provider");
    const { ResourceGroup } = require("@cdktf/provider-azurerm/lib/resource-group");
    const { ContainerGroup } = require("@cdktf/provider-azurerm/lib/container-group");
    const app = new App({ outdir: require("os").tmpdir(), stackTraces: false });
    const s = new TerraformStack(app, "tricky");
    new AzurermProvider(s, "azurerm", { features: [{}] });
    const cpu = new TerraformVariable(s, "cpu", { type: "number" });
    const names = new TerraformVariable(s, "names", { type: "list(string)" });
    const tags = new TerraformVariable(s, "tags", { type: "map(string)" });
    const rg = new ResourceGroup(s, "rg", { name: Fn.join("-", names.listValue), location: "1e5", tags: tags.value });
    const cg = new ContainerGroup(s, "cg", {
      name: "literal \${not.a.ref} and %{ if x }",
      location: rg.location,
      resourceGroupName: rg.name,
      osType: "Linux",
      ipAddressType: undefined,
      exposedPort: [{ port: cpu.numberValue, protocol: "TCP" }],
      container: [{ name: "c", image: Fn.element(names.listValue, 0), cpu: cpu.numberValue, memory: 1.5,
        commands: names.listValue, environmentVariables: { [rg.name]: "x", plain: Token.asString(cpu.numberValue) } }],
      tags: { a: rg.id, b: "2.5e3" },
    });
    cg.addOverride("lifecycle.ignore_changes", ["tags"]);
    new TerraformOutput(s, "o", { value: { n: cpu.numberValue, l: names.listValue, m: tags.value, d: [rg.id, 1, true] } });
    s.prepareStack();
    process.stdout.write(JSON.stringify(s.toTerraform()));
  `;
  const run = (tuned: boolean) => {
    const r = spawnSync(process.execPath, ["-e", script(tuned)], { cwd: repo, encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout;
  };
  const plain = run(false);
  expect(plain).toContain('"cpu":"${var.cpu}"');
  expect(run(true)).toBe(plain);
});

test("the tuning is in effect: cdktf's stack resolve is replaced, once", () => {
  const r = spawnSync(
    process.execPath,
    ["-e", 'const m = require("cdktf/lib/_tokens"); const a = m.resolve; const t = require("./dist/app/cdktf-tuning"); t.tuneCdktf(); const b = m.resolve; t.tuneCdktf(); process.stdout.write(String(a !== b && m.resolve === b))'],
    { cwd: repo, encoding: "utf8" },
  );
  expect(r.stdout).toBe("true");
});
