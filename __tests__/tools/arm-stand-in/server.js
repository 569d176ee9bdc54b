/**
 * STAND-IN for Azure: an Azure Resource Manager (ARM) on https://127.0.0.1:443 and a managed
 * identity (MSI) token endpoint on http://127.0.0.1:50342, so that the REAL azurerm provider can
 * plan and apply with no Azure account and no network (help/validation.md, "The real provider on a
 * stand-in ARM"). Nothing here is Azure: every answer is canned, written by the test.
 *
 * Run by __tests__/tools/arm-stand-in/in-netns.sh inside `unshare -n -m`, so the ports (443 needs
 * root) and the management.azure.com name (a bind-mounted /etc/hosts) exist only in that private
 * namespace. Usage: node server.js <config.json>, where config.json holds
 *   { cert, key: PEM file paths; log: file the requests are appended to (JSON lines);
 *     routes: file of canned answers (see below); ready: file written once both servers listen }.
 * A route is { method, path: a regex tested against the path with its query string,
 *   responses: [{ status, body?, headers? }, ...] }: the first matching route answers, with its
 *   responses in turn and the last one repeated (so a run can be Running, then Failed).
 * Unmatched requests get ARM's 404 shape, except the provider-registration listing every
 * provider start makes (answered here, so a test's routes need only what it is about).
 */
"use strict";
const fs = require("fs");
const http = require("http");
const https = require("https");

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const routes = (config.routes && fs.existsSync(config.routes) ? JSON.parse(fs.readFileSync(config.routes, "utf8")) : []).map((r) => ({
  ...r,
  re: new RegExp(r.path),
  served: 0,
}));

// The namespaces the provider checks at start (resource_provider_registrations = "none" still lists
// them; it only skips registering). A stand-in answer: all registered.
const NAMESPACES = [
  "Microsoft.ContainerRegistry",
  "Microsoft.KeyVault",
  "Microsoft.Authorization",
  "Microsoft.ContainerInstance",
  "Microsoft.ManagedIdentity",
  "Microsoft.OperationalInsights",
  "Microsoft.Insights",
  "Microsoft.Resources",
  "Microsoft.Storage",
];

function log(server, req, body) {
  fs.appendFileSync(config.log, JSON.stringify({ server, method: req.method, path: req.url, body }) + "\n");
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function collect(req, then) {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => then(Buffer.concat(chunks).toString("utf8")));
}

// An unsigned JWT: the provider reads its claims (object id, tenant) but never checks a signature;
// nothing else reads it.
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const now = Math.floor(Date.now() / 1000);
const GUID = "11111111-2222-3333-4444-555555555555";
const claims = { aud: "https://management.azure.com/", iss: `https://sts.windows.net/${GUID}/`, iat: now, nbf: now, exp: now + 3600, oid: GUID, tid: GUID, appid: GUID, idtyp: "app", sub: GUID };
const token = `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.stand-in`;

const msi = http.createServer((req, res) =>
  collect(req, (body) => {
    log("msi", req, body);
    const resource = new URL(req.url, "http://x").searchParams.get("resource") ?? "https://management.azure.com/";
    send(res, 200, { access_token: token, expires_on: String(now + 3600), expires_in: "3600", token_type: "Bearer", resource, client_id: GUID });
  }),
);

const arm = https.createServer({ cert: fs.readFileSync(config.cert), key: fs.readFileSync(config.key) }, (req, res) =>
  collect(req, (body) => {
    log("arm", req, body);
    const route = routes.find((r) => r.method === req.method && r.re.test(req.url));
    if (route) {
      const answer = route.responses[Math.min(route.served++, route.responses.length - 1)];
      return send(res, answer.status ?? 200, answer.body, answer.headers);
    }
    if (req.method === "GET" && /^\/subscriptions\/[^/]+\/providers\?/.test(req.url)) {
      return send(res, 200, { value: NAMESPACES.map((namespace) => ({ namespace, registrationState: "Registered", resourceTypes: [] })) });
    }
    send(res, 404, { error: { code: "ResourceNotFound", message: `stand-in ARM: no canned answer for ${req.method} ${req.url}` } });
  }),
);

let listening = 0;
const ready = () => {
  if (++listening === 2) fs.writeFileSync(config.ready, String(process.pid));
};
msi.listen(50342, "127.0.0.1", ready);
arm.listen(443, "127.0.0.1", ready);
const stop = () => {
  msi.close();
  arm.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
