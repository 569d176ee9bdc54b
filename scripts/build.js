#!/usr/bin/env node
/**
 * npm run build (and so npm start and cdktf synth): compiles the app with tsconfig.build.json,
 * unless dist/ is already newer than every file it is built from. tsc spends about 3 s parsing the
 * provider's type declarations even when nothing changed; this check takes milliseconds.
 * `npm test` always type-checks everything (tsconfig.json), tests included.
 */
const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const stamp = path.join(root, "dist", ".build-stamp");
const inputs = ["main.ts", "tsconfig.json", "tsconfig.build.json", "package-lock.json"];
// Subfolders too (lib/config/ holds one module per section of the config file).
for (const dir of ["lib", "constructs", "app"]) {
  for (const f of fs.readdirSync(path.join(root, dir), { recursive: true })) if (f.endsWith(".ts")) inputs.push(path.join(dir, f));
}

const mtime = (f) => {
  try {
    return fs.statSync(path.join(root, f)).mtimeMs;
  } catch {
    return Infinity; // a missing input (a deleted file) counts as changed
  }
};
const main = path.join(root, "dist", "main.js");
/** dist/ is current: stamp it, and make the command runnable as `npx acr-gate` (package.json bin). */
const done = () => {
  fs.writeFileSync(stamp, `built ${new Date().toISOString()}\n`);
  fs.chmodSync(main, 0o755);
};
// --stamp: `npm test` has just compiled everything with tsconfig.json; record that.
if (process.argv[2] === "--stamp") {
  done();
  process.exit(0);
}
const built = fs.existsSync(main) && fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : -Infinity;
if (inputs.every((f) => mtime(f) < built) && process.argv[2] !== "--force") process.exit(0);

const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json")], { stdio: "inherit" });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
done();
