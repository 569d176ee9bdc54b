#!/usr/bin/env node
// JSON helpers for scripts/validate.sh (no dependencies).
//
//   providers FILE...                 print "name<TAB>source<TAB>version" for every
//                                     terraform.required_providers entry (unique)
//   prepare IN OUT NAME=SRC@VER...    copy a cdk.tf.json, setting the source and the
//                                     version constraint of the named providers
//   report VALIDATE_JSON TF_JSON ALLOW_FILE LABEL
//                                     print terraform validate -json diagnostics with
//                                     the configuration path they point at; exit 0 if
//                                     no error and every warning is allow-listed,
//                                     1 otherwise, 2 if the output is not JSON
//   warnings LOG TF_JSON ALLOW_FILE LABEL
//                                     same for "Warning:" blocks in plain CLI output
'use strict';
const fs = require('fs');

function die(msg) {
  process.stderr.write(`validate: ERROR: ${msg}\n`);
  process.exit(2);
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    die(`cannot read JSON ${file}: ${e.message}`);
  }
}

function providers(files) {
  const seen = new Set();
  for (const f of files) {
    const rp = ((readJson(f).terraform || {}).required_providers) || {};
    for (const [name, spec] of Object.entries(rp)) {
      const source = typeof spec === 'object' && spec ? spec.source || name : name;
      const version = typeof spec === 'object' && spec ? spec.version || '' : String(spec);
      const line = `${name}\t${source}\t${version}`;
      if (!seen.has(line)) {
        seen.add(line);
        process.stdout.write(line + '\n');
      }
    }
  }
}

function prepare(input, output, specs) {
  const doc = readJson(input);
  const rp = ((doc.terraform || {}).required_providers) || {};
  for (const spec of specs) {
    const m = /^([^=]+)=(.*)@([^@]+)$/.exec(spec);
    if (!m) die(`bad provider spec ${spec}`);
    const [, name, source, version] = m;
    if (!rp[name]) continue;
    if (typeof rp[name] !== 'object') rp[name] = {};
    rp[name].source = source;
    rp[name].version = version;
  }
  fs.writeFileSync(output, JSON.stringify(doc, null, 2) + '\n');
}

// --- locate a line/column inside a JSON document --------------------------------
// A small JSON scanner recording, for every value, its key path and its span.
function spans(text) {
  const out = [];
  let i = 0, line = 1, col = 1;
  const adv = () => { if (text[i] === '\n') { line++; col = 1; } else { col++; } i++; };
  const ws = () => { while (i < text.length && /\s/.test(text[i])) adv(); };
  const str = () => {
    let s = '';
    adv(); // opening quote
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') { s += text[i]; adv(); }
      s += text[i]; adv();
    }
    adv();
    return JSON.parse(`"${s}"`);
  };
  const value = (path, keyPos) => {
    ws();
    const start = keyPos || { line, col };
    if (text[i] === '{') {
      adv(); ws();
      while (text[i] !== '}') {
        const kp = { line, col };
        const key = str(); ws(); adv(); // ':'
        value(path.concat([key]), kp); ws();
        if (text[i] === ',') { adv(); ws(); }
      }
      adv();
    } else if (text[i] === '[') {
      adv(); ws();
      let n = 0;
      while (text[i] !== ']') {
        value(path.concat([n++])); ws();
        if (text[i] === ',') { adv(); ws(); }
      }
      adv();
    } else if (text[i] === '"') {
      str();
    } else {
      while (i < text.length && /[^\s,\]}]/.test(text[i])) adv();
    }
    out.push({ path, start, end: { line, col } });
  };
  value([]);
  return out;
}

const before = (a, b) => a.line < b.line || (a.line === b.line && a.col <= b.col);

function pathAt(text, pos) {
  let best = null;
  for (const s of spans(text)) {
    if (before(s.start, pos) && before(pos, s.end)) {
      if (!best || s.path.length > best.path.length) best = s;
    }
  }
  return best ? best.path : [];
}

function address(path) {
  if (!path.length) return '(configuration)';
  const fmt = (rest) => rest.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
  if (path[0] === 'resource' && path.length >= 3) return `${path[1]}.${path[2]}${fmt(path.slice(3))}`;
  if (path[0] === 'data' && path.length >= 3) return `data.${path[1]}.${path[2]}${fmt(path.slice(3))}`;
  return path[0] + fmt(path.slice(1));
}

