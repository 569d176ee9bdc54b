/**
 * Field primitives: the zod schemas every section builds its keys from. Each carries its own
 * message for a wrong type, so a user reads the rule, not zod's vocabulary, and its description
 * and JSON Schema keywords, so acr-gate.schema.json (app/config-json-schema.ts) says what the
 * field's own rule says.
 */
import { z } from "zod";
import { checkName, NameRule, RuleName, RULES } from "../rules";
import { AZURE_LOCATIONS } from "../azure-regions";

// A config is parsed once per process: zod's generated fast path for objects (code built and
// compiled with new Function on the first parse) costs more than that one parse gains, about 4 ms
// of the default synth (help/performance.md). The results are the same either way. zod reads the
// setting when an object schema is made, so it is set here, before any section makes one.
z.config({ jitless: true });

type Issue = { readonly input?: unknown };
export const requiredOr = (message: string) => (iss: Issue) => (iss.input === undefined ? "is required" : message);

/** Extra JSON Schema patterns of one field: the value must match every one of `patterns`, none of `notPatterns`. */
export interface FieldPatterns {
  readonly patterns?: readonly string[];
  readonly notPatterns?: readonly string[];
}

/**
 * A string that must satisfy one of the naming rules of lib/rules.ts. The rule's pattern goes into
 * the JSON Schema too (editors check it as you type); its extra checks live only here.
 */
export function named(rule: RuleName, description: string, field: FieldPatterns = {}) {
  return z
    .string({ error: requiredOr("must be a non-empty string") })
    .superRefine((v, ctx) => {
      const problem = checkName(rule, v);
      if (problem) ctx.addIssue({ code: "custom", message: problem, input: v });
    })
    .meta({ description, ...ruleJsonSchema(rule, field), ...(rule === "location" ? { enum: [...AZURE_LOCATIONS] } : {}) });
}

/** A naming rule as JSON Schema keywords: its pattern, and what its extra checks say that a schema can (lib/rules.ts). */
export function ruleJsonSchema(rule: RuleName, field: FieldPatterns = {}): Record<string, unknown> {
  const r = RULES[rule] as NameRule;
  const patterns = [...(r.schema?.patterns ?? []), ...(field.patterns ?? [])];
  const notPatterns = [...(r.schema?.notPatterns ?? []), ...(field.notPatterns ?? [])];
  const all = [...patterns.map((p) => ({ pattern: p })), ...notPatterns.map((p) => ({ not: { pattern: p } }))];
  return {
    pattern: r.schema?.pattern ?? r.pattern.source,
    ...(r.schema?.maxLength !== undefined ? { maxLength: r.schema.maxLength } : {}),
    ...(all.length ? { allOf: all } : {}),
  };
}

/**
 * A whole number in [min, max]. Not zod's own `.int()`: it reports a fraction as a wrong type that
 * stops the parse before the cross-field rules, which must run whatever single field failed
 * (lib/config/schema.ts); so the rule is a refinement, and its JSON Schema keywords are stated.
 */
function wholeNumber(min: number, max: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.number({ error: message }).superRefine((v, ctx) => {
    if (!Number.isInteger(v) || v < min || v > max) ctx.addIssue({ code: "custom", message, input: v });
  });
}

export function int(min: number, max: number, fallback: number, description: string) {
  return wholeNumber(min, max).default(fallback).meta({ description, type: "integer", minimum: min, maximum: max });
}

/** A whole number with no default: unset means something of its own. */
export function optionalInt(min: number, max: number, description: string) {
  return wholeNumber(min, max).optional().meta({ description, type: "integer", minimum: min, maximum: max });
}

export function decimal(min: number, max: number, fallback: number, description: string) {
  const message = `must be a number from ${min} to ${max}`;
  return z
    .number({ error: message })
    .superRefine((v, ctx) => {
      if (v < min || v > max) ctx.addIssue({ code: "custom", message, input: v });
    })
    .default(fallback)
    .meta({ description, minimum: min, maximum: max });
}

const BOOL = "must be true or false";

export function bool(fallback: boolean, description: string) {
  return z.boolean({ error: BOOL }).default(fallback).meta({ description });
}

/** A true or false with no static default: it derives from other keys, so absent must stay absent. */
export function unsetBool(description: string) {
  return z.boolean({ error: BOOL }).optional().meta({ description });
}

export function oneOf<const T extends readonly [string, ...string[]]>(options: T, fallback: T[number], description: string) {
  return z
    .enum(options, { error: `must be one of ${options.join(", ")}` })
    .default(fallback as never)
    .meta({ description });
}

/** One of a few words with no static default: it derives from other keys, so absent must stay absent. */
export function unsetOneOf<const T extends readonly [string, ...string[]]>(options: T, description: string) {
  return z.enum(options, { error: `must be one of ${options.join(", ")}` }).optional().meta({ description });
}

/** A mapping with exactly these keys: a misspelled key is an error that names the allowed ones. */
export function strict<S extends z.ZodRawShape>(shape: S, description: string) {
  const allowed = Object.keys(shape).join(", ");
  return z
    .strictObject(shape, {
      error: (iss) =>
        iss.code === "unrecognized_keys" ? `unknown key (allowed: ${allowed})` : iss.input === undefined ? "is required" : "must be a mapping",
    })
    .meta({ description });
}

export function list<T extends z.ZodType>(item: T, description: string, required = "is required") {
  return z.array(item, { error: (iss) => (iss.input === undefined ? required : "must be a list") }).meta({ description });
}
