/**
 * The house has floors: lib/ (the foundation: config schema, rules, task model, principals,
 * addresses) below constructs/, and app/ (synthesis, diagram, policy, CLI, tools) above them.
 * No import runs upward, and the provider is imported deep (lib/<resource>), never from its root.
 * A file in a subfolder is on its top folder's floor (lib/config/*.ts is lib). No two of the
 * project's files import each other, directly or round a longer loop.
 */
import * as fs from "fs";
import * as path from "path";

const repo = path.resolve(__dirname, "..");
const FLOOR = { lib: 0, constructs: 1, app: 2 } as const;

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"|require\("([^"]+)"\)/gm)].map((m) => m[1] ?? m[2]);
}

/** Every .ts file under dir, subfolders included, by path relative to the repository. */
function tsFiles(dir: string): string[] {
  return (fs.readdirSync(path.join(repo, dir), { recursive: true }) as string[])
    .filter((f) => f.endsWith(".ts"))
    .sort()
    .map((f) => path.join(dir, f));
}

const files = (Object.keys(FLOOR) as (keyof typeof FLOOR)[]).flatMap((dir) => tsFiles(dir).map((f) => ({ dir, name: f, file: path.join(repo, f) })));

test("subfolders are read too", () => {
  expect(files.map((f) => f.name)).toContain(path.join("lib", "config", "schema.ts"));
});

test.each(files.map((f) => [f.name, f] as const))("%s imports only its floor and below", (_name, { dir, file }) => {
  const upward = importsOf(file)
    .filter((spec) => spec.startsWith("."))
    .map((spec) => path.relative(repo, path.resolve(path.dirname(file), spec)).split(path.sep)[0])
    .filter((target) => target in FLOOR && FLOOR[target as keyof typeof FLOOR] > FLOOR[dir]);
  expect(upward).toEqual([]);
});

test.each(files.map((f) => [f.name, f.file] as const))("%s imports the provider deep", (_name, file) => {
  expect(importsOf(file).filter((spec) => spec === "@cdktf/provider-azurerm" || spec === "@cdktf/provider-time")).toEqual([]);
});

test("main.ts is the app's entry and stays short", () => {
  const main = fs.readFileSync(path.join(repo, "main.ts"), "utf8");
  expect(main.split("\n").length).toBeLessThan(40);
  expect(importsOf(path.join(repo, "main.ts")).every((s) => s.startsWith("./app/"))).toBe(true);
});

describe("no import cycle among the project's own files", () => {
  const own = [...(Object.keys(FLOOR) as string[]).flatMap(tsFiles), "main.ts"].map((f) => f.split(path.sep).join("/"));
  const ownSet = new Set(own);
  /** A relative import as the project file it names (`x` is x.ts or x/index.ts), or undefined for a package. */
  const target = (from: string, spec: string): string | undefined => {
    if (!spec.startsWith(".")) return undefined;
    const base = path.posix.join(path.posix.dirname(from), spec);
    return [`${base}.ts`, `${base}/index.ts`].find((f) => ownSet.has(f));
  };
  const edges = new Map(own.map((f) => [f, [...new Set(importsOf(path.join(repo, f)).flatMap((s) => target(f, s) ?? []))]]));

  /** The strongly connected components of more than one file, or of one file importing itself (Tarjan). */
  function cycles(): string[][] {
    let next = 0;
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const out: string[][] = [];
    const visit = (v: string) => {
      index.set(v, next);
      low.set(v, next++);
      stack.push(v);
      onStack.add(v);
      for (const w of edges.get(v) ?? []) {
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
      if (low.get(v) !== index.get(v)) return;
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || edges.get(v)!.includes(v)) out.push(component.sort());
    };
    for (const v of own) if (!index.has(v)) visit(v);
    return out;
  }

  const found = cycles().map((c) => c.join(" + "));

  test("the import graph is read (the check sees real imports)", () => {
    expect(edges.get("lib/config.ts")).toContain("lib/config/schema.ts");
    expect(edges.get("main.ts")).toContain("app/cli.ts");
  });

  test("no two files import each other, directly or round a longer circle", () => {
    expect(found).toEqual([]);
  });

  test("a circle would be found (registry.ts and pull-token.ts were one, until they took interfaces)", () => {
    const saved = edges.get("constructs/interfaces.ts")!;
    edges.set("constructs/interfaces.ts", [...saved, "constructs/registry.ts"]);
    try {
      expect(cycles().map((c) => c.join(" + ")).some((c) => c.includes("constructs/interfaces.ts") && c.includes("constructs/registry.ts"))).toBe(true);
    } finally {
      edges.set("constructs/interfaces.ts", saved);
    }
  });
});
