// Image helpers for the browser harness: PNG decoding (pngjs from target/browser), PSNR over RGB,
// and the share of pixels that differ from the black background.
import path from 'node:path';

let PNG = null;

/** Loads pngjs from the installed node_modules folder (it is not a dependency of this folder). */
export async function loadPngjs(modules) {
    const mod = await import(path.join(modules, 'pngjs', 'lib', 'png.js'));
    PNG = (mod.default ?? mod).PNG;
}

/** Decodes a PNG buffer into { width, height, data } with 4 bytes (RGBA) a pixel. */
export function decodePng(buffer) {
    if (!PNG) throw new Error('loadPngjs() was not called');
    const png = PNG.sync.read(buffer);
    return { width: png.width, height: png.height, data: png.data };
}

/**
 * PSNR in dB between two lists of same-sized RGBA images, over the R, G and B channels of all
 * pixels of all images together (one mean squared error, peak 255). Identical images give Infinity,
 * which JSON cannot carry, so it is capped at 99 dB.
 */
export function psnr(reference, candidate) {
    let sum = 0;
    let count = 0;
    for (let i = 0; i < reference.length; i++) {
        const a = reference[i];
        const b = candidate[i];
        if (a.width !== b.width || a.height !== b.height) {
            throw new Error(`image ${i}: size ${b.width}x${b.height} differs from the reference ${a.width}x${a.height}`);
        }
        for (let p = 0; p < a.data.length; p += 4) {
            for (let c = 0; c < 3; c++) {
                const d = a.data[p + c] - b.data[p + c];
                sum += d * d;
            }
        }
        count += (a.data.length / 4) * 3;
    }
    const mse = sum / count;
    return mse === 0 ? 99 : Math.min(99, 10 * Math.log10((255 * 255) / mse));
}

/** Fraction of pixels whose brightest RGB channel exceeds 10 (the background is black). */
export function countForeground(image) {
    let n = 0;
    for (let p = 0; p < image.data.length; p += 4) {
        if (Math.max(image.data[p], image.data[p + 1], image.data[p + 2]) > 10) n += 1;
    }
    return n / (image.data.length / 4);
}

/**
 * Holes of `candidate` against `reference` (same size): the fraction of the reference's foreground
 * pixels (as countForeground counts them) that are background in the candidate. 0 when the
 * reference has no foreground.
 */
export function holeShare(reference, candidate) {
    if (reference.width !== candidate.width || reference.height !== candidate.height) {
        throw new Error(`size ${candidate.width}x${candidate.height} differs from the reference ${reference.width}x${reference.height}`);
    }
    const lit = (data, p) => Math.max(data[p], data[p + 1], data[p + 2]) > 10;
    let foreground = 0;
    let holes = 0;
    for (let p = 0; p < reference.data.length; p += 4) {
        if (!lit(reference.data, p)) continue;
        foreground += 1;
        if (!lit(candidate.data, p)) holes += 1;
    }
    return foreground === 0 ? 0 : holes / foreground;
}
