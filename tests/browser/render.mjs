// Browser harness for splatpress: renders a scene in the PlayCanvas engine (headless Chromium,
// software WebGL) from the original PLY and from SOG files, compares the renders by PSNR, and
// loads one SOG in the SuperSplat viewer. Usage:
//
//     node tests/browser/render.mjs CONFIG.json
//
// CONFIG (all paths absolute):
//   modules     folder holding node_modules (target/browser/node_modules)
//   chromium    browser executable (default /usr/bin/chromium)
//   outDir      where result.json and the PNGs go
//   ply         the original scene, rendered as the reference
//   candidates  [{ name, path, euler?, lod?, bar? }]: .sog bundles, SOG meta.json files, .glb files or
//               streamed SOG lod-meta.json files to render and compare; euler (degrees) turns the
//               splat entity (a .glb in glTF axes: [0,0,180]); lod { budget, rangeMin, rangeMax }
//               sets a lod-meta.json's splat budget (0: none) and level range, and waits for its
//               streaming to finish (the entry then carries lodStats: per view, the levels shown);
//               bar overrides the config's bar for this candidate
//   compare     [[nameA, nameB]]: also the PSNR between two candidates' renders, optional
//               (result.pairs["nameA|nameB"]: psnr, psnrPerView, and per view holes, the share of
//               A's foreground pixels that are background in B, and holesReverse, B's in A)
//   splatTransform  name of the candidate made by splat-transform (the peer to compare with), optional
//   bar         PSNR (dB) a candidate must reach against the PLY render
//   margin      dB a candidate may fall below the splat-transform candidate
//   viewer      { path } a .sog to open in the SuperSplat viewer, optional
//   size, views canvas side in pixels and number of orbit cameras (defaults 256 and 4)
//   keepPngs    save every candidate's PNGs, not only failing ones', optional
//
// Prints one JSON line (also written to outDir/result.json). A candidate "passes" when it loads
// without a page error, psnr >= bar and psnr >= psnr(splatTransform) - margin. PNGs of every view
// are saved for failing candidates and for the reference (so a person can compare them).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './server.mjs';
import { plyCameras } from './cameras.mjs';
import { psnr, decodePng, countForeground, holeShare, loadPngjs } from './images.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const CHROMIUM_ARGS = [
    '--no-sandbox',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-gpu',
    '--use-angle=swiftshader',
    '--enable-unsafe-swiftshader',
    '--force-device-scale-factor=1'
];

