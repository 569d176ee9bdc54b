import * as fs from "fs";
import * as path from "path";
import { renderWorkflow } from "../lib/diagram";
import { synth } from "./helpers";

test("help/workflow.md is the diagram the default config synthesizes (regenerate: npm start, copy cdktf.out/workflow.md)", () => {
  const committed = fs.readFileSync(path.join(__dirname, "..", "help", "workflow.md"), "utf8");
  expect(committed).toBe(renderWorkflow(synth().stack));
});

test("the diagram shows each registry, task, trigger, gate and app of the stack", () => {
  const md = renderWorkflow(synth().stack);
  for (const s of [
    "publicregistry (publicregistry.azurecr.io)",
    "task node-public",
    "gate node:15-alpine: functional-test + vulnerability-scan then promote node:15-alpine",
    "on: commit, base image update",
    "ACI hello-world-aci (hello-world-aci-rg)",
    "push fires base image trigger",
    "az container create",
  ]) {
    expect(md).toContain(s);
  }
  expect(md).not.toContain("TfToken");
});
