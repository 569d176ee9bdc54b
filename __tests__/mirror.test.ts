/**
 * help/getting-started.md, "Without access to the Terraform registry": its CLI configuration block
 * and commands, run as written (the mirror path aside) against ../shared/terraform-mirror, up to
 * `terraform validate` on the default synthesized stack. Needs terraform and the mirror; skipped
 * with a note without them (an error in CI: ACR_GATE_REQUIRE_TOOLS=1).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { synth } from "./helpers";
import { requireTool } from "./support/go-render";

const repo = path.join(__dirname, "..");
const guide = fs.readFileSync(path.join(repo, "help", "getting-started.md"), "utf8");
const mirror = [process.env.ACR_GATE_TF_MIRROR, path.join(repo, "..", "shared", "terraform-mirror")].find(
  (m) => m && fs.existsSync(path.join(m, "registry.terraform.io", "hashicorp", "azurerm", "terraform-provider-azurerm_4.81.0_linux_amd64.zip")),
);
const tf = spawnSync("terraform", ["version"], { encoding: "utf8" });
const ready = requireTool("terraform and the provider mirror (ACR_GATE_TF_MIRROR or ../shared/terraform-mirror) with azurerm 4.81.0 and time 0.13.1", !tf.error && tf.status === 0 && mirror !== undefined);

/** The fenced block right after the marker comment, and the sh block after it. */
function documented(): { tfrc: string; commands: string[] } {
  const at = guide.indexOf("<!-- acr-gate: mirror.tfrc");
  expect(at).toBeGreaterThan(0);
  const blocks = [...guide.slice(at).matchAll(/```(\w+)\n([\s\S]*?)```/g)].slice(0, 2);
  expect(blocks.map((b) => b[1])).toEqual(["hcl", "sh"]);
  const commands = blocks[1][2].split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter(Boolean);
  return { tfrc: blocks[0][2], commands };
}

test("the guide's block is a filesystem mirror for hashicorp/* with no registry fallback", () => {
  const { tfrc, commands } = documented();
  expect(tfrc).toMatch(/filesystem_mirror \{\s+path\s+= "\/srv\/terraform-mirror"\s+include = \["registry\.terraform\.io\/hashicorp\/\*"\]/);
  expect(tfrc).toMatch(/direct \{\s+exclude = \["registry\.terraform\.io\/hashicorp\/\*"\]/);
  expect(commands).toEqual([
    "export TF_CLI_CONFIG_FILE=$PWD/mirror.tfrc",
    "cd cdktf.out/stacks/acr-gate",
    "terraform init -input=false",
    "terraform validate",
    "terraform plan -out plan.tfplan && terraform apply plan.tfplan",
  ]);
});

(ready ? test : test.skip)(
  "run as written: init installs the pinned providers from the mirror only, and the stack validates",
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acr-gate-mirror-"));
    try {
      const { tfrc } = documented();
      fs.writeFileSync(path.join(dir, "mirror.tfrc"), tfrc.replace("/srv/terraform-mirror", mirror!));
      const stack = path.join(dir, "cdktf.out", "stacks", "acr-gate");
      fs.mkdirSync(stack, { recursive: true });
      fs.writeFileSync(path.join(stack, "cdk.tf.json"), synth().json);
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, TF_CLI_CONFIG_FILE: path.join(dir, "mirror.tfrc"), CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" };
      const run = (...args: string[]) => spawnSync("terraform", [...args, "-no-color"], { cwd: stack, env, encoding: "utf8" });
      const init = run("init", "-input=false");
      expect(init.stderr).toBe("");
      expect(init.status).toBe(0);
      expect(init.stdout).toMatch(/Installing hashicorp\/azurerm v4\.81\.0/);
      expect(init.stdout).toMatch(/Installing hashicorp\/time v0\.13\.1/);
      const v = run("validate", "-json");
      expect(JSON.parse(v.stdout)).toMatchObject({ valid: true, error_count: 0 });
      expect(fs.readFileSync(path.join(stack, ".terraform.lock.hcl"), "utf8")).toMatch(/provider "registry\.terraform\.io\/hashicorp\/azurerm" \{\s+version\s+= "4\.81\.0"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  120_000,
);
