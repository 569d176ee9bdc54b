/**
 * The REAL azurerm provider (4.81.0, and 5.2.0 ahead: both from the mirror) planning and applying
 * against a STAND-IN Azure Resource Manager (./support/arm-stand-in.ts; help/validation.md, "The
 * real provider on a stand-in ARM"): Azure's answers are canned here, the provider's logic is its
 * own. Two questions of issue 27 that mocked providers (`terraform test`) cannot answer, since a
 * mock plans and applies by Terraform's rules, not the provider's:
 *
 * 1. Does giving an existing first run (`azurerm_container_registry_task_schedule_run_now`) a
 *    `timeouts` block plan a replacement, i.e. run every gate again on upgrade? No: the plugin SDK
 *    keeps `timeouts` out of the resource's own schema, so a timeouts-only change makes no diff and
 *    the planned state is the prior state (terraform-plugin-sdk v2.38.1 helper/schema/grpc_provider.go,
 *    PlanResourceChange: `if diff == nil || (len(diff.Attributes) == 0 ...) { resp.PlannedState =
 *    req.PriorState }`). The same holds for a resource that has an update (the task itself).
 * 2. What does an apply leave behind when a first run fails? (help/operations.md, "First runs run
 *    again when their task changes".)
 *
 * Needs root, unshare, ip, openssl, terraform 1.11+ and both provider zips; skipped with a note
 * without them (an error in CI). Each terraform command runs in its own network namespace with only
 * loopback, so nothing can reach Azure or anything else.
 */
import * as fs from "fs";
import { requireTool } from "./support/go-render";
import { actionsOf, ArmStandIn, REGISTRY_ID, rootModule, Route, RunResult, standInUnavailable, stateOf, SUB, taskId } from "./support/arm-stand-in";
import { workDir } from "./support/tf-runner";

const VERSIONS = ["4.81.0", "5.2.0"] as const;
const missing = standInUnavailable(VERSIONS);
const ready = requireTool(
  `the stand-in ARM harness (root, unshare, ip, openssl, terraform 1.11+, azurerm ${VERSIONS.join(" and ")} in the mirror): ${missing} is missing`,
  missing === "",
);
const work = workDir("provider-plan");
let arm: ArmStandIn;
beforeAll(() => {
  if (ready) arm = new ArmStandIn(work);
});
const it_ = ready ? it : it.skip;

/** The id the provider gives a first run it created (observed below: the task's id and `/schedule/schedule`). */
const runNowId = (task: string) => `${task}/schedule/schedule`;
const registry = (name: string) => REGISTRY_ID.replace(/\/acr$/, `/${name}`);
const TASK_CONTENT = Buffer.from("version: v1.1.0\nsteps:\n  - cmd: mcr.microsoft.com/hello-world\n").toString("base64");

/**
 * Runs the same checks on every provider version at once (each command in its own namespace, so
 * both stand-ins listen on 127.0.0.1:443 without meeting). Waits for all before failing with the
 * first error, so that no version's commands outlive its test.
 */
