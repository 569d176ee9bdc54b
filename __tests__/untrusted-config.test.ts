/**
 * Untrusted config stays data: the named attack corpus of __tests__/fixtures/attacks.yaml, one
 * describe per class, plus the limits (size, aliases, nesting) and the message rules.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigError, DEFAULT_CONFIG_YAML, MAX_CONFIG_BYTES, parseConfig, readConfigFile } from "../lib/config";
import { DOCKERHUB_CONFIG, resources, synth } from "./helpers";
import { allStrings, foreignExpressions, interpolations } from "./support/terraform-strings";

interface Case {
  name: string;
  base?: "dockerhub";
  set?: [string, unknown][];
  text?: string;
  reject?: string[];
  accept?: boolean;
  inert?: string[];
}
const corpus = YAML.parse(fs.readFileSync(path.join(__dirname, "fixtures", "attacks.yaml"), "utf8")) as Record<string, Case[]>;

/** Sets `value` at a path like `apps[0].aci.name` (null deletes the key). */
function setAt(root: any, fieldPath: string, value: unknown): void {
  const parts = fieldPath.match(/[^.[\]]+/g)!.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  let o = root;
  for (const p of parts.slice(0, -1)) o = o[p] ??= typeof p === "number" ? [] : {};
  const last = parts[parts.length - 1];
  if (value === null) delete o[last];
  else o[last] = value;
}

function configText(c: Case): string {
  if (c.text !== undefined) return c.text;
  const doc = YAML.parse(c.base === "dockerhub" ? DOCKERHUB_CONFIG : DEFAULT_CONFIG_YAML);
  for (const [p, v] of c.set ?? []) setAt(doc, p, v);
  return YAML.stringify(doc);
}

function problemsOf(text: string): string[] | undefined {
  try {
    parseConfig(text, "attack.yaml");
    return undefined;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e; // anything else would reach the user as a stack trace
    return [...e.problems];
  }
}

