/**
 * How Terraform reads the strings of a JSON configuration: every string (and every object key used
 * as a map key) is a template, where `${...}` is an interpolation, `%{...}` a directive, and `$${` /
 * `%%{` escapes that render as `${` / `%{`. Tests use this to prove config text never becomes an
 * expression, and that every expression in the JSON is one acr-gate generates on purpose.
 */

export interface Interpolation {
  readonly kind: "${" | "%{";
  /** Offsets in the string, from the `$`/`%` to just after the closing `}`. */
  readonly start: number;
  readonly end: number;
  readonly body: string;
}

/** The interpolations and directives Terraform would evaluate in `s` (HCL template scanning rules). */
export function interpolations(s: string): Interpolation[] {
  const out: Interpolation[] = [];
  let i = 0;
  while (i < s.length) {
    const two = s.slice(i, i + 2);
    if ((two === "$$" || two === "%%") && s[i + 2] === "{") {
      i += 3; // escape: renders as a literal "${" or "%{"
      continue;
    }
    if (two === "${" || two === "%{") {
      const end = closingBrace(s, i + 2);
      out.push({ kind: two, start: i, end, body: s.slice(i + 2, end - 1) });
      i = end;
      continue;
    }
    i++;
  }
  return out;
}

/** Index just after the `}` that closes a template sequence opened before `from`, skipping quoted strings. */
function closingBrace(s: string, from: number): number {
  let depth = 1;
  let quoted = false;
  for (let i = from; i < s.length; i++) {
    const ch = s[i];
    if (quoted) {
      if (ch === "\\") i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) return i + 1;
  }
  return s.length; // unterminated: Terraform rejects the file; the caller sees the whole rest as the body
}

/** Every string value and object key of a JSON document, with its path. */
export function* allStrings(value: unknown, path = ""): Generator<[string, string]> {
  if (typeof value === "string") yield [path, value];
  else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield* allStrings(value[i], `${path}[${i}]`);
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      yield [`${path}{key}`, k];
      yield* allStrings(v, path ? `${path}.${k}` : k);
    }
  }
}

const REF = String.raw`(?:data\.)?[a-z][a-z0-9_]*\.[a-z0-9_]+(?:\.[a-z0-9_]+|\[\d+\])+`;
const VAR = String.raw`var\.[a-z_][a-z0-9_]*`;

/** The shapes of every expression acr-gate writes on purpose; anything else in the JSON is a finding. */
export const OUR_EXPRESSIONS: readonly RegExp[] = [
  new RegExp(`^${REF}$`),
  new RegExp(`^${VAR}$`),
  new RegExp(`^${VAR} == "" \\? null : ${VAR}$`),
  new RegExp(`^timeadd\\(${REF}, "\\d+h"\\)$`),
  new RegExp(`^element\\(split\\("/", ${REF}\\), \\d+\\)$`),
  new RegExp(`^substr\\(sha1\\(${REF}\\), 0, \\d+\\)$`),
  new RegExp(`^lower\\(${REF}\\)$`),
  // time_sleep.grants_propagation's trigger: a hash of every grant's id.
  new RegExp(`^sha1\\(join\\(",", \\[${REF}(?:, ${REF})*\\]\\)\\)$`),
  // A secret's revision (Vault.storeSecret) hashes its value: a reference, a variable or a name.
  new RegExp(`^sha1\\((?:${REF}|${VAR}|"[\\w.-]+")\\)$`),
  // The deployers' access policies (for_each over var.deployers), and that variable's validation.
  /^each\.value$/,
  new RegExp(`^length\\(${VAR}\\) > 0 && alltrue\\(\\[for id in values\\(${VAR}\\) : can\\(regex\\("[\\^\\[\\]0-9a-fA-F{}\\-\\\\z]+", id\\)\\)\\]\\) && length\\(distinct\\(\\[for id in values\\(${VAR}\\) : lower\\(id\\)\\]\\)\\) == length\\(${VAR}\\)$`),
  // EnvironmentGuard: the recorded subscription and tenant against the provider's.
  new RegExp(`^\\(\\(${REF} == ${REF}\\) && \\(${REF} == ${REF}\\)\\)$`),
  // StoredSecret.id: a versioned secret id that changes in the same plan as the value.
  new RegExp(`^\\(${REF} == null\\) \\? "" : ${REF}$`),
];

/** Expressions in the JSON that acr-gate does not generate, as "path: body" lines (empty when sound). */
export function foreignExpressions(tf: unknown): string[] {
  const found: string[] = [];
  for (const [path, s] of allStrings(tf)) {
    for (const x of interpolations(s)) {
      if (x.kind === "%{" || !OUR_EXPRESSIONS.some((re) => re.test(x.body))) found.push(`${path}: ${x.kind}${x.body}}`);
    }
  }
  return found;
}
