#!/usr/bin/env node
// Writes a copy of an acr-gate config with `azurermVersion` set, for the forward check of
// scripts/validate.sh (--azurerm VERSION): the same config, synthesized for another azurerm version
// the config schema allows (lib/provider-versions.ts). Needs dist/ (npm run build).
//
//   node scripts/with-azurerm.cjs CONFIG|default OUT.json VERSION
'use strict';
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

const [input, output, version] = process.argv.slice(2);
if (!input || !output || !version) {
  process.stderr.write('usage: node scripts/with-azurerm.cjs CONFIG|default OUT.json VERSION\n');
  process.exit(2);
}
const text =
  input === 'default'
    ? require(path.join(__dirname, '..', 'dist', 'lib', 'config.js')).DEFAULT_CONFIG_YAML
    : fs.readFileSync(input, 'utf8');
const config = YAML.parse(text);
config.azurermVersion = version;
fs.writeFileSync(output, JSON.stringify(config, null, 2) + '\n');
