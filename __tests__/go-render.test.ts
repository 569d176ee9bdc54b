/**
 * The Go renderer (support/go-render.ts, tools/render-task) must be faithful to ACR's engine, or
 * tests that look at rendered task files prove nothing. ACR renders a task file with Go's
 * text/template before parsing its YAML, so these tests show: the synthesized task files render to
 * the steps we generated; values are data for the template engine; a "{{...}}" in the task text
 * itself is executed (the injection the project must prevent); and the output equals the real
 * engine's (acb) where it is installed.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseConfig } from "../lib/config";
import { parseTask, renderTask } from "../lib/task-yaml";
import { decodeTask, resources, scaledConfigYaml, synth } from "./helpers";
import { goRenderAvailable, RenderItem, RenderResult, renderWithGo, requireTool } from "./support/go-render";

const haveGo = requireTool("go (Go toolchain, for the task renderer)", goRenderAvailable());
const describeGo = haveGo ? describe : describe.skip;

const REGISTRY = "contoso.azurecr.io";
const RUN_ID = "run1";
/** A plausible stand-in for a Terraform expression (the one we emit is a subscription id). */
const TF_PLACEHOLDER = "00000000-0000-0000-0000-000000000000";

/** Replaces each `${...}` (nesting-aware) by a placeholder: Terraform resolves those before ACR sees them. */
function withoutTerraformExpressions(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; ) {
    if (s.startsWith("${", i)) {
      let depth = 0;
      let j = i;
      for (; j < s.length; j++) {
        if (s[j] === "{") depth++;
        else if (s[j] === "}" && --depth === 0) break;
      }
      out += TF_PLACEHOLDER;
      i = j + 1;
    } else out += s[i++];
  }
  return out;
}

interface TaskUnderTest {
  name: string;
  text: string;
  values: Record<string, string>;
  secretIds: string[];
}

function tasksOf(tf: any): TaskUnderTest[] {
  return Object.values<any>(resources(tf, "azurerm_container_registry_task"))
    .filter((t) => t.encoded_step)
    .map((t) => ({
      name: t.name,
      text: Buffer.from(t.encoded_step.task_content, "base64").toString("utf8"),
      values: Object.fromEntries(Object.entries<string>(t.encoded_step.values ?? {}).map(([k, v]) => [k, withoutTerraformExpressions(v)])),
      secretIds: (decodeTask(t).secrets ?? []).map((s) => s.id),
    }));
}

function item(t: TaskUnderTest, exec: boolean, values = t.values): RenderItem {
  return {
    template: t.text,
    values,
    registry: REGISTRY,
    id: RUN_ID,
    secrets: Object.fromEntries(t.secretIds.map((id) => [id, `placeholder-${id}`])),
    exec,
  };
}

function rendered(r: RenderResult): string {
  if (!r.ok) throw new Error(`render failed: ${r.error}`);
  return r.rendered;
}

const stepIds = (yamlText: string) => parseTask(yamlText).steps.map((s) => s.id);

describeGo("Go renderer (acb's templating) on the default config's task files", () => {
  const tasks = tasksOf(synth().tf);
  const gate = tasks.find((t) => t.name === "base-import-node")!;
  const app = tasks.find((t) => t.name === "hello-world")!;

  test("the gate and app task files exist and carry templates", () => {
    expect(gate).toBeDefined();
    expect(app).toBeDefined();
    expect(gate.text).toContain("{{.Values.REGISTRY_FROM_URL}}");
    expect(app.text).toContain('{{index .Secrets "registry-user"}}');
    // The Terraform expression was replaced, so nothing unresolved reaches the renderer.
    expect(app.values.ACI_SUBSCRIPTION).toBe(TF_PLACEHOLDER);
  });

  // `acb render` renders the file as is; `acb exec` (what ACR runs) first expands `$aliases`.
  test.each([false, true])("every task file renders to valid YAML with the same step ids (exec preprocessing: %s)", (exec) => {
    const results = renderWithGo(tasks.map((t) => item(t, exec)));
    tasks.forEach((t, i) => {
      const out = rendered(results[i]);
      expect(out).not.toContain("{{");
      expect(stepIds(out)).toEqual(stepIds(t.text));
    });
    const gateOut = rendered(results[tasks.indexOf(gate)]);
    expect(gateOut).toContain("cmd: docker pull publicregistry.azurecr.io/node:15-alpine\n");
    expect(gateOut).toContain(`- UNIQUE=${REGISTRY}/node:15-alpine-${RUN_ID}\n`);
    const appOut = rendered(results[tasks.indexOf(app)]);
    // .Run.RegistryName is the registry's host name up to its first dot.
    expect(appOut).toContain("keyvault: https://acr-task-credentials.vault.azure.net/secrets/registry-contoso-user\n");
    expect(appOut).toContain(`--subscription ${TF_PLACEHOLDER} --resource-group hello-world-aci-rg --name hello-world-aci`);
    expect(appOut).toContain("--registry-username 'placeholder-registry-user' --registry-password 'placeholder-registry-password'");
  });

  test("one process renders hundreds of task files (50 images + 50 apps, both modes)", () => {
    const many = tasksOf(synth(parseConfig(scaledConfigYaml(50))).tf);
    expect(many.length).toBeGreaterThanOrEqual(100);
    const items = [...many.map((t) => item(t, false)), ...many.map((t) => item(t, true))];
    const results = renderWithGo(items);
    expect(results).toHaveLength(items.length);
    results.forEach((r, i) => expect(stepIds(rendered(r))).toEqual(stepIds(many[i % many.length].text)));
  });
});