function loadAllow(file) {
  if (!file || !fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const k = l.indexOf(' | ');
      if (k < 0) die(`${file}: entry without " | reason": ${l}`);
      return { re: new RegExp(l.slice(0, k).trim()), reason: l.slice(k + 3).trim() };
    });
}

// substAllow: errors accepted only while a substitute azurerm (a different major version) is in use
function judge(diags, tfText, allow, label, substAllow = []) {
  let bad = 0;
  for (const d of diags) {
    let where = '(configuration)';
    let loc = '';
    if (d.range && d.range.start) {
      loc = ` [${(d.range.filename || '').split('/').pop()}:${d.range.start.line}]`;
      if (tfText) where = address(pathAt(tfText, { line: d.range.start.line, col: d.range.start.column || 1 }));
    } else if (d.address) {
      where = d.address;
    }
    const detail = (d.detail || '').replace(/\s+/g, ' ').trim();
    const text = `${where}: ${d.summary}${detail ? ': ' + detail : ''}`;
    let tag;
    if (d.severity === 'error') {
      const known = substAllow.find((a) => a.re.test(text));
      if (known) {
        process.stdout.write(`  ${label}: error accepted under the substitute provider (scripts/validate-substitute.allow: ${known.reason}): ${text}${loc}\n`);
        continue;
      }
      tag = 'ERROR';
      bad++;
    } else {
      const hit = allow.find((a) => a.re.test(text));
      if (hit) {
        process.stdout.write(`  ${label}: warning (documented in scripts/validate-warnings.allow): ${where}: ${d.summary}\n`);
        continue;
      } else {
        tag = 'WARNING (undocumented)';
        bad++;
      }
    }
    process.stdout.write(`  ${label}: ${tag}: ${text}${loc}\n`);
  }
  return bad;
}

function report(validateFile, tfFile, allowFile, label, substAllowFile) {
  let res;
  try {
    res = JSON.parse(fs.readFileSync(validateFile, 'utf8'));
  } catch (e) {
    process.stdout.write(`  ${label}: terraform validate did not print JSON (${e.message})\n`);
    process.exit(2);
  }
  const tfText = fs.existsSync(tfFile) ? fs.readFileSync(tfFile, 'utf8') : '';
  const diags = res.diagnostics || [];
  const bad = judge(diags, tfText, loadAllow(allowFile), label, loadAllow(substAllowFile));
  process.stdout.write(`  ${label}: valid=${res.valid} errors=${res.error_count || 0} warnings=${res.warning_count || 0}\n`);
  // invalid with no error diagnostic at all would be a terraform oddity: fail on it
  process.exit(bad || (!res.valid && !diags.some((d) => d.severity === 'error')) ? 1 : 0);
}

// "Warning: summary" blocks from human CLI output (with or without -no-color)
function warnings(logFile, tfFile, allowFile, label) {
  const lines = fs.readFileSync(logFile, 'utf8').replace(/\x1b\[[0-9;]*m/g, '').split('\n')
    .map((l) => l.replace(/^[│╷╵]\s?/, ''));
  const diags = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(Warning|Error): (.*)$/.exec(lines[i]);
    if (!m) continue;
    const body = [];
    for (let j = i + 1; j < lines.length; j++) {
      if (/^(Warning|Error): |^Terraform has |^OpenTofu has |^Initializing /.test(lines[j])) break;
      if (lines[j] === '' && lines[j + 1] === '') break;
      body.push(lines[j]);
    }
    const text = body.join('\n');
    const on = /on (\S+) line (\d+)/.exec(text);
    diags.push({
      severity: m[1].toLowerCase(),
      summary: m[2].trim(),
      detail: text.replace(/^.*on \S+ line \d+.*$/m, '').trim(),
      range: on ? { filename: on[1], start: { line: Number(on[2]), column: 1 } } : undefined,
    });
  }
  const tfText = fs.existsSync(tfFile) ? fs.readFileSync(tfFile, 'utf8') : '';
  process.exit(judge(diags, tfText, loadAllow(allowFile), label) ? 1 : 0);
}

const [cmd, ...args] = process.argv.slice(2);
switch (cmd) {
  case 'providers': providers(args); break;
  case 'prepare': prepare(args[0], args[1], args.slice(2)); break;
  case 'report': report(...args); break;
  case 'warnings': warnings(...args); break;
  default: die(`unknown command ${cmd}`);
}
