/**
 * acr-gate.schema.json: the config's JSON Schema, generated from the zod schema (lib/config-schema.ts)
 * so that editors check a config as it is typed (`# yaml-language-server: $schema=...` in YAML,
 * `"$schema"` in JSON). `npm run schema` rewrites it; __tests__/schema.test.ts fails when it is stale.
 *
 * The JSON Schema holds each field's type, default, pattern and description, and the rule every
 * string obeys (no `${`, `%{`, `{{`, `}}`); the cross-field rules (names that collide, references
 * between sections) are checked by acr-gate itself, not by editors.
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { configFileSchema, MAX_STRING } from "../lib/config-schema";

export const SCHEMA_FILE = "acr-gate.schema.json";

/** The untrusted-text rule (lib/config-schema.ts), as a pattern no string may match. */
const TEMPLATE_SYNTAX = "\\$\\{|%\\{|\\{\\{|\\}\\}";

export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configFileSchema, {
    io: "input",
    unrepresentable: "any",
    override: (ctx) => {
      const s = ctx.jsonSchema as Record<string, unknown>;
      if (s.type === "string" && !s.not) {
        s.not = { pattern: TEMPLATE_SYNTAX };
        s.maxLength ??= MAX_STRING;
      }
    },
  }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$schema")),
    title: "acr-gate configuration",
    description: "The config file of acr-gate (help/configuration.md). Generated from lib/config-schema.ts by npm run schema: do not edit.",
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
