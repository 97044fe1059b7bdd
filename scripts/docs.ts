/** `npm run docs`: rewrites the generated parts of README.md (the configuration table). */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../worker/config.js';
import { CONFIG_TABLE_END, CONFIG_TABLE_START, configTable } from '../worker/configDocs.js';

const file = path.join(REPO_ROOT, 'README.md');
const readme = readFileSync(file, 'utf8');
const start = readme.indexOf(CONFIG_TABLE_START);
const end = readme.indexOf(CONFIG_TABLE_END);
if (start < 0 || end < 0) throw new Error(`README.md needs the markers ${CONFIG_TABLE_START} … ${CONFIG_TABLE_END}`);
writeFileSync(file, readme.slice(0, start) + configTable() + readme.slice(end + CONFIG_TABLE_END.length));
console.log('README.md: configuration table updated');
