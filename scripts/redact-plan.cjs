#!/usr/bin/env node
/**
 * `terraform show -json plan.tfplan | node scripts/redact-plan.cjs > plan.json`: the plan's JSON
 * without its secrets, to keep as a CI artifact (examples/ci/acr-gate-plan.yml, help/ci.md).
 *
 * `terraform show -json` prints sensitive values in clear (the Git token, Docker Hub credentials,
 * token passwords). Terraform marks where they are: `sensitive_values` beside each resource's
 * `values`, `before_sensitive`/`after_sensitive` beside each change, `sensitive` on outputs, and
 * `sensitive` on variable declarations. Each marked value becomes the string "(sensitive)"; the
 * rest is kept as it is. Two places Terraform does not mark are masked too: a sensitive
 * variable's default in `configuration`, and a `terraform_data` resource's `output`, which copies
 * its `input` (a digest of a secret there, acr-gate's `*_revision` records, stays marked in
 * `input` but not in `output`). A plan JSON it does not recognise is refused (exit 1).
 */
const REDACTED = "(sensitive)";

/** `value` with every part `mask` marks true replaced; mask mirrors value's shape (objects, lists). */
function redact(value, mask) {
  if (mask === true) return value === null || value === undefined ? value : REDACTED;
  if (!mask || typeof mask !== "object" || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v, i) => redact(v, Array.isArray(mask) ? mask[i] : undefined));
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = redact(v, mask[k]);
  return out;
}

/** A module of planned_values or prior_state.values: resources, outputs, child modules. */
/** Two masks as one: a part marked in either stays marked. */
function union(a, b) {
  if (a === true || b === true) return true;
  if (!a || typeof a !== "object") return b;
  if (!b || typeof b !== "object") return a;
  if (Array.isArray(a) || Array.isArray(b)) {
    const n = Math.max(Array.isArray(a) ? a.length : 0, Array.isArray(b) ? b.length : 0);
    return Array.from({ length: n }, (_, i) => union(Array.isArray(a) ? a[i] : undefined, Array.isArray(b) ? b[i] : undefined));
  }
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = union(a[k], v);
  return out;
}

/** Terraform marks a terraform_data's input, never the output that copies it: the output gets both masks. */
function withOutputMask(type, mask) {
  if (type !== "terraform_data" || !mask || typeof mask !== "object" || mask.input === undefined || mask.input === false) return mask;
  return { ...mask, output: union(mask.output, mask.input) };
}

function redactModule(m) {
  if (!m || typeof m !== "object") return m;
  for (const r of m.resources || []) {
    if (r.values) r.values = redact(r.values, withOutputMask(r.type, r.sensitive_values));
  }
  for (const c of m.child_modules || []) redactModule(c);
  return m;
}

function redactValues(v) {
  if (!v || typeof v !== "object") return v;
  for (const o of Object.values(v.outputs || {})) if (o && o.sensitive) o.value = redact(o.value, true);
  redactModule(v.root_module);
  return v;
}

function redactPlan(plan) {
  if (!plan || typeof plan !== "object" || typeof plan.format_version !== "string" || !("resource_changes" in plan || "planned_values" in plan)) {
    throw new Error("not the JSON of a Terraform plan (terraform show -json <plan file>)");
  }
  // Variables: sensitive declarations, in the root module and any child module's call.
  const declared = (plan.configuration && plan.configuration.root_module && plan.configuration.root_module.variables) || {};
  for (const [name, v] of Object.entries(plan.variables || {})) {
    if (declared[name] && declared[name].sensitive) v.value = redact(v.value, true);
  }
  redactValues(plan.planned_values);
  if (plan.prior_state) redactValues(plan.prior_state.values);
  for (const rc of plan.resource_changes || []) {
    const c = rc.change || {};
    c.before = redact(c.before, withOutputMask(rc.type, c.before_sensitive));
    c.after = redact(c.after, withOutputMask(rc.type, c.after_sensitive));
  }
  for (const oc of Object.values(plan.output_changes || {})) {
    oc.before = redact(oc.before, oc.before_sensitive);
    oc.after = redact(oc.after, oc.after_sensitive);
  }
  for (const d of plan.resource_drift || []) {
    const c = d.change || {};
    c.before = redact(c.before, withOutputMask(d.type, c.before_sensitive));
    c.after = redact(c.after, withOutputMask(d.type, c.after_sensitive));
  }
  // A sensitive variable's default is written out in the configuration, unmarked.
  const redactDefaults = (mod) => {
    if (!mod || typeof mod !== "object") return;
    for (const v of Object.values(mod.variables || {})) if (v && v.sensitive && "default" in v) v.default = redact(v.default, true);
    for (const call of Object.values(mod.module_calls || {})) redactDefaults(call && call.module);
  };
  redactDefaults(plan.configuration && plan.configuration.root_module);
  return plan;
}

module.exports = { redactPlan, REDACTED, union };

if (require.main === module) {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (d) => (text += d));
  process.stdin.on("end", () => {
    try {
      process.stdout.write(`${JSON.stringify(redactPlan(JSON.parse(text)), null, 2)}\n`);
    } catch (e) {
      process.stderr.write(`redact-plan: ${e.message}\n`);
      process.exitCode = 1;
    }
  });
}