/** Per-page console and page errors, so a render can be failed on any of them. */
function watchPage(page, log) {
    page.on('console', msg => {
        if (msg.type() === 'error' || msg.type() === 'warning') log.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', err => log.push(`pageerror: ${err.message}`));
}

/** Rejects after `ms` with a message naming `what`, so one stuck page cannot hang the run. */
function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms / 1000} s`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const errorsIn = log => log.filter(line => !line.startsWith('warning:'));

async function renderFile(context, origin, url, cameras, size, timeoutMs, euler = null, lod = null) {
    const page = await context.newPage();
    const log = [];
    watchPage(page, log);
    try {
        await page.goto(`${origin}/page/render.html`, { timeout: timeoutMs });
        await page.waitForFunction(() => window.splatpressReady === true, null, { timeout: timeoutMs });
        const result = await withTimeout(page.evaluate(
            options => window.splatpressRender(options),
            { url, size, cameras, maxFrames: lod ? 600 : 120, euler, lod }
        ), timeoutMs, `rendering ${url}`);
        const pngs = result.frames.map(dataUrl => Buffer.from(dataUrl.split(',')[1], 'base64'));
        return { pngs, framesRendered: result.framesRendered, settled: result.settled, deviceType: result.deviceType, lodStats: result.lodStats, log };
    } catch (err) {
        log.push(`error: ${err.message}`);
        return { pngs: null, log };
    } finally {
        await page.close();
    }
}

async function openViewer(context, origin, contentUrl, settingsUrl, size, timeoutMs) {
    const page = await context.newPage();
    await page.setViewportSize({ width: size, height: size });
    const log = [];
    watchPage(page, log);
    const query = new URLSearchParams({ content: contentUrl, settings: settingsUrl });
    const url = `${origin}/viewer/index.html?${query}&webgl&noui&noanim`;
    try {
        await page.goto(url, { timeout: timeoutMs });
        // captureFrame is published once the viewer has its app; it waits for the first frame.
        await page.waitForFunction(() => typeof window.captureFrame === 'function', null, { timeout: timeoutMs });
        const frame = await withTimeout(page.evaluate(
            s => window.captureFrame({ width: s, height: s, supersample: 1 }).then(f => ({ width: f.width, height: f.height, data: f.data })),
            size
        ), timeoutMs, `SuperSplat viewer capture of ${contentUrl}`);
        const screenshot = await page.screenshot({ type: 'png' });
        return { frame, screenshot, log };
    } catch (err) {
        log.push(`error: ${err.message}`);
        return { frame: null, screenshot: null, log };
    } finally {
        await page.close();
    }
}

function savePngs(outDir, name, pngs) {
    return pngs.map((png, i) => {
        const file = path.join(outDir, `${name}_view${i}.png`);
        fs.writeFileSync(file, png);
        return file;
    });
}

async function main() {
    const configPath = process.argv[2];
    if (!configPath) throw new Error('usage: node render.mjs CONFIG.json');
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    const size = config.size ?? 256;
    const timeoutMs = config.timeoutMs ?? 90000;
    fs.mkdirSync(config.outDir, { recursive: true });

    await loadPngjs(config.modules);
    const { chromium } = await import(path.join(config.modules, 'playwright-core', 'index.mjs'));
    const { defaultSettings } = await import(path.join(config.modules, '@playcanvas', 'supersplat-viewer', 'dist', 'settings.js'));

    // Every input file's folder is served under its own prefix, so a meta.json finds its textures.
    const routes = {
        '/page/': HERE,
        '/engine/': path.join(config.modules, 'playcanvas', 'build'),
        '/viewer/': path.join(config.modules, '@playcanvas', 'supersplat-viewer', 'public'),
        '/out/': config.outDir
    };
    const files = [{ name: 'ply', path: config.ply }, ...config.candidates];
    if (config.viewer) files.push({ name: 'viewer', path: config.viewer.path });
    const urls = {};
    files.forEach((file, i) => {
        routes[`/data/${i}/`] = path.dirname(file.path);
        urls[file.name] = `/data/${i}/${path.basename(file.path)}`;
    });

    const cameras = plyCameras(fs.readFileSync(config.ply), config.views ?? 4);
    const server = await startServer(routes);
    const userDataDir = fs.mkdtempSync(path.join(config.outDir, 'chromium-profile-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: config.chromium ?? '/usr/bin/chromium',
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: size, height: size }
    });

    const result = { size, cameras, bar: config.bar, margin: config.margin, candidates: {}, ok: true };
    try {
        const started = Date.now();
        const reference = await renderFile(context, server.origin, urls.ply, cameras, size, timeoutMs);
        result.reference = { log: reference.log, framesRendered: reference.framesRendered, deviceType: reference.deviceType };
        if (reference.settled && !reference.settled.every(Boolean)) throw new Error('the reference PLY render never settled');
        if (!reference.pngs) throw new Error(`the reference PLY did not render: ${reference.log.join(' | ')}`);
        const refImages = reference.pngs.map(decodePng);
        result.reference.foreground = refImages.map(countForeground);
        result.reference.pngs = savePngs(config.outDir, 'reference_ply', reference.pngs);
        result.reference.seconds = (Date.now() - started) / 1000;

        for (const candidate of config.candidates) {
            const t0 = Date.now();
            const render = await renderFile(context, server.origin, urls[candidate.name], cameras, size, timeoutMs, candidate.euler ?? null, candidate.lod ?? null);
            const entry = { path: candidate.path, log: render.log, framesRendered: render.framesRendered, settled: render.settled, bar: candidate.bar ?? config.bar };
            if (candidate.lod) {
                entry.lod = candidate.lod;
                entry.lodStats = render.lodStats;
            }
            if (render.pngs) {
                const images = render.pngs.map(decodePng);
                entry.images = images;
                entry.psnrPerView = images.map((img, i) => psnr([refImages[i]], [img]));
                entry.psnr = psnr(refImages, images);
                entry.foreground = images.map(countForeground);
                entry.renders = render.pngs;
            } else {
                entry.psnr = null;
            }
            entry.errors = errorsIn(render.log);
            entry.seconds = (Date.now() - t0) / 1000;
            result.candidates[candidate.name] = entry;
        }

        result.pairs = {};
        for (const [a, b] of config.compare ?? []) {
            const [ia, ib] = [result.candidates[a]?.images, result.candidates[b]?.images];
            result.pairs[`${a}|${b}`] = ia && ib ? {
                psnr: psnr(ia, ib),
                psnrPerView: ia.map((img, i) => psnr([img], [ib[i]])),
                // per view: the share of a's foreground pixels that are background in b, and back
                holes: ia.map((img, i) => holeShare(img, ib[i])),
                holesReverse: ib.map((img, i) => holeShare(img, ia[i]))
            } : null;
        }
        const peer = config.splatTransform ? result.candidates[config.splatTransform] : null;
        for (const [name, entry] of Object.entries(result.candidates)) {
            const reasons = [];
            if (entry.psnr === null) reasons.push('did not render');
            if (entry.settled && !entry.settled.every(Boolean)) reasons.push('a view never settled (the picture kept changing)');
            if (entry.errors.length > 0) reasons.push(`page errors: ${entry.errors.join(' | ')}`);
            if (entry.psnr !== null && entry.psnr < entry.bar) reasons.push(`PSNR ${entry.psnr.toFixed(2)} dB < bar ${entry.bar} dB`);
            if (peer && peer !== entry && peer.psnr !== null && entry.psnr !== null && entry.psnr < peer.psnr - config.margin) {
                reasons.push(`PSNR ${entry.psnr.toFixed(2)} dB is more than ${config.margin} dB below splat-transform's ${peer.psnr.toFixed(2)} dB`);
            }
            entry.pass = reasons.length === 0;
            entry.reasons = reasons;
            if ((!entry.pass || config.keepPngs) && entry.renders) entry.pngs = savePngs(config.outDir, name, entry.renders);
            delete entry.renders;
            delete entry.images;
            if (!entry.pass) result.ok = false;
        }

        if (config.viewer) {
            const settings = defaultSettings('object');
            settings.cameras = [{ initial: { position: cameras[0].position, target: cameras[0].target, fov: cameras[0].fov } }];
            fs.writeFileSync(path.join(config.outDir, 'viewer-settings.json'), JSON.stringify(settings));
            const t0 = Date.now();
            const viewer = await openViewer(context, server.origin, urls.viewer, '/out/viewer-settings.json', size, timeoutMs);
            const entry = { path: config.viewer.path, log: viewer.log, errors: errorsIn(viewer.log) };
            if (viewer.frame) {
                const rgba = Buffer.from(viewer.frame.data, 'base64');
                entry.frameSize = [viewer.frame.width, viewer.frame.height];
                entry.foreground = countForeground({ width: viewer.frame.width, height: viewer.frame.height, data: rgba });
            }
            if (viewer.screenshot) {
                entry.screenshot = path.join(config.outDir, 'supersplat_viewer.png');
                fs.writeFileSync(entry.screenshot, viewer.screenshot);
                entry.screenshotForeground = countForeground(decodePng(viewer.screenshot));
            }
            entry.seconds = (Date.now() - t0) / 1000;
            entry.pass = entry.errors.length === 0 && (entry.foreground ?? 0) > 0.01;
            if (!entry.pass) result.ok = false;
            result.viewer = entry;
        }
        result.requests404 = server.requests.filter(r => r.status !== 200);
    } catch (err) {
        result.ok = false;
        result.error = err.message;
    } finally {
        await context.close();
        await server.close();
        fs.rmSync(userDataDir, { recursive: true, force: true });
    }
    const json = JSON.stringify(result);
    fs.writeFileSync(path.join(config.outDir, 'result.json'), json);
    process.stdout.write(json + '\n');
}

main().catch(err => {
    process.stdout.write(JSON.stringify({ ok: false, error: err.stack ?? String(err) }) + '\n');
    process.exitCode = 1;
});
