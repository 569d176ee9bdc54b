/**
 * The rule every string of the file obeys, whatever field it is in: config text stays data. It runs
 * on the parsed file before the fields' own rules (lib/config.ts), over every string and every key,
 * so a new field cannot forget it; acr-gate.schema.json carries it as a pattern no string may match
 * ({@link UNTRUSTED_TEXT_PATTERN}, built from the same table as {@link untrustedTextProblem}).
 */
import { Token } from "cdktf";

/** Longest string anywhere in the file (Git URLs and image references stay far below). */
export const MAX_STRING = 2048;
/** Nesting depth of mappings and lists; the schema is 4 deep, this is headroom, not a feature. */
export const MAX_DEPTH = 32;

/**
 * Control characters, line breaks and bidirectional-text controls, as a regular expression's
 * character class (also a JSON Schema pattern): line breaks forge lines in task files, shell
 * commands and messages; bidi controls hide text from review.
 */
export const CONTROL_CHARACTERS = "[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]";

interface TextRule {
  /** What a JSON Schema pattern can say of the rule (editors check it too); absent: acr-gate alone checks it. */
  readonly pattern?: string;
  /** What the pattern cannot say. */
  readonly also?: (s: string) => boolean;
  readonly problem: string;
}

/** In the order they are checked: a string breaking several is refused for the first. */
const TEXT_RULES: readonly TextRule[] = [
  { pattern: "\\$\\{", problem: "must not contain '${' (Terraform evaluates it as an expression in the JSON)" },
  { pattern: "%\\{", problem: "must not contain '%{' (Terraform evaluates it as a template directive in the JSON)" },
  { pattern: "\\{\\{|\\}\\}", problem: "must not contain '{{' or '}}' (ACR renders task files as Go templates)" },
  // cdktf's own placeholders for values known only at synth: in config text they would be
  // resolved (or crash the synth) instead of staying text.
  {
    pattern: "[$#&]\\{TfToken\\[",
    also: (s) => s === Token.STRING_MAP_TOKEN_VALUE || s === Token.ANY_MAP_TOKEN_VALUE,
    problem: "must not contain a cdktf token marker ('${TfToken[', '#{TfToken[', '&{TfToken[' or a map token value)",
  },
  // Terraform reads JSON strings and keys in Unicode normal form C: other forms would come back changed.
  { also: (s) => s !== s.normalize("NFC"), problem: "must be in Unicode normal form C (Terraform would normalize it, changing the text)" },
  { pattern: CONTROL_CHARACTERS, problem: "must not contain control characters, line breaks or bidirectional-text controls" },
];

const COMPILED = TEXT_RULES.map((r) => ({ ...r, regex: r.pattern === undefined ? undefined : new RegExp(r.pattern) }));

/**
 * The rule as one JSON Schema pattern no string may match: template syntax, token markers, control
 * characters, line breaks and bidirectional-text controls (the normal-form rule has no pattern:
 * acr-gate alone checks it; the length is the schema's maxLength, {@link MAX_STRING}).
 */
export const UNTRUSTED_TEXT_PATTERN = TEXT_RULES.flatMap((r) => (r.pattern === undefined ? [] : [r.pattern])).join("|");

const ANY_PATTERN = new RegExp(UNTRUSTED_TEXT_PATTERN);
const ALSO = TEXT_RULES.flatMap((r) => (r.also ? [r.also] : []));

/** Why a piece of text cannot be config text, or undefined. Applied to every string and key of the file. */
export function untrustedTextProblem(s: string): string | undefined {
  // Every string and key of a config passes here (160,000 for a mapping of 80,000 tags): one
  // pattern for text that breaks no rule, the usual case; rule by rule only to name the broken one.
  if (ANY_PATTERN.test(s) || ALSO.some((also) => also(s))) {
    for (const r of COMPILED) if (r.regex?.test(s) || r.also?.(s)) return r.problem;
  }
  if (s.length > MAX_STRING) return `is longer than ${MAX_STRING} characters`;
  return undefined;
}

/**
 * Applies {@link untrustedTextProblem} to every string and key of the parsed file and returns a
 * copy in which null-valued keys hold undefined (YAML's `key:` with nothing after it means "not
 * set", while the key itself is still checked: a misspelled one is refused). `report`
 * receives each problem with its path, and the refused value (a key's problem names the key).
 */
export function walkUntrustedText(
  value: unknown,
  report: (path: (string | number)[], value: string | undefined, problem: string) => void,
  path: (string | number)[] = [],
  depth = 0,
): unknown {
  if (depth > MAX_DEPTH) {
    report(path, undefined, `nests mappings and lists more than ${MAX_DEPTH} deep`);
    return undefined;
  }
  if (typeof value === "string") {
    const problem = untrustedTextProblem(value);
    if (problem) report(path, value, problem);
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => walkUntrustedText(v, report, [...path, i], depth + 1));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // `__proto__` would set the prototype, not a key, where a later step copies the mapping.
      const problem = k === "__proto__" ? "is a reserved name" : untrustedTextProblem(k);
      if (problem) report([...path, k], undefined, `the key ${problem}`);
      // `key:` with nothing after it is "not set": kept as undefined, so that a misspelled key
      // left empty is still an unknown key, and a tag without a value is still refused.
      if (v === null) {
        Object.defineProperty(out, k, { value: undefined, enumerable: true, writable: true, configurable: true });
        continue;
      }
      Object.defineProperty(out, k, { value: walkUntrustedText(v, report, [...path, k], depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}
