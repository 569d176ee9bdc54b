/**
 * acr-gate.schema.json: the config's JSON Schema, generated from the zod schema (lib/config-schema.ts)
 * so that editors check a config as it is typed (`# yaml-language-server: $schema=...` in YAML,
 * `"$schema"` in JSON). `npm run schema` rewrites it; __tests__/schema.test.ts fails when it is stale.
 *
 * The JSON Schema holds each field's type, default, pattern and description, what its naming rule's
 * extra checks say where a schema can (lib/rules.ts `schema`), the rule every string obeys (no `${`,
 * `%{`, `{{`, `}}`, control characters), and null for every optional key; the cross-field rules
 * (names that collide, references between sections) are checked by acr-gate itself, not by editors.
 * __tests__/schema-corpus.test.ts holds the two to the same verdicts.
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { configFileSchema, MAX_STRING } from "../lib/config-schema";

export const SCHEMA_FILE = "acr-gate.schema.json";
/** A stable identifier (not a download address: editors read the file beside the config). */
export const SCHEMA_ID = "urn:acr-gate:config-schema:1";

/**
 * The untrusted-text rule (lib/config-schema.ts), as a pattern no string may match: template
 * syntax, control characters, line breaks and bidirectional-text controls. (Its Unicode-normal-form
 * rule has no pattern: acr-gate alone checks it.)
 */
const UNTRUSTED_TEXT = "\\$\\{|%\\{|\\{\\{|\\}\\}|[$#&]\\{TfToken\\[|[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]";

/** `key:` with nothing after it is YAML's null, which acr-gate reads as "not set": optional keys accept it. */
function nullableOptionals(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(nullableOptionals);
  if (node === null || typeof node !== "object") return;
  const o = node as Record<string, any>;
  for (const v of Object.values(o)) nullableOptionals(v);
  // Keys obey the untrusted-text rule too.
  if (o.propertyNames && typeof o.propertyNames === "object") o.propertyNames = { ...o.propertyNames, not: { pattern: UNTRUSTED_TEXT } };
  if (o.type === "object" && o.properties && typeof o.properties === "object") {
    const required = new Set<string>(o.required ?? []);
    for (const [k, p] of Object.entries<Record<string, unknown>>(o.properties)) {
      if (required.has(k)) continue;
      const { description, default: dflt, ...rest } = p;
      o.properties[k] = { ...(description !== undefined ? { description } : {}), ...(dflt !== undefined ? { default: dflt } : {}), anyOf: [rest, { type: "null" }] };
    }
  }
}

export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configFileSchema, {
    io: "input",
    unrepresentable: "any",
    override: (ctx) => {
      const s = ctx.jsonSchema as Record<string, unknown>;
      if (s.type === "string" && !s.not) {
        s.not = { pattern: UNTRUSTED_TEXT };
        s.maxLength ??= MAX_STRING;
      }
    },
  }) as Record<string, unknown>;
  nullableOptionals(schema);
  return {
    $schema: schema.$schema,
    $id: SCHEMA_ID,
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$schema")),
    title: "acr-gate configuration",
    description:
      "The config file of acr-gate (help/configuration.md). To have an editor check a YAML config as you type, make its first line " +
      "`# yaml-language-server: $schema=<path to>/acr-gate.schema.json` (VS Code with the YAML extension, or any yaml-language-server client). " +
      "It says what `acr-gate --check` says of each field; rules between fields (names that must differ, references between sections) " +
      "only acr-gate checks. Generated from lib/config-schema.ts by npm run schema: do not edit.",
  };
}

export function renderSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
  const file = path.resolve(__dirname, "..", "..", SCHEMA_FILE);
  fs.writeFileSync(file, renderSchema());
  console.log(`acr-gate: wrote ${path.relative(process.cwd(), file) || file}`);
}