describeGo("values are data for the template engine", () => {
  const gate = tasksOf(synth().tf).find((t) => t.name === "base-import-node")!;

  test.each([false, true])("template syntax in a value is not rendered again (exec preprocessing: %s)", (exec) => {
    // No ": " in it: that would be a YAML problem, not a template one.
    const hostile = 'evil{{.Run.ID}}}}{{"\\n  - extra"}}{{printf "%s" .Secrets}}$ID/';
    const out = rendered(renderWithGo([item(gate, exec, { REGISTRY_FROM_URL: hostile })])[0]);
    // Go's text/template inserts a value's text verbatim; `$aliases` are expanded before rendering.
    expect(out).toContain(`cmd: docker pull ${hostile}node:15-alpine\n`);
    expect(stepIds(out)).toEqual(stepIds(gate.text));
  });

  test('acb deletes every "<no value>" from the output, also one that came from a value', () => {
    // engine.go: missingkey=zero prints "<no value>" for a missing key; acb then removes the
    // string everywhere. Pinned so nobody relies on such a value surviving.
    const out = rendered(renderWithGo([item(gate, false, { REGISTRY_FROM_URL: "a<no value>b/" })])[0]);
    expect(out).toContain("cmd: docker pull ab/node:15-alpine\n");
  });

  test("but a value is spliced into the YAML text: a newline in it adds a step", () => {
    // Data for the template engine is still text for the YAML parser that runs afterwards, so
    // values need the same vetting as the task text (no newlines, no quotes breaking a scalar).
    // ACI is used once, at the end of a plain cmd scalar of the app task.
    const app = tasksOf(synth().tf).find((t) => t.name === "hello-world")!;
    const out = rendered(renderWithGo([item(app, false, { ...app.values, ACI: "x\n  - id: extra\n    cmd: alpine id" })])[0]);
    expect(stepIds(out)).toEqual([...stepIds(app.text), "extra"]);
  });
});