/** Every problem is one line of the form `<path>: <value> <rule>`, whatever the input held. */
function expectWellFormed(problems: readonly string[]): void {
  for (const p of problems) {
    expect(p).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    expect(p).toMatch(/^(the file|[A-Za-z[])/);
    expect(p.length).toBeLessThan(600);
  }
}

function runCase(c: Case) {
  const problems = problemsOf(configText(c));
  if (c.reject) {
    expect(problems).toBeDefined();
    expectWellFormed(problems!);
    for (const field of c.reject) expect(problems!.some((p) => p.startsWith(`${field}: `) || p.startsWith(field))).toBe(true);
  } else {
    expect(problems).toBeUndefined();
    const { tf } = synth(parseConfig(configText(c)));
    expect(foreignExpressions(tf)).toEqual([]);
    // The case's text lands unchanged and inert: outside any Terraform expression in the JSON, and
    // outside any Go template action in a task file.
    const jsonStrings = [...allStrings(tf)].map(([, t]) => t);
    const taskFiles = Object.values(resources(tf, "azurerm_container_registry_task"))
      .filter((t: any) => t.encoded_step)
      .map((t: any) => Buffer.from(t.encoded_step.task_content, "base64").toString("utf8"));
    for (const s of c.inert ?? []) {
      const inJson = jsonStrings.filter((t) => t.includes(s));
      const inTasks = taskFiles.filter((t) => t.includes(s));
      expect(inJson.length + inTasks.length).toBeGreaterThan(0);
      for (const t of inJson) expect(interpolations(t).some((x) => x.start < t.indexOf(s) + s.length && t.indexOf(s) < x.end)).toBe(false);
      for (const t of inTasks) {
        const at = t.indexOf(s);
        const actions = [...t.matchAll(/\{\{.*?\}\}/g)].map((m) => [m.index!, m.index! + m[0].length]);
        expect(actions.some(([a, b]) => a < at + s.length && at < b)).toBe(false);
      }
    }
  }
}

describe("config text is data in Terraform: no string becomes an expression", () => {
  test.each(corpus.terraform.map((c) => [c.name, c] as const))("%s", (_n, c) => runCase(c));
});

describe("config text is data in task files: strict grammars, no Go template delimiters", () => {
  test.each(corpus["go-template"].map((c) => [c.name, c] as const))("%s", (_n, c) => runCase(c));
});

describe("one Azure name, one Terraform address, one message naming both fields", () => {
  test.each(corpus["names-and-addresses"].map((c) => [c.name, c] as const))("%s", (_n, c) => runCase(c));

  test("the message names both fields of a collision", () => {
    const p = problemsOf(configText(corpus["names-and-addresses"].find((c) => c.name.startsWith("two gate task names"))!))!;
    expect(p).toContain(
      'gatedImages[1].taskName: "gate_node_x" would share the Terraform address azurerm_container_registry_task.task_<registry>_gate_node_x with "gate-node-x" at gatedImages[0].taskName; choose names that differ in more than case, \'-\', \'_\' and \'.\'',
    );
    const q = problemsOf(configText(corpus["names-and-addresses"].find((c) => c.name.startsWith("an app group that is"))!))!;
    expect(q).toEqual([
      'apps[0].aci.resourceGroup: "Contoso-RG" is the resource group of teamRegistries[0] (spelled "contoso-rg" there; Azure compares group names case-insensitively): durable content (registries, key vault) must not share a group with an app',
    ]);
  });
});

describe("messages: every problem in one pass, one line each, values made safe", () => {
  test.each(corpus.messages.map((c) => [c.name, c] as const))("%s", (_n, c) => runCase(c));

  test(".nan and .inf are named as YAML writes them", () => {
    const p = problemsOf(configText(corpus.messages.find((c) => c.name.startsWith("not-a-number"))!))!;
    expect(p).toEqual(["apps[0].aci.cpu: .nan must be a number from 0.1 to 4", "apps[0].aci.memoryGb: .inf must be a number from 0.1 to 16"]);
  });

  test("a top-level list is named as the file", () => {
    expect(problemsOf("- location: eastus\n")).toEqual(["the file: a list of 1 must be a mapping"]);
  });

  test("long values are cut and control characters escaped", () => {
    const p = problemsOf(DEFAULT_CONFIG_YAML.replace("name: acr-task-credentials", `name: "\\u0007${"v".repeat(300)}"`))!;
    expect(p).toEqual([
      `keyVault.name: "\\u0007${"v".repeat(79)}...(301 characters)" must not contain control characters, line breaks or bidirectional-text controls`,
    ]);
  });

  test("a forged problem line stays inside its own line", () => {
    const p = problemsOf("location: eastus\n\"x\\n  - keyVault.name: forged\": 1\n")!;
    expect(p.every((line) => !line.includes("\n"))).toBe(true);
    expect(p.filter((line) => line.startsWith("keyVault.name: forged"))).toEqual([]);
  });
});

describe("limits: size, aliases, nesting, encoding", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-limits-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("a file over 1 MiB is refused without reading it whole, devices too", () => {
    const big = path.join(tmp, "big.yaml");
    fs.writeFileSync(big, `# ${"x".repeat(MAX_CONFIG_BYTES)}\n`);
    expect(() => readConfigFile(big)).toThrow(/is larger than 1 MiB/);
    const t0 = Date.now();
    expect(() => readConfigFile("/dev/zero")).toThrow(/is not a regular file/);
    // A FIFO with no writer would block a reader forever: it is refused without being opened.
    const fifo = path.join(tmp, "fifo.yaml");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    expect(() => readConfigFile(fifo)).toThrow(/is not a regular file/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  test("a directory, a missing file and invalid UTF-8 are named", () => {
    expect(() => readConfigFile(tmp)).toThrow(/is a directory/);
    expect(() => readConfigFile(path.join(tmp, "nope.yaml"))).toThrow(/ACR_GATE_CONFIG: cannot read ".*nope\.yaml": no such file/);
    const bad = path.join(tmp, "latin1.yaml");
    fs.writeFileSync(bad, Buffer.from([0x6c, 0x6f, 0x63, 0x3a, 0x20, 0xe9, 0x0a]));
    expect(() => readConfigFile(bad)).toThrow(/is not UTF-8 text/);
  });

  test("an alias bomb is refused with the line of its first alias", () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]", "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]", "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]", "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]", ""].join("\n");
    expect(problemsOf(bomb)).toEqual(["the file: its YAML aliases expand to more than 100 copies (first alias at line 2); write the values out instead"]);
  });

  test.each([
    ["YAML flow lists, 100,000 deep", `tags: ${"[".repeat(100000)}${"]".repeat(100000)}\n`],
    ["YAML, 65 deep (just past the limit)", `tags: ${"[".repeat(65)}${"]".repeat(65)}\n`],
    ["JSON, 100,000 deep", `{"tags": ${"[".repeat(100000)}${"]".repeat(100000)}}`],
  ])("deep nesting is refused by name, not with a stack overflow: %s", (_name, deep) => {
    const p = problemsOf(deep)!;
    expect(p).toEqual(["the file: nests lists or mappings more than 64 levels deep (an acr-gate config needs fewer than 8): refused unread"]);
    expectWellFormed(p);
  });

  test("64 levels are read (and then refused by the field's own rule)", () => {
    const p = problemsOf(`tags: ${"[".repeat(63)}${"]".repeat(63)}\n`)!;
    expect(p.join("\n")).not.toMatch(/levels deep/);
  });

  test("a mapping with 80,000 keys is parsed in linear time (duplicates found with a Set)", () => {
    const text = `location: eastus\ntags:\n${Array.from({ length: 80000 }, (_, i) => `  k${i}: v`).join("\n")}\n`;
    expect(Buffer.byteLength(text)).toBeLessThan(MAX_CONFIG_BYTES);
    const t0 = Date.now();
    const p = problemsOf(text)!;
    expect(Date.now() - t0).toBeLessThan(10000);
    expect(p).toContain("tags: a mapping has 80000 tags; Azure allows 50 per resource and acr-gate adds managed-by");
  });

  test("messages that list names stay short however many entries repeat them", () => {
    const doc = YAML.parse(DEFAULT_CONFIG_YAML);
    doc.teamRegistries = Array.from({ length: 4000 }, (_, i) => ({ name: `team${i}acr` }));
    doc.apps = Array.from({ length: 8000 }, () => ({ registry: "x" }));
    const p = problemsOf(JSON.stringify(doc))!;
    const unknownTeam = p.filter((x) => x.includes("must name one of teamRegistries"));
    expect(unknownTeam).toHaveLength(8000);
    expect(unknownTeam[0]).toBe('apps[0].registry: "x" must name one of teamRegistries (team0acr, team1acr, team2acr, team3acr, team4acr and 3995 more)');
    expect(p.join("\n").length).toBeLessThan(4_000_000);
  });

  test("2,000 apps are validated in linear time, under 1 s", () => {
    const doc = YAML.parse(DEFAULT_CONFIG_YAML);
    const apps = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        name: `app${i}`,
        taskName: `build-app${i}`,
        registry: "contoso",
        repository: `https://github.com/x/app${i}.git#main`,
        baseImage: "node:15-alpine",
      }));
    parseConfig(JSON.stringify({ ...doc, apps: apps(200) })); // warm up the parser and the schema
    // The fastest of three: one sample catches a garbage collection or a busy machine, not the algorithm.
    const time = (n: number) => {
      const text = JSON.stringify({ ...doc, apps: apps(n) });
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = process.hrtime.bigint();
        expect(parseConfig(text).apps).toHaveLength(n);
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
      }
      return best;
    };
    const small = time(500);
    const large = time(2000);
    console.log(`validation: 500 apps ${small.toFixed(0)} ms, 2,000 apps ${large.toFixed(0)} ms`);
    expect(large).toBeLessThan(1000);
    expect(large / small).toBeLessThan(8); // 4x the input; quadratic would be 16x
    // Empty entries: every problem of every app, still linear.
    const t0 = process.hrtime.bigint();
    const p = problemsOf(JSON.stringify({ ...doc, apps: Array.from({ length: 2000 }, () => ({})) }))!;
    expect(Number(process.hrtime.bigint() - t0) / 1e6).toBeLessThan(1000);
    expect(p.filter((x) => /^apps\[1999\]\./.test(x))).toEqual([
      "apps[1999].name: is required (it is missing)",
      "apps[1999].registry: is required (it is missing)",
      "apps[1999].repository: is required (it is missing)",
      "apps[1999].baseImage: is required (it is missing)",
    ]);
  });
});
