/**
 * The house has floors: lib/ (the foundation: config schema, rules, task model, principals,
 * addresses) below constructs/, and app/ (synthesis, diagram, policy, CLI, tools) above them.
 * No import runs upward, and the provider is imported deep (lib/<resource>), never from its root.
 */
import * as fs from "fs";
import * as path from "path";

const repo = path.resolve(__dirname, "..");
const FLOOR = { lib: 0, constructs: 1, app: 2 } as const;

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"|require\("([^"]+)"\)/gm)].map((m) => m[1] ?? m[2]);
}

const files = (Object.keys(FLOOR) as (keyof typeof FLOOR)[]).flatMap((dir) =>
  fs
    .readdirSync(path.join(repo, dir))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => ({ dir, file: path.join(repo, dir, f) })),
);

test.each(files.map((f) => [`${f.dir}/${path.basename(f.file)}`, f] as const))("%s imports only its floor and below", (_name, { dir, file }) => {
  const upward = importsOf(file)
    .filter((spec) => spec.startsWith("."))
    .map((spec) => path.relative(repo, path.resolve(path.dirname(file), spec)).split(path.sep)[0])
    .filter((target) => target in FLOOR && FLOOR[target as keyof typeof FLOOR] > FLOOR[dir]);
  expect(upward).toEqual([]);
});

test.each(files.map((f) => [`${f.dir}/${path.basename(f.file)}`, f.file] as const))("%s imports the provider deep", (_name, file) => {
  expect(importsOf(file).filter((spec) => spec === "@cdktf/provider-azurerm" || spec === "@cdktf/provider-time")).toEqual([]);
});

test("main.ts is the app's entry and stays short", () => {
  const main = fs.readFileSync(path.join(repo, "main.ts"), "utf8");
  expect(main.split("\n").length).toBeLessThan(40);
  expect(importsOf(path.join(repo, "main.ts")).every((s) => s.startsWith("./app/"))).toBe(true);
});