describeGo('"{{...}}" in the task text is executed (what the project must prevent)', () => {
  const gate = tasksOf(synth().tf).find((t) => t.name === "base-import-node")!;
  const pull = "cmd: docker pull {{.Values.REGISTRY_FROM_URL}}node:15-alpine\n";

  test("a Go string literal with newlines spliced into a cmd adds a step after rendering", () => {
    expect(gate.text).toContain(pull);
    const text = gate.text.replace(pull, pull.replace("\n", '{{"\\n  - id: extra\\n    cmd: alpine id"}}\n'));
    // Unrendered, this spelling is not even valid YAML (": " in a plain scalar), so a YAML check
    // of the task text would catch it; the next test shows a spelling that passes such a check.
    expect(() => parseTask(text)).toThrow(/Nested mappings/);
    for (const exec of [false, true]) {
      const out = rendered(renderWithGo([item({ ...gate, text }, exec)])[0]);
      expect(stepIds(out)).toEqual(["pull-source", "extra", ...stepIds(gate.text).slice(1)]);
      // The injected step takes over pull-source's `when`.
      expect(parseTask(out).steps[1]).toMatchObject({ id: "extra", cmd: "alpine id", when: ["-"] });
    }
  });

  test("the project's YAML emitter is no defence: quoting is decided before the template runs", () => {
    // renderTask quotes a scalar containing ": " ('...'), and the injected newline then breaks the
    // quoted scalar (ACR rejects the task). Spelling ':' as \x3a inside the Go string avoids ": ",
    // the emitter keeps the scalar plain, and the step is injected.
    const task = (cmd: string) =>
      renderTask({
        version: "v1.1.0",
        steps: [
          { id: "first", cmd, when: ["-"] },
          { id: "second", cmd: "alpine echo bye", when: ["first"] },
        ],
      });
    const quoted = task('alpine echo hi{{"\\n  - id: extra\\n    cmd: alpine id"}}');
    const plain = task('alpine echo hi{{"\\n  - id\\x3a extra\\n    cmd\\x3a alpine id"}}');
    expect(quoted).toContain("cmd: 'alpine echo hi{{");
    expect(plain).toContain("cmd: alpine echo hi{{");
    expect(stepIds(plain)).toEqual(["first", "second"]);
    const [q, p] = renderWithGo([quoted, plain].map((template) => ({ template, registry: REGISTRY, id: RUN_ID }))).map(rendered);
    expect(() => parseTask(q)).toThrow(/Missing closing 'quote/);
    expect(stepIds(p)).toEqual(["first", "extra", "second"]);
  });

  test("a broken action makes the whole task fail to render", () => {
    const [r] = renderWithGo([{ template: "version: v1.1.0\nsteps:\n  - id: a\n    cmd: alpine echo {{oops\n    when: ['-']\n" }]);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/^error while rendering templates: failed to parse template: decoded\. Err: template: decoded:4: /);
  });
});

// ---- (d) the real engine ----

const ACB = process.env.ACR_GATE_ACB ?? path.join(__dirname, "..", "..", "shared", "tools", "acb", "acb");
function acbUsable(): string | null {
  if (!fs.existsSync(ACB)) return `acb not found at ${ACB}`;
  // acb must never reach the network (Key Vault, registries): run it only in an empty namespace.
  const u = spawnSync("unshare", ["-n", "true"]);
  if (u.error || u.status !== 0) return "`unshare -n` does not work here (needs root or user namespaces)";
  return null;
}
const acbProblem = haveGo ? acbUsable() : "Go is not available";
if (acbProblem) console.warn(`skipping the cross-check against the real ACR engine: ${acbProblem}`);
const describeAcb = acbProblem ? describe.skip : describe;

