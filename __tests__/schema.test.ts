/**
 * One schema (lib/config/schema.ts and its sections): the committed JSON Schema is generated from it, editors' view
 * of the examples agrees with acr-gate's, and help/configuration.md documents exactly its keys and
 * defaults.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import Ajv2020 from "ajv/dist/2020";
import { renderSchema, SCHEMA_FILE } from "../app/config-json-schema";
import { DEFAULT_CONFIG_YAML, parseConfig } from "../lib/config";
import type { AcrGateConfig } from "../lib/config/schema";

const repo = path.resolve(__dirname, "..");
const schema = JSON.parse(fs.readFileSync(path.join(repo, SCHEMA_FILE), "utf8"));
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
const examples = fs.readdirSync(path.join(repo, "examples")).filter((f) => f.endsWith(".yaml"));

test(`${SCHEMA_FILE} is current (regenerate: npm run schema)`, () => {
  expect(fs.readFileSync(path.join(repo, SCHEMA_FILE), "utf8")).toBe(renderSchema());
});

describe("editors see what acr-gate sees", () => {
  test.each(examples)("%s names the schema on its first line and validates against it", (file) => {
    const text = fs.readFileSync(path.join(repo, "examples", file), "utf8");
    expect(text.split("\n")[0]).toBe(`# yaml-language-server: $schema=../${SCHEMA_FILE}`);
    const ok = validate(YAML.parse(text));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  test("the walkthrough's default config validates", () => {
    expect(validate(YAML.parse(DEFAULT_CONFIG_YAML))).toBe(true);
  });

  test.each([
    ["a misspelled key", (c: any) => (c.keyVault.nmae = "x")],
    ["a registry name with a hyphen (pattern)", (c: any) => (c.teamRegistries[0].name = "my-registry")],
    ["Terraform template syntax in a tag (the rule every string obeys)", (c: any) => (c.tags = { owner: "${file(\"/etc/passwd\")}" })],
    ["Go template syntax in a Dockerfile path", (c: any) => (c.gatedImages[0].test.dockerfile = "{{.Secrets}}")],
    ["a location that is not a region (enum)", (c: any) => (c.location = "eastus3")],
    ["a port out of range", (c: any) => (c.apps[0].aci = { port: 70000 })],
  ])("the JSON Schema also refuses %s", (_name, mutate) => {
    const c = YAML.parse(DEFAULT_CONFIG_YAML);
    mutate(c);
    expect(validate(c)).toBe(false);
    expect(() => parseConfig(YAML.stringify(c))).toThrow();
  });
});

test("the types are inferred from the schema: a resolved config has every default filled in", () => {
  const c: AcrGateConfig = parseConfig(DEFAULT_CONFIG_YAML);
  // Compile-time checks (tsc runs before jest): these fields are required, not optional, in the type.
  const cpu: number = c.apps[0].aci.cpu;
  const locks: boolean = c.protection.locks;
  const mode: "enforce" | "report" = c.gatedImages[0].scan.mode;
  expect([cpu, locks, mode]).toEqual([1, true, "report"]);
});

/** Keys of the JSON Schema, as help/configuration.md names them in each table. */
/** An optional key's schema without the `null` it also accepts (YAML's `key:` left empty). */
const unwrap = (v: any): any => (v?.anyOf && v.anyOf.some((x: any) => x.type === "null") ? v.anyOf.find((x: any) => x.type !== "null") : v);

function keysOf(node: any, prefix = "", stopAt: string[] = []): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries<any>(unwrap(node).properties ?? {})) {
    const key = `${prefix}${k}`;
    const u = unwrap(v);
    const sub = u.anyOf ? u.anyOf.find((x: any) => x.properties) ?? u : u;
    if (sub.type === "object" && sub.properties && !stopAt.includes(key)) {
      for (const [kk, vv] of keysOf(sub, `${key}.`, stopAt)) out.set(kk, vv);
    } else out.set(sub.type === "array" && sub.items?.properties ? `${key}[]` : key, v.default);
  }
  return out;
}

/** `| \`a\`, \`b\` | default | rule |` rows of one section of help/configuration.md. */
function documented(section: string): Map<string, string> {
  const doc = fs.readFileSync(path.join(repo, "help", "configuration.md"), "utf8");
  const start = doc.indexOf(section);
  const end = doc.indexOf("\n#", start + section.length);
  const rows = doc.slice(start, end === -1 ? undefined : end).split("\n").filter((l) => l.startsWith("| `"));
  const out = new Map<string, string>();
  for (const row of rows) {
    const [keys, def] = row.split(" | ");
    let prefix = "";
    for (const k of keys.replace(/^\| /, "").split(", ")) {
      const key = k.replace(/`/g, "");
      if (key.includes(".")) prefix = key.slice(0, key.lastIndexOf(".") + 1);
      out.set(key.includes(".") ? key : `${prefix}${key}`, def);
    }
  }
  return out;
}

describe("help/configuration.md documents exactly the schema's keys and defaults", () => {
  const props = schema.properties;
  const registryKeys = keysOf(unwrap(props.baseArtifactsRegistry));
  // A team registry's own key (its vault in the split layout), documented in the registry table too.
  const teamOnly = ["keyVault.name"];
  const sections: [string, Map<string, unknown>][] = [
    ["## Keys", keysOf(schema, "", ["publicRegistry", "baseArtifactsRegistry"])],
    ["### A registry", new Map([...registryKeys, ...keysOf(unwrap(props.teamRegistries).items)].filter(([k]) => k !== "taskCredential" || registryKeys.has(k)))],
    ["### A gated image", keysOf(unwrap(props.gatedImages).items)],
    ["### An app", keysOf(unwrap(props.apps).items)],
  ];

  test.each(sections)("%s", (section, keys) => {
    const doc = documented(section);
    // The top table names whole registries and lists as one row each.
    const expected = [...keys.keys()].map((k) => (k === "teamRegistries[]" || k === "gatedImages[]" || k === "apps[]" ? k : k)).sort();
    const docKeys = [...doc.keys()].filter((k) => !(section === "## Keys" && k === "publicRegistry.images[]")).sort();
    expect(docKeys).toEqual(expected.filter((k) => k !== "publicRegistry.images[]"));
    for (const [key, def] of keys) {
      if (def === undefined) continue;
      const shown = doc.get(key)!;
      if (/^`[^`]*`$/.test(shown) && !shown.includes("...")) expect(`${key}: ${shown}`).toBe(`${key}: \`${typeof def === "string" ? def : JSON.stringify(def)}\``);
    }
  });

  test("the registry keys apply to the team registries too, except taskCredential; keyVault is theirs alone", () => {
    expect([...keysOf(unwrap(props.teamRegistries).items).keys()].sort()).toEqual([...registryKeys.keys(), ...teamOnly].sort());
    for (const k of teamOnly) expect(registryKeys.has(k)).toBe(false);
  });
});
