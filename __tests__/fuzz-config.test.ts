/**
 * Property: whatever hostile text a config carries in whatever field, acr-gate either refuses the
 * config naming the field (ConfigError: the CLI exits 1 before anything is written), or synthesizes
 * JSON in which no config text is an expression Terraform evaluates, and task files that ACR's
 * template engine renders to exactly the steps the task model declared.
 *
 * fast-check with a fixed seed (reproducible in CI); change the seed locally to explore.
 */
import * as fc from "fast-check";
import * as YAML from "yaml";
import { Testing } from "cdktf";
import { ConfigError, DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import { createStack } from "../app/synth";
import { renderTask, renderWithYamlLibrary, TaskDefinition, TaskStep } from "../lib/task-yaml";
import { DOCKERHUB_CONFIG } from "./helpers";
import { allStrings, foreignExpressions, interpolations } from "./support/terraform-strings";
import { goRenderAvailable, renderWithGo, requireTool } from "./support/go-render";

const SEED = 20261127;
const RUNS = 600;

/** Every string field of both base configs, with the defaults written out so each one is present. */
const BASES: Record<string, { doc: any; fields: string[] }> = {
  simulated: {
    doc: YAML.parse(DEFAULT_CONFIG_YAML),
    fields: [
      "stackName", "location", "tags.owner",
      "publicRegistry.name", "publicRegistry.resourceGroup", "publicRegistry.images[0].taskName",
      "publicRegistry.images[0].image", "publicRegistry.images[0].repository", "publicRegistry.images[0].taskFile",
      "baseArtifactsRegistry.name", "baseArtifactsRegistry.resourceGroup", "baseArtifactsRegistry.replicaLocations[0]",
      "teamRegistries[0].name", "teamRegistries[0].resourceGroup", "teamRegistries[0].taskCredential",
      "keyVault.name", "keyVault.resourceGroup",
      "gatedImages[0].source", "gatedImages[0].target", "gatedImages[0].taskName", "gatedImages[0].test.context",
      "gatedImages[0].test.dockerfile", "gatedImages[0].scan.image", "gatedImages[0].scan.failOn", "gatedImages[0].timer",
      "apps[0].name", "apps[0].taskName", "apps[0].registry", "apps[0].repository", "apps[0].baseImage",
      "apps[0].aci.name", "apps[0].aci.resourceGroup", "apps[0].aci.dnsLabel", "apps[0].aci.initialImage", "apps[0].aci.pullWith",
      "backend.path",
    ],
  },
  dockerhub: {
    doc: YAML.parse(DOCKERHUB_CONFIG),
    fields: [
      "tags.team", "gatedImages[0].source", "gatedImages[0].upstream", "gatedImages[0].test.context", "gatedImages[0].test.dockerfile",
      "gatedImages[0].scan.image", "apps[0].repository", "apps[0].aci.initialImage", "apps[0].aci.dnsLabel",
      "backend.key", "backend.containerName",
    ],
  },
};
// Its default written out: the host a gate pulls from lands in a task value and its `docker pull`.
BASES.dockerhub.doc.gatedImages[0].upstream = "docker.io";
BASES.dockerhub.doc.backend = { type: "azurerm", resourceGroupName: "tfstate-rg", storageAccountName: "acrgatestate" };

/** Fields whose value other fields refer to: a change may be reported at the referring field instead. */
const DEPENDENTS: Record<string, string[]> = {
  "publicRegistry.images[0].image": ["gatedImages[0].source"],
  "gatedImages[0].source": ["apps[0].baseImage"],
  "gatedImages[0].target": ["apps[0].baseImage"],
  "teamRegistries[0].name": ["apps[0].registry"],
};

const FRAGMENTS = [
  "${", "%{", "{{", "}}", "$${", "%%{", "$", "%", "{", "}", '"', "'", "\\", "\n", "\r", "\t", " ", ";", "|", "&",
  "$(", ")", "`", "--", "-f ", "..", "/", ":", "@", "#", "?", "=", "*", "\u202e", "\u2028", "\u0000", "é", "A",
  "var.github_token", 'file("/etc/passwd")', ".Secrets", ".Run.ID", "$ID", "$$", '"\\n  - id: x\\n    cmd: alpine id"',
  "node", "15-alpine", "https://github.com/x/y.git#main", "0 3 * * *", "eastus", "contoso", "-", "_", ".", "x1",
];

/** Small edits a valid value survives (so that enough configs synthesize and reach the engines). */
const BENIGN = ["", "x", "1", "a", "2", "abc", "x1", "0", "-a", "b-c", ".1", "_x", "node", "westus", "/x", ":1"];

const hostile = fc.oneof(
  { arbitrary: fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 6 }).map((a) => a.join("")), weight: 4 },
  { arbitrary: fc.constantFrom(...BENIGN), weight: 3 },
  { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }), weight: 1 },
);

/** A mutation: a base, one of its string fields, and a value replacing, prefixing or suffixing it. */
const mutation = fc
  .constantFrom(...Object.keys(BASES))
  .chain((base) =>
    fc.record({
      base: fc.constant(base),
      field: fc.constantFrom(...BASES[base].fields),
      how: fc.constantFrom("replace", "prefix", "suffix"),
      text: hostile,
    }),
  );

function getAt(root: any, field: string): unknown {
  return field.match(/[^.[\]]+/g)!.reduce((o, p) => (o == null ? undefined : o[/^\d+$/.test(p) ? Number(p) : p]), root);
}
function setAt(root: any, field: string, value: unknown): void {
  const parts = field.match(/[^.[\]]+/g)!.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  let o = root;
  for (const [i, p] of parts.slice(0, -1).entries()) o = o[p] ??= typeof parts[i + 1] === "number" ? [] : {};
  o[parts[parts.length - 1]] = value;
}

