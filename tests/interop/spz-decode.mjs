// Decodes an SPZ file with @adobe/spz (the WASM build of the Niantic reference) and prints the
// decoded cloud as JSON on stdout: {numPoints, shDegree, antialiased, positions, scales,
// rotations, alphas, colors, sh}, every array flat as the reference lays it out (rotations
// x, y, z, w; sh coefficient-major with the channel inner). Values are converted into RDF,
// the PLY convention, as the reference's spz_to_ply does. Non-finite numbers (the reference
// decodes alpha bytes 0 and 255 to ∓∞ logits) are printed as the strings "inf", "-inf", "nan".
//
// usage: SPLATPRESS_NODE_MODULES=<dir holding @adobe/spz> node spz-decode.mjs FILE.spz
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.SPLATPRESS_NODE_MODULES;
if (!modules) {
    console.error('SPLATPRESS_NODE_MODULES is not set (the node_modules holding @adobe/spz)');
    process.exit(2);
}
const file = process.argv[2];
if (!file) {
    console.error('usage: spz-decode.mjs FILE.spz');
    process.exit(2);
}
const url = pathToFileURL(join(modules, '@adobe/spz/dist/spz.js')).href;
const { default: createSpzModule } = await import(url);
// The module logs ("[SPZ] loadSpzPacked …") through console.log: keep stdout for the JSON.
console.log = (...args) => console.error(...args);
const spz = await createSpzModule();
const bytes = new Uint8Array(readFileSync(file));
const cloud = spz.loadSpzFromBuffer(bytes, { to: spz.CoordinateSystem.RDF });
if (!cloud || (cloud.numPoints === 0 && bytes.length > 0)) {
    console.error(`@adobe/spz could not decode ${file}`);
    process.exit(1);
}
const plain = (a) => Array.from(a, (v) => (Number.isFinite(v) ? v : String(v === Infinity ? 'inf' : v === -Infinity ? '-inf' : 'nan')));
process.stdout.write(JSON.stringify({
    numPoints: cloud.numPoints,
    shDegree: cloud.shDegree,
    antialiased: cloud.antialiased,
    positions: plain(cloud.positions),
    scales: plain(cloud.scales),
    rotations: plain(cloud.rotations),
    alphas: plain(cloud.alphas),
    colors: plain(cloud.colors),
    sh: plain(cloud.sh),
}));