/** Per /work/shared/tools/acb/README.md: no `secrets:` list, secret references as placeholders. */
function forAcb(text: string): string {
  const lines = text.split("\n");
  const kept: string[] = [];
  let inSecrets = false;
  for (const l of lines) {
    if (/^\S/.test(l)) inSecrets = /^secrets\s*:/.test(l);
    if (!inSecrets) kept.push(l);
  }
  return kept
    .join("\n")
    .replace(/\{\{\s*index\s+\.Secrets\s+"([^"]+)"\s*\}\}/g, "placeholder-$1")
    .replace(/\{\{\s*\.Secrets\.(\w+)\s*\}\}/g, "placeholder-$1");
}

/** Text log lines start with "YYYY/MM/DD HH:MM:SS " (Go's log package). */
const LOG_PREFIX = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /;
const NEXT_LOG_LINE = /\n\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /;

function runAcb(args: string[]): string {
  // Only `render` and `exec --dry-run`: anything else would run Docker.
  expect(args[0] === "render" || (args[0] === "exec" && args.includes("--dry-run"))).toBe(true);
  const r = spawnSync("unshare", ["-n", ACB, ...args], { encoding: "utf8", timeout: 60_000 });
  if (r.error || r.status !== 0) throw new Error(`acb ${args[0]} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}`);
  return r.stderr; // acb logs everything, including the rendered task, to stderr
}

/**
 * `acb render` prints `log.Println(rendered)` after a "Rendered template:" line: a timestamp before
 * the first line and one extra "\n" at the end (the known formatting difference).
 */
function acbRender(file: string, valuesFile: string): string {
  const log = runAcb(["render", "-f", file, "--values", valuesFile, "--registry", REGISTRY, "--id", RUN_ID]);
  const at = log.indexOf("Rendered template:\n");
  expect(at).toBeGreaterThanOrEqual(0);
  const body = log.slice(at + "Rendered template:\n".length);
  expect(body).toMatch(LOG_PREFIX);
  expect(body.endsWith("\n")).toBe(true);
  return body.replace(LOG_PREFIX, "").slice(0, -1);
}

/** `acb exec --dry-run --debug` logs "Rendered template:\n<text>" and then goes on logging. */
function acbExecRendered(file: string, valuesFile: string): string {
  const log = runAcb(["exec", "--dry-run", "--debug", "-f", file, "--values", valuesFile, "--registry", REGISTRY, "--id", RUN_ID]);
  const at = log.indexOf("Rendered template:\n");
  expect(at).toBeGreaterThanOrEqual(0);
  const body = log.slice(at + "Rendered template:\n".length);
  const end = body.search(NEXT_LOG_LINE);
  return end < 0 ? body : body.slice(0, end + 1);
}

describeAcb("the Go renderer matches the real engine (acb, commit 90b22f3)", () => {
  const tasks = tasksOf(synth().tf);
  // Exercises what acb adds around text/template: comment lines dropped before parsing,
  // missing keys, "<no value>" removal, sprig functions, acb's b64enc, ValuesJSON, Build.ID,
  // `$aliases` (exec only) and a value that looks like a template.
  const probe: TaskUnderTest = {
    name: "probe",
    text: [
      "version: v1.1.0",
      "  # an indented comment with a broken {{ action is dropped before templating",
      "steps:",
      "  - id: probe",
      '    cmd: alpine echo id={{.Run.ID}} build={{.Build.ID}} reg={{.Run.Registry}} name={{.Run.RegistryName}} os={{.Run.OS}}/{{.Run.Architecture}} missing=[{{.Values.NOPE}}] top=[{{.Nope}}] commit=[{{.Run.Commit}}] vol=[{{.Run.SharedVolume}}] {{ .Values.A | upper }} {{ .Values.A | quote }} {{ default "dflt" .Values.NOPE }} {{ b64enc .Values.A }} {{ .ValuesJSON }} alias=$ID escaped=$$ID unknown=$NOPE',
      '    when: ["-"]',
      "  - id: data",
      "    cmd: alpine echo '{{.Values.B}}'",
      '    when: ["probe"]',
      "",
    ].join("\n"),
    values: { A: "Mixed Case", B: "{{.Run.ID}} }} <no value> $ID" },
    secretIds: [],
  };
  const cases = [tasks.find((t) => t.name === "base-import-node")!, tasks.find((t) => t.name === "hello-world")!, probe].map((t) => ({
    ...t,
    text: forAcb(t.text),
  }));
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-acb-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function files(t: TaskUnderTest): [string, string] {
    const file = path.join(dir, `${t.name}.yaml`);
    const valuesFile = path.join(dir, `${t.name}.values.yaml`);
    fs.writeFileSync(file, t.text);
    // JSON strings are YAML double-quoted scalars: every value stays a string, as in render-task.
    fs.writeFileSync(valuesFile, Object.entries(t.values).map(([k, v]) => `${k}: ${JSON.stringify(v)}\n`).join(""));
    return [file, valuesFile];
  }

  test.each(cases.map((c) => [c.name, c] as const))("%s: `acb render` == render-task", (_name, t) => {
    const [file, valuesFile] = files(t);
    // acb names a -f task by its path (seen only in error messages).
    const ours = rendered(renderWithGo([{ ...item(t, false), name: file }])[0]);
    expect(ours).toBe(acbRender(file, valuesFile));
  });

  test.each(cases.map((c) => [c.name, c] as const))("%s: `acb exec --dry-run` == render-task with exec preprocessing", (_name, t) => {
    const [file, valuesFile] = files(t);
    const ours = rendered(renderWithGo([{ ...item(t, true), name: file }])[0]);
    expect(ours).toBe(acbExecRendered(file, valuesFile));
  });

  test("the probe shows the behaviours it is meant to", () => {
    const [render, exec] = renderWithGo([item(cases[2], false), item(cases[2], true)]).map(rendered);
    expect(render).not.toContain("# an indented comment");
    expect(render).toContain("missing=[] top=[] commit=[] vol=[] MIXED CASE \"Mixed Case\" dflt TWl4ZWQgQ2FzZQ== '{\"A\":\"Mixed Case\",");
    expect(render).toContain("alias=$ID escaped=$$ID unknown=$NOPE");
    expect(exec).toContain(`alias=${RUN_ID} escaped=$ID unknown=$NOPE`);
    // The value's "$ID" stays, its "<no value>" goes (see above).
    expect(exec).toContain("cmd: alpine echo '{{.Run.ID}} }}  $ID'");
  });
});