/** The known template actions of generated task files, substituted as the engine would; anything else fails. */
function expectedAfterRendering(s: string, ctx: { values: Record<string, string>; registry: string; id: string }): string {
  return s.replace(/\{\{(.*?)\}\}/g, (whole, action: string) => {
    const a = action.trim();
    if (a === ".Run.ID") return ctx.id;
    if (a === ".Run.Registry") return ctx.registry;
    if (a === ".Run.RegistryName") return ctx.registry.split(".")[0];
    const value = /^\.Values\.(\w+)$/.exec(a);
    if (value && value[1] in ctx.values) return ctx.values[value[1]];
    const secret = /^index \.Secrets "([\w-]+)"$/.exec(a);
    if (secret) return `secret-${secret[1]}`;
    throw new Error(`unexpected template action ${whole} in a generated task file`);
  });
}

const stepStrings = (s: TaskStep): string[] => ("push" in s ? [...s.push] : "build" in s ? [s.build] : [s.cmd]);
const placeholder = (v: string) => v.replace(/\$\{[^}]*\}/g, "00000000-0000-0000-0000-000000000000");

test(`${RUNS} hostile configs: refused naming the field, or synthesized inert`, () => {
  const tally = { refused: 0, synthesized: 0, tasks: 0 };
  const toRender: { template: string; values: Record<string, string>; registry: string; model: TaskDefinition; label: string }[] = [];
  const t0 = Date.now();

  fc.assert(
    fc.property(mutation, ({ base, field, how, text }) => {
      const doc = structuredClone(BASES[base].doc);
      const before = getAt(doc, field);
      const old = typeof before === "string" ? before : "";
      const value = how === "replace" ? text : how === "prefix" ? text + old : old + text;
      if (field.startsWith("tags.")) doc.tags = { [field.slice(5)]: value };
      else setAt(doc, field, value);
      const configText = YAML.stringify(doc);

      let config;
      try {
        config = parseConfig(configText, "fuzz.yaml");
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e; // would reach the user as a stack trace
        tally.refused++;
        const named = [field, ...(DEPENDENTS[field] ?? [])];
        for (const p of e.problems) {
          // One line each, nothing a hostile value could forge.
          expect(p).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
        }
        const names = e.problems.some((p) => named.some((f) => p.startsWith(`${f}: `) || p.startsWith(`${f}[`) || p.startsWith(`${f}.`)));
        // A changed name can also collide with another one; that message names this field too.
        const mentions = e.problems.some((p) => named.some((f) => p.includes(f)));
        if (!names && !mentions) throw new Error(`no problem names ${field} for ${JSON.stringify(value)}:\n${e.problems.join("\n")}`);
        return;
      }

      tally.synthesized++;
      const stack = createStack(Testing.app(), config); // with the access policy, as the app runs it
      const tf = JSON.parse(Testing.synth(stack, true));
      expect(foreignExpressions(tf)).toEqual([]);
      // Names land inside our own references (registry_contoso); only text that could open or close
      // a template sequence needs this check, and the allowlist above covers the rest.
      if (/[$%{}]/.test(value)) {
        for (const [, s] of allStrings(tf)) {
          const at = s.indexOf(value);
          if (at >= 0) expect(interpolations(s).some((x) => x.start < at + value.length && at < x.end)).toBe(false);
        }
      }
      for (const task of stack.tasks) {
        if (!task.definition) continue;
        // The direct task-file writer agrees with the yaml library on whatever the config holds.
        expect(renderTask(task.definition)).toBe(renderWithYamlLibrary(task.definition));
        const resource = tf.resource.azurerm_container_registry_task[task.resource.friendlyUniqueId];
        const values = Object.fromEntries(Object.entries<string>(resource.encoded_step.values ?? {}).map(([k, v]) => [k, placeholder(v)]));
        toRender.push({
          template: Buffer.from(resource.encoded_step.task_content, "base64").toString("utf8"),
          values,
          registry: task.registry.loginServerName,
          model: task.definition,
          label: `${field}=${JSON.stringify(value)} task ${task.taskName}`,
        });
      }
    }),
    { seed: SEED, numRuns: RUNS },
  );

  // Render every task file once, as ACR runs it (acb exec: `$alias` preprocessing, then text/template).
  if (requireTool("go (Go toolchain, for the task renderer)", goRenderAvailable())) {
    const results = renderWithGo(
      toRender.map((t) => ({ template: t.template, values: t.values, registry: t.registry, id: "run1", exec: true, secrets: { "registry-user": "secret-registry-user", "registry-password": "secret-registry-password" } })),
    );
    results.forEach((r, i) => {
      const t = toRender[i];
      if (!r.ok) throw new Error(`${t.label}: does not render: ${r.error}`);
      const rendered = YAML.parse(r.rendered) as TaskDefinition;
      // Exactly the declared steps, in order, each waiting on exactly what the model says...
      expect(rendered.steps.map((s) => [s.id, s.when])).toEqual(t.model.steps.map((s) => [s.id, s.when]));
      // ...and each doing exactly what the model says once its template actions are resolved.
      rendered.steps.forEach((s, j) => {
        const ctx = { values: t.values, registry: t.registry, id: "run1" };
        expect(stepStrings(s)).toEqual(stepStrings(t.model.steps[j]).map((x) => expectedAfterRendering(x, ctx)));
      });
      tally.tasks++;
    });
  }
  console.log(
    `fuzz (seed ${SEED}): ${RUNS} configs, ${tally.refused} refused, ${tally.synthesized} synthesized, ${tally.tasks} task files rendered, ${Date.now() - t0} ms`,
  );
  expect(tally.refused).toBeGreaterThan(RUNS / 4);
  expect(tally.synthesized).toBeGreaterThan(RUNS / 10);
});
