// Runs the Khronos glTF validator (npm `gltf-validator`, the Dart validator compiled to JS) on
// .glb files and prints one JSON array: the validator's report for each file, in order.
//
//     node tests/interop/gltf-validate.mjs NODE_MODULES FILE.glb [FILE.glb ...]
//
// NODE_MODULES is the folder holding `gltf-validator` (`cargo xtask test` installs it into
// <target>/npm/node_modules and passes it as $SPLATPRESS_NODE_MODULES). The reports are
// unfiltered (every issue, maxIssues 0): tests/glb.rs decides which issues are acceptable.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [modules, ...files] = process.argv.slice(2);
if (!modules || files.length === 0) {
    console.error('usage: node gltf-validate.mjs NODE_MODULES FILE.glb [FILE.glb ...]');
    process.exit(2);
}
const validator = await import(pathToFileURL(path.join(modules, 'gltf-validator', 'module.mjs')).href);
const reports = [];
for (const file of files) {
    const bytes = new Uint8Array(fs.readFileSync(file));
    const report = await validator.validateBytes(bytes, {
        uri: path.basename(file),
        maxIssues: 0,
        // A .glb carries everything; an external resource would be a defect of the file.
        externalResourceFunction: uri => Promise.reject(new Error(`external resource ${uri} requested`))
    });
    reports.push(report);
}
process.stdout.write(JSON.stringify(reports) + '\n');
