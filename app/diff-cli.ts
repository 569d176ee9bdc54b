/**
 * `npm run diff -- <old cdk.tf.json> [<new cdk.tf.json>] [--json] [--fail-on-durable] [--fail-on-refused] [--rotated=...]`: the command
 * line and the text rendering of the preview (app/diff-rules.ts, on the plan of app/plan-model.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { Preview, previewReplacements, ResourceChange } from "./diff-rules";
import { Action } from "./plan-model";
import { byText } from "../lib/order";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export function renderText(p: Preview, oldFile: string, newFile: string): string {
  const lines: string[] = [`acr-gate diff: ${oldFile} -> ${newFile}`];
  if (p.unknownTypes.length) {
    lines.push(
      `WARNING: resource types not in app/forcenew.json: ${p.unknownTypes.join(", ")}.`,
      `  Changes to them are listed as UNKNOWN (update or replace?); add them with scripts/vendor-forcenew.js.`
    );
  }
  const group = (title: string, items: ResourceChange[], line: (c: ResourceChange) => string[]) => {
    lines.push(`${title} (${items.length})`);
    for (const c of items) lines.push(...line(c));
  };
  // "[next apply]" is already on the reasons it applies to.
  const tags = (c: ResourceChange) =>
    [
      c.durable && c.action !== "replace" ? " [DURABLE]" : "",
      c.preventDestroy ? " [prevent_destroy: plan fails]" : "",
      c.locked ? ` [LOCKED by ${c.locked}: Azure refuses the delete]` : "",
      c.refused ? " [REFUSED: see below]" : "",
    ].join("");
  const refusedLines = (c: ResourceChange) => (c.refused ?? []).map((r) => `      refused: ${r}`);
  // Every reason is listed, one a line: reasons[0], the decisive one, on the resource's line (or
  // after "because"), the rest in text order, so that the JSON's key order does not reorder them.
  const alsoLines = (c: ResourceChange) => c.reasons.slice(1).sort(byText).map((r) => `      also ${r}`);
  const why = (c: ResourceChange) => [`  ${c.address}${tags(c)}`, `      because ${c.reasons[0]}`, ...alsoLines(c), ...refusedLines(c)];
  const updated = (c: ResourceChange) => [`  ${c.address}${tags(c)}: ${c.reasons[0]}`, ...alsoLines(c), ...refusedLines(c)];
  const of = (a: Action, durable?: boolean) =>
    p.changes.filter((c) => c.action === a && (durable === undefined || c.durable === durable));
  group("REPLACE DURABLE", of("replace", true), why);
  group("Replace", of("replace", false), why);
  if (p.counts.unknown) group("UNKNOWN type changed: update or replace cannot be told", of("unknown"), updated);
  group("Update in place", of("update"), updated);
  group("Create", of("create"), (c) => [`  ${c.address}${tags(c)}`, ...refusedLines(c)]);
  group("Delete", of("delete"), (c) => [`  ${c.address}${tags(c)}`]);
  if (p.dataSources.length) {
    lines.push(`Data sources (not applied; their results can change values above) (${p.dataSources.length})`);
    for (const d of p.dataSources) lines.push(`  ${d.address}: ${d.reason}`);
  }
  for (const n of p.notes) lines.push(`Note: ${n}`);
  const c = p.counts;
  lines.push(
    `Plan: ${c.create} to add, ${c.update} to change, ${c.replace + c.replaceDurable} to replace (${
      c.replaceDurable
    } durable), ` +
      `${c.delete} to destroy${c.unknown ? `, ${c.unknown} UNKNOWN` : ""}` +
      `${c.locked + c.refused ? `; ${c.locked + c.refused} that fail or break at apply (${c.locked} locked, ${c.refused} refused)` : ""}.`
  );
  return lines.join("\n") + "\n";
}

const USAGE =
  "usage: npm run diff -- <old cdk.tf.json> [<new cdk.tf.json>] [--json] [--fail-on-durable] [--fail-on-refused] [--rotated=<variable>[,<variable>...]]";

function readTf(file: string): Obj {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      `${file}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (e as Error).message}`
    );
  }
  let tf: unknown;
  try {
    tf = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${(e as Error).message.split("\n")[0]})`);
  }
  if (!isObj(tf) || !("resource" in tf || "terraform" in tf))
    throw new Error(`${file}: not a Terraform JSON config (no "resource" or "terraform" block)`);
  return tf;
}

/**
 * Returns the exit code: 0; 2 with --fail-on-durable when a durable resource is replaced or deleted,
 * and with --fail-on-refused when Azure would refuse a change (a delete under a lock, an update the
 * provider refuses); 1 on bad input.
 */
