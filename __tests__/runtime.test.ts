/**
 * The runtime: npm scripts (npm test, npm start, cdktf's app command) run on the Node that
 * package.json pins as a devDependency (the `node` package puts its binary first on the scripts'
 * PATH), not on the machine's own: Node 20 reached end of life on 2026-04-30.
 */
import * as fs from "fs";
import * as path from "path";

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));

test("package.json pins Node 24 exactly, allows its install script, and asks for at least 22", () => {
  expect(pkg.devDependencies.node).toMatch(/^24\.\d+\.\d+$/);
  expect(pkg.allowScripts).toEqual({ node: true });
  expect(pkg.engines.node).toBe(">=22");
});

test("this test runs on that Node (npm test put it first on the PATH)", () => {
  expect(process.version).toBe(`v${pkg.devDependencies.node}`);
});

test("cdktf-cli's node-pty (the maintained fork put in its place) loads on this Node and runs a command", async () => {
  // cdktf synth and deploy run Terraform through it: the CLI fails at start when it cannot load.
  const pty = require("@cdktf/node-pty-prebuilt-multiarch") as {
    spawn(file: string, args: string[], o: object): { onExit(cb: (e: { exitCode: number }) => void): void; onData(cb: (d: string) => void): void };
  };
  const p = pty.spawn("/bin/sh", ["-c", "echo in-a-pty; exit 3"], { env: { PATH: "/usr/bin:/bin" } });
  let out = "";
  p.onData((d) => (out += d));
  const code = await new Promise<number>((resolve) => p.onExit((e) => resolve(e.exitCode)));
  expect(code).toBe(3);
  expect(out).toContain("in-a-pty");
});

test("npm start, npm run synth and cdktf synth run one command line: the synth script's, with its Node flags", () => {
  const cdktf = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "cdktf.json"), "utf8"));
  expect(cdktf.app).toBe("npm run --silent synth");
  expect(pkg.scripts.start).toBe("npm run --silent synth --");
  // A young generation of 16 MB: the 500-image synth's peak RSS 280 MB instead of 410 MB on Node 24 (help/performance.md).
  expect(pkg.scripts.synth).toBe("npm run --silent build && node --max-semi-space-size=16 dist/main.js");
});
