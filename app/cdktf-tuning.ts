/**
 * The three changes to how cdktf runs, kept here and nowhere else, all for synth speed (issue 13:
 * 500 gated images and 500 apps in 5 s), none changing a byte of the JSON
 * (__tests__/cdktf-tuning.test.ts synthesizes every example both ways and compares).
 * `tuneCdktf()` applies the process-wide ones (1 and 3); 2 is per stack.
 *
 * 1. No JavaScript stack trace for every token and nested block cdktf creates.
 *
 * cdktf captures a full, unlimited-depth stack trace in the constructor of every token, lazy value
 * and nested-block object (`captureStackTrace` in cdktf/lib/tokens/private/stack-trace.js), only to
 * print it in its own error messages about unresolvable tokens. A 500-app synth creates ~36,000 of
 * them: a quarter of the whole synth (help/performance.md), and five times slower under jest,
 * whose source-map support formats every frame. acr-gate never shows those traces (its CLI prints
 * one line per problem), and the JSON does not depend on them: __tests__/cdktf-tuning.test.ts
 * checks that the JSON is byte-identical with and without this.
 *
 * If a later cdktf (or CDK Terrain) moves the function, this does nothing: synth gets slower, not
 * wrong.
 */
import type { TerraformStack } from "cdktf";

/** 1 and 3: once per process, before the first stack is built. */
export function tuneCdktf(): void {
  skipCdktfCreationTraces();
  resolvePlainValuesDirectly();
}

let applied = false;

export function skipCdktfCreationTraces(): void {
  if (applied) return;
  applied = true;
  let traces: { captureStackTrace?: unknown } | undefined;
  try {
    traces = require("cdktf/lib/tokens/private/stack-trace");
  } catch {
    return;
  }
  if (traces && typeof traces.captureStackTrace === "function") traces.captureStackTrace = () => [];
}

/**
 * 2. No cross-stack scan of a stack that references no other stack.
 *
 * Before writing a stack, cdktf's `prepareStack()` resolves every element of it once more, in
 * "preparing" mode, only to find references to other stacks and create the outputs and remote state
 * they need: a second full token resolution, 2.3 s of a 6,000-resource synth. A stack that refers to
 * no other stack (the single-stack layout; the platform stack of the split layout, which no
 * reference leaves) needs only what else prepareStack does: a default backend.
 */
export function skipCrossStackScan(stack: TerraformStack): void {
  stack.prepareStack = () => {
    stack.ensureBackendExists();
  };
}

/**
 * 3. Plain values are not sent through cdktf's token resolver.
 *
 * `stack.toTerraform()` resolves the output of every element's `toTerraform()`. Generated resource
 * classes return every attribute and nested block of the schema, most of them `undefined`, and
 * cdktf's resolver builds two resolution contexts (closures, a copied options object, a longer
 * path array) for every key and value it visits, tokens or not: 2.7 s of a 6,000-resource synth,
 * most of it on `undefined` and on strings that hold no token. Here the walk over plain data
 * (undefined, booleans, strings without a token marker or an encoded number, arrays and plain
 * objects of those) is done directly, with the same result (undefined values dropped, keys kept in
 * order); anything else (a token, a tokenized string or number, a list or map token, an object with
 * a prototype) goes to cdktf's own resolver, exactly as before. Only `cdktf/lib/_tokens`' `resolve`
 * is replaced, which only `TerraformStack` calls; a preparing (cross-stack scan) call is passed
 * through untouched.
 */
const TOKEN_MARKER = "TfToken[";
// cdktf's NUMBER_TOKEN_REGEX (cdktf/lib/tokens/private/encoding.js): a string matching it may hold
// an encoded number token, so it goes to cdktf.
const NUMBER_TOKEN = /[-|\d|.+]+(e[-|\d|.|e|E|+]+)/;
// cdktf's reserved map-token placeholder strings (Token.STRING_MAP_TOKEN_VALUE, ANY_MAP_TOKEN_VALUE).
const MAP_PLACEHOLDERS = new Set(["String Map Token Value", "Any Map Token Value"]);

let resolveReplaced = false;

export function resolvePlainValuesDirectly(): void {
  if (resolveReplaced) return;
  resolveReplaced = true;
  let mod: { resolve?: (scope: unknown, obj: unknown, preparing?: boolean) => unknown } | undefined;
  try {
    mod = require("cdktf/lib/_tokens");
  } catch {
    return;
  }
  const cdktfResolve = mod?.resolve;
  if (!mod || typeof cdktfResolve !== "function") return;

  mod.resolve = (scope: unknown, obj: unknown, preparing = false) => {
    if (preparing) return cdktfResolve(scope, obj, preparing);
    // Past this depth cdktf reports a circular reference; let it.
    const MAX_DEPTH = 150;
    const walk = (v: unknown, depth = 0): unknown => {
      if (depth > MAX_DEPTH) return cdktfResolve(scope, v);
      switch (typeof v) {
        case "undefined":
        case "boolean":
          return v;
        case "string":
          return v.includes(TOKEN_MARKER) || NUMBER_TOKEN.test(v) || MAP_PLACEHOLDERS.has(v) ? cdktfResolve(scope, v) : v;
        case "object": {
          if (v === null) return null;
          if (Array.isArray(v)) {
            // A list token (or an encoded number list) is resolved as a whole by cdktf.
            if (v.some((x) => typeof x === "number" || (typeof x === "string" && x.includes(TOKEN_MARKER)))) return cdktfResolve(scope, v);
            const out: unknown[] = [];
            for (const x of v) {
              const r = walk(x, depth + 1);
              if (r !== undefined) out.push(r);
            }
            return out;
          }
          const proto = Object.getPrototypeOf(v);
          if (proto !== Object.prototype && proto !== null) return cdktfResolve(scope, v); // tokens, constructs, dates
          const o = v as Record<string, unknown>;
          const keys = Object.keys(o);
          // Tokens, token-looking keys, and construct-shaped objects (cdktf's own error) go to cdktf.
          if (typeof o.resolve === "function" || ("_children" in o && "_metadata" in o)) return cdktfResolve(scope, v);
          if (keys.some((k) => k.includes(TOKEN_MARKER) || NUMBER_TOKEN.test(k) || MAP_PLACEHOLDERS.has(k))) return cdktfResolve(scope, v);
          const out: Record<string, unknown> = {};
          for (const k of keys) {
            const r = walk(o[k], depth + 1);
            if (r !== undefined) out[k] = r;
          }
          return out;
        }
        default:
          return cdktfResolve(scope, v); // numbers (possibly encoded tokens), functions (cdktf's error)
      }
    };
    return walk(obj);
  };
}