export function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): number {
  const flags = argv.filter((a) => a.startsWith("-"));
  const files = argv.filter((a) => !a.startsWith("-"));
  if (flags.includes("--help") || flags.includes("-h")) {
    out(USAGE + "\n");
    return 0;
  }
  const bad = flags.filter((f) => f !== "--json" && f !== "--fail-on-durable" && f !== "--fail-on-refused" && !f.startsWith("--rotated="));
  if (bad.length) throw new Error(`unknown option ${bad[0]}; ${USAGE}`);
  // --rotated=github_token: that variable's value changes (a rotation), which the JSON cannot show.
  const rotated = flags.filter((f) => f.startsWith("--rotated=")).flatMap((f) => f.slice("--rotated=".length).split(","));
  for (const v of rotated) if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(v)) throw new Error(`--rotated: ${JSON.stringify(v)} is not a variable name; ${USAGE}`);
  if (files.length < 1 || files.length > 2) throw new Error(USAGE);
  const oldFile = files[0];
  const oldTf = readTf(oldFile);
  // One argument: compare with what `npm start` synthesized for the same stack, named by the stack
  // name cdktf writes into every JSON ("//".metadata.stackName), wherever the old copy was put.
  const newFile = files[1] ?? sameStackIn("cdktf.out", oldTf, oldFile);
  if (!files[1] && !fs.existsSync(newFile)) {
    throw new Error(`no new file given and ${newFile} does not exist; run npm start first, or pass the new cdk.tf.json`);
  }
  // The same file twice is a question only a rotation asks (what does rotating the token do?).
  if (path.resolve(oldFile) === path.resolve(newFile) && rotated.length === 0) {
    throw new Error(`old and new are the same file (${newFile}); copy the old cdk.tf.json aside before synthesizing`);
  }
  const preview = previewReplacements(oldTf, readTf(newFile), { changedVariables: rotated });
  // Loud on stderr too, so --json consumers and CI logs see it.
  if (preview.unknownTypes.length)
    console.error(
      `acr-gate diff: WARNING: not in app/forcenew.json, changes cannot be classified: ${preview.unknownTypes.join(", ")}`
    );
  out(
    flags.includes("--json")
      ? JSON.stringify({ old: oldFile, new: newFile, ...preview }, null, 2) + "\n"
      : renderText(preview, oldFile, newFile)
  );
  const durableLoss = preview.changes.some((c) => c.durable && (c.action === "replace" || c.action === "delete"));
  const refused = preview.counts.locked + preview.counts.refused > 0;
  return (flags.includes("--fail-on-durable") && durableLoss) || (flags.includes("--fail-on-refused") && refused) ? 2 : 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    console.error(`acr-gate diff: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}

/**
 * The new JSON of the old file's stack in `outdir`: by the stack name in its metadata; for a JSON
 * without one, by its folder's name (cdktf.out/stacks/<stack>/), or the only stack there is.
 */
function sameStackIn(outdir: string, oldTf: Record<string, unknown>, oldFile: string): string {
  const file = (stack: string) => path.join(outdir, "stacks", stack, "cdk.tf.json");
  const meta = (oldTf["//"] as { metadata?: { stackName?: unknown } } | undefined)?.metadata;
  if (typeof meta?.stackName === "string" && /^[A-Za-z0-9_-]+$/.test(meta.stackName)) return file(meta.stackName);
  const folder = path.basename(path.dirname(path.resolve(oldFile)));
  if (fs.existsSync(file(folder))) return file(folder);
  const stacks = fs.existsSync(path.join(outdir, "stacks")) ? fs.readdirSync(path.join(outdir, "stacks")).filter((d) => fs.existsSync(file(d))) : [];
  if (stacks.length === 1) return file(stacks[0]);
  if (stacks.length === 0) return file(folder); // the caller says it does not exist: run npm start first
  throw new Error(`cannot tell which stack ${oldFile} is (no stackName in it, ${stacks.length} stacks in ${outdir}); pass the new cdk.tf.json too`);
}