async function eachVersion(check: (version: string) => Promise<void>): Promise<void> {
  const results = await Promise.allSettled(VERSIONS.map((v) => check(v)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** Asserts a command's exit code, showing its output when it differs. */
function expectExit(r: RunResult, code: number): void {
  if (r.status !== code) throw new Error(`exit ${r.status}, expected ${code}:\n${r.stdout}\n${r.stderr}`);
}

/** The ARM requests a command made besides the ones every provider start makes (cloud metadata, provider registrations). */
function resourceRequests(r: RunResult): string[] {
  return r.requests
    .filter((q) => q.server === "arm" && !/^\/\/?metadata\/endpoints\?/.test(q.path) && !/^\/subscriptions\/[^/]+\/providers\?/.test(q.path))
    .map((q) => `${q.method} ${q.path}`);
}

async function planActions(
  dir: string,
  ...flags: string[]
): Promise<{
  actions: Record<string, string>;
  plan: RunResult;
  show: RunResult;
}> {
  const plan = await arm.run(dir, ["plan", "-input=false", "-no-color", "-out=tfplan", ...flags]);
  expectExit(plan, 0);
  const show = await arm.run(dir, ["show", "-json", "tfplan"]);
  expectExit(show, 0);
  return { actions: actionsOf(show.stdout), plan, show };
}

describe("the stand-in harness itself", () => {
  // Runs in the namespaces as terraform would, with Node as the client (it trusts the stand-in's
  // certificate through `ca`, as the provider does through SSL_CERT_FILE).
  const PROBE = `
    const fs = require("fs"), https = require("https"), net = require("net"), dns = require("dns");
    const ca = fs.readFileSync(process.env.SSL_CERT_FILE);
    const call = (method, path, body) => new Promise((resolve, reject) => {
      const req = https.request({ host: "management.azure.com", port: 443, method, path, ca }, (res) => {
        let text = ""; res.on("data", (d) => (text += d)); res.on("end", () => resolve([res.statusCode, JSON.parse(text)]));
      });
      req.on("error", reject); req.end(body);
    });
    const outside = () => new Promise((resolve) => {
      const s = net.connect(443, "1.1.1.1"); s.on("connect", () => { s.destroy(); resolve("connected"); }); s.on("error", (e) => resolve(e.code));
    });
    (async () => {
      const address = (await dns.promises.lookup("management.azure.com")).address;
      const answers = [await call("POST", "/x?api-version=1", "first"), await call("POST", "/x?api-version=1", "second"), await call("POST", "/x?api-version=1", ""), await call("GET", "/y?api-version=1")];
      console.log(JSON.stringify({ address, answers, outside: await outside() }));
    })().catch((e) => { console.error(e); process.exit(1); });`;

  it_("answers canned routes in turn, logs every request, and nothing outside loopback is reachable", async () => {
    const r = await arm.exec(work, [process.execPath, "-e", PROBE], [{ method: "POST", path: "^/x\\?", responses: [{ status: 202, body: { n: 1 } }, { body: { n: 2 } }] }]);
    expectExit(r, 0);
    expect(JSON.parse(r.stdout)).toEqual({
      address: "127.0.0.1",
      answers: [
        [202, { n: 1 }],
        [200, { n: 2 }],
        // The last canned answer repeats.
        [200, { n: 2 }],
        // Negative control: nothing canned, ARM's 404 shape.
        [404, { error: { code: "ResourceNotFound", message: "stand-in ARM: no canned answer for GET /y?api-version=1" } }],
      ],
      // Negative control: no route out of the namespace (only loopback exists).
      outside: "ENETUNREACH",
    });
    expect(r.requests).toEqual([
      { server: "arm", method: "POST", path: "/x?api-version=1", body: "first" },
      { server: "arm", method: "POST", path: "/x?api-version=1", body: "second" },
      { server: "arm", method: "POST", path: "/x?api-version=1", body: "" },
      { server: "arm", method: "GET", path: "/y?api-version=1", body: "" },
    ]);
    // The wrapper ended its server before returning.
    expect(r.serverPid).toBeGreaterThan(0);
    expect(fs.existsSync(`/proc/${r.serverPid}`)).toBe(false);
  });
});

describe("timeouts on an existing first run: the real provider's plan", () => {
  const A = taskId("a");
  const B = taskId("b");
  const TASK = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    container_registry_id: REGISTRY_ID,
    platform: { os: "Linux" },
    encoded_step: { task_content: TASK_CONTENT },
    ...extra,
  });
  // The task as the provider's schema holds it after a create with the config above: every
  // attribute, empty blocks as empty lists, and the sensitive paths Terraform records (without them
  // Terraform 1.11 plans an update of sensitivity alone).
  const taskState = (name: string) => ({
    type: "azurerm_container_registry_task",
    name,
    attributes: {
      id: taskId(name),
      name,
      container_registry_id: REGISTRY_ID,
      agent_pool_name: "",
      enabled: true,
      is_system_task: false,
      log_template: "",
      tags: null,
      timeout_in_seconds: 3600,
      agent_setting: [],
      base_image_trigger: [],
      docker_step: [],
      encoded_step: [
        {
          task_content: TASK_CONTENT,
          context_access_token: "",
          context_path: "",
          secret_values: null,
          value_content: null,
          values: null,
        },
      ],
      file_step: [],
      identity: [],
      platform: [{ os: "Linux", architecture: "", variant: "" }],
      registry_credential: [],
      source_trigger: [],
      timer_trigger: [],
      timeouts: null,
    },
  });
  const runState = (name: string, task: string) => ({
    type: "azurerm_container_registry_task_schedule_run_now",
    name,
    attributes: {
      id: runNowId(task),
      container_registry_task_id: task,
      timeouts: null,
    },
  });
  // Every resource as created WITHOUT a timeouts block (as every stack before issue 27).
  const state = stateOf([runState("timeouts_only", A), runState("task_moved", A), taskState("t_exact"), taskState("t_timeouts"), taskState("t_tagged")]);
  const sensitive = (s: any) => {
    const step = (...a: (string | number)[]) => a.map((x) => (typeof x === "number" ? { type: "index", value: { value: x, type: "number" } } : { type: "get_attr", value: x }));
    for (const r of s.resources)
      if (r.type === "azurerm_container_registry_task")
        r.instances[0].sensitive_attributes = [step("encoded_step", 0, "context_access_token"), step("encoded_step", 0, "secret_values")];
    return s;
  };
  const LONG = { create: "90m", update: "90m" };
  const config = (version: string) =>
    rootModule(version, {
      azurerm_container_registry_task_schedule_run_now: {
        // Only timeouts added: the case of issue 27.
        timeouts_only: {
          container_registry_task_id: A,
          timeouts: { create: "90m" },
        },
        // Negative control: a ForceNew argument changed, which the provider's diff must replace.
        task_moved: {
          container_registry_task_id: B,
          timeouts: { create: "90m" },
        },
      },
      azurerm_container_registry_task: {
        // Control: the hand-made state is complete (nothing to do when nothing changed).
        t_exact: TASK("t_exact"),
        // A resource WITH an update function: timeouts alone.
        t_timeouts: TASK("t_timeouts", { timeouts: LONG }),
        // Negative control: a real change (tags), which plans an update, timeouts riding along.
        t_tagged: TASK("t_tagged", {
          timeouts: LONG,
          tags: { team: "platform" },
        }),
      },
    });

  it_(
    `plans no change for timeouts alone, a replacement for a new task id (azurerm ${VERSIONS.join(", ")})`,
    async () => {
      await eachVersion(async (version) => {
        const dir = await arm.scenario(version, "timeouts", config(version), sensitive(state));
        const { actions, plan, show } = await planActions(dir, "-refresh=false");
        expect({ version, actions }).toEqual({
          version,
          actions: {
            "azurerm_container_registry_task_schedule_run_now.timeouts_only": "no-op",
            "azurerm_container_registry_task_schedule_run_now.task_moved": "delete,create",
            "azurerm_container_registry_task.t_exact": "no-op",
            "azurerm_container_registry_task.t_timeouts": "no-op",
            "azurerm_container_registry_task.t_tagged": "update",
          },
        });
        const changes = JSON.parse(show.stdout).resource_changes as any[];
        const change = (name: string) => changes.find((c) => c.name === name).change;
        // The replacement is the provider's ForceNew, named by Terraform as the reason.
        expect(change("task_moved").replace_paths).toEqual([["container_registry_task_id"]]);
        // No change: the planned state IS the prior state, timeouts still null (what the SDK
        // returns when its diff is empty); with a real change the config's timeouts are planned.
        expect(change("timeouts_only").after.timeouts).toBeNull();
        expect(change("t_timeouts").after.timeouts).toBeNull();
        expect(change("t_tagged").after.timeouts).toEqual({
          create: "90m",
          update: "90m",
          read: null,
          delete: null,
        });
        expect(change("task_moved").after.timeouts).toEqual({
          create: "90m",
          read: null,
          delete: null,
        });
        // Planned without refresh: nothing but the provider's start was asked of ARM.
        expect(resourceRequests(plan)).toEqual([]);
      });
    },
    120_000,
  );
});

describe("a first run that fails: what the real provider's apply leaves behind", () => {
  const runs = (registryName: string) => `^/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft\\.ContainerRegistry/registries/${registryName}`;
  /**
   * Canned ACR answers for one first run, shaped like the API the provider calls (2019-06-01-preview,
   * seen in the request log): the task (the provider reads its step before scheduling), the
   * scheduled run (`name`, `properties.runId`, `properties.status`), then the run's status, one per
   * poll (the provider polls every 5 s while Queued, Started or Running).
   */
  const firstRun = (registryName: string, runId: string, statuses: string[]): Route[] => {
    const reg = registry(registryName);
    const run = (status: string) => ({
      id: `${reg}/runs/${runId}`,
      name: runId,
      type: "Microsoft.ContainerRegistry/registries/runs",
      properties: { runId, status },
    });
    return [
      {
        method: "GET",
        path: `${runs(registryName)}/tasks/t\\?`,
        responses: [
          {
            body: {
              id: `${reg}/tasks/t`,
              name: "t",
              type: "Microsoft.ContainerRegistry/registries/tasks",
              properties: {
                status: "Enabled",
                platform: { os: "Linux" },
                step: { type: "EncodedTask", encodedTaskContent: TASK_CONTENT },
              },
            },
          },
        ],
      },
      {
        method: "POST",
        path: `${runs(registryName)}/scheduleRun\\?`,
        responses: [{ body: run("Queued") }],
      },
      {
        method: "GET",
        path: `${runs(registryName)}/runs/${runId}\\?`,
        responses: statuses.map((s) => ({ body: run(s) })),
      },
    ];
  };
  const task = (registryName: string) => `${registry(registryName)}/tasks/t`;
  const config = (version: string) =>
    rootModule(version, {
      azurerm_container_registry_task_schedule_run_now: {
        fails: { container_registry_task_id: task("acrfails") },
        succeeds: { container_registry_task_id: task("acrok") },
        // A run longer than its create timeout (3 s here, 30 minutes by default).
        slow: {
          container_registry_task_id: task("acrslow"),
          timeouts: { create: "3s" },
        },
        // An app's run after its gate's (acr-gate orders them with depends_on, constructs/workflow.ts).
        after_fails: {
          container_registry_task_id: task("acrafter"),
          depends_on: ["azurerm_container_registry_task_schedule_run_now.fails"],
        },
      },
    });

  it_(
    `a failed or timed-out first run is not recorded: the next plan creates it again (azurerm ${VERSIONS.join(", ")})`,
    async () => {
      await eachVersion(async (version) => {
        const dir = await arm.scenario(version, "first-run", config(version));
        const first = await arm.run(
          dir,
          ["apply", "-auto-approve", "-input=false", "-no-color"],
          [...firstRun("acrfails", "cf1", ["Running", "Failed"]), ...firstRun("acrok", "co1", ["Succeeded"]), ...firstRun("acrslow", "cs1", ["Running"]), ...firstRun("acrafter", "ca1", ["Succeeded"])],
        );
        // The apply fails, with each run's error; the successful run is created beside them.
        expectExit(first, 1);
        const err = first.stderr.replace(/\s+/g, " ");
        expect(err).toContain("waiting for scheduled task to finish: unexpected state 'Failed', wanted target 'Succeeded'");
        expect(err).toContain("with azurerm_container_registry_task_schedule_run_now.fails");
        // The config's create timeout ends the wait (3 s, before the second poll): the provider's poll
        // is given the time left to the context's deadline, so whichever of the two fires first
        // names it (both seen on the same machine).
        expect(err).toMatch(
          /waiting for scheduled task to finish: (context deadline exceeded|timeout while waiting for state to become 'Succeeded' \(last state: 'Running', timeout: 2\.\d+s\))/,
        );
        expect(err).toContain("with azurerm_container_registry_task_schedule_run_now.slow");
        expect(first.stdout).toContain("azurerm_container_registry_task_schedule_run_now.succeeds: Creation complete");
        // What the provider asked of ARM for the failing run: the task, one POST, polls until Failed.
        const calls = resourceRequests(first).filter((c) => c.includes("/acrfails/"));
        expect(calls.map((c) => c.replace(/^(\w+) \/subscriptions\/.*\/registries\/acrfails/, "$1 ~"))).toEqual([
          "GET ~/tasks/t?api-version=2019-06-01-preview",
          "POST ~/scheduleRun?api-version=2019-06-01-preview",
          "GET ~/runs/cf1?api-version=2019-06-01-preview",
          "GET ~/runs/cf1?api-version=2019-06-01-preview",
        ]);
        expect(JSON.parse(first.requests.find((q) => q.method === "POST" && q.path.includes("/acrfails/"))!.body)).toEqual({ taskId: task("acrfails"), type: "TaskRunRequest" });
        // The run ordered after the failed one never started: Terraform asked nothing for it.
        expect(resourceRequests(first).filter((c) => c.includes("/acrafter/"))).toEqual([]);
        expect(first.stdout).not.toContain("after_fails: Creating");

        // The state: the successful run only; the failed and the timed-out ones absent, not tainted
        // (and the one after the failure never created).
        const list = await arm.run(dir, ["state", "list"]);
        expectExit(list, 0);
        expect(list.stdout.trim().split("\n")).toEqual(["azurerm_container_registry_task_schedule_run_now.succeeds"]);
        const shown = await arm.run(dir, ["show", "-json"]);
        expectExit(shown, 0);
        const resources = JSON.parse(shown.stdout).values.root_module.resources as any[];
        expect(resources.map((r) => [r.address, r.values.id, r.tainted ?? false])).toEqual([
          ["azurerm_container_registry_task_schedule_run_now.succeeds", runNowId(task("acrok")), false],
        ]);

        // The next plan, without refresh and with it: create the three not recorded, nothing for the other.
        const expected = {
          "azurerm_container_registry_task_schedule_run_now.fails": "create",
          "azurerm_container_registry_task_schedule_run_now.slow": "create",
            "azurerm_container_registry_task_schedule_run_now.after_fails": "create",
          "azurerm_container_registry_task_schedule_run_now.succeeds": "no-op",
        };
        expect((await planActions(dir, "-refresh=false")).actions).toEqual(expected);
        const refreshed = await planActions(dir);
        expect(refreshed.actions).toEqual(expected);
        // The refresh asked ARM nothing: the provider's read of a first run only parses its id
        // (a run's outcome is never looked at again once recorded).
        expect(resourceRequests(refreshed.plan)).toEqual([]);

        // Applying again runs exactly those three (one POST each); this time they succeed.
        const second = await arm.run(
          dir,
          ["apply", "-auto-approve", "-input=false", "-no-color"],
          [...firstRun("acrfails", "cf2", ["Succeeded"]), ...firstRun("acrok", "co2", ["Succeeded"]), ...firstRun("acrslow", "cs2", ["Succeeded"]), ...firstRun("acrafter", "ca2", ["Succeeded"])],
        );
        expectExit(second, 0);
        expect(
          resourceRequests(second)
            .filter((c) => c.startsWith("POST"))
            .map((c) => c.replace(/.*\/registries\/(\w+)\/.*/, "$1"))
            .sort(),
        ).toEqual(["acrafter", "acrfails", "acrslow"]);
        const after = await arm.run(dir, ["plan", "-input=false", "-no-color", "-detailed-exitcode"]);
        // 0: no changes (2 would be changes).
        expectExit(after, 0);
      });
    },
    120_000,
  );
});
