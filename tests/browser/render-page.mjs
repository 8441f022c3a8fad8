// Page script: renders one gsplat asset (PLY, .sog bundle, SOG meta.json or a streamed SOG's
// lod-meta.json) or one glTF binary with KHR_gaussian_splatting (.glb, loaded as a container
// asset: the engine's glTF parser turns each splat primitive into a gsplat component) with the
// PlayCanvas engine from a list of fixed cameras, and hands back each frame as a PNG data URL.
// A lod-meta.json is a gsplat asset too: the handler's octree parser takes it by its name, and the
// (unified) gsplat component streams its chunk SOGs under the scene's splat budget.
// Driven by render.mjs through window.splatpressRender(options).
import * as pc from '/engine/playcanvas.mjs';

const nextFrame = app => new Promise(resolve => app.once('frameend', resolve));

function loadAsset(app, url, type) {
    return new Promise((resolve, reject) => {
        const asset = new pc.Asset(url.split('/').pop(), type, { url });
        asset.once('load', () => resolve(asset));
        asset.once('error', err => reject(new Error(`asset ${url} failed to load: ${err}`)));
        app.assets.add(asset);
        app.assets.load(asset);
    });
}

async function createApp(size) {
    const canvas = document.getElementById('app');
    canvas.width = size;
    canvas.height = size;
    canvas.style.width = `${size}px`;
    canvas.style.height = `${size}px`;
    const device = await pc.createGraphicsDevice(canvas, {
        deviceTypes: ['webgl2'],
        antialias: false,
        alpha: false,
        preserveDrawingBuffer: true
    });
    device.maxPixelRatio = 1;
    const options = new pc.AppOptions();
    options.graphicsDevice = device;
    options.componentSystems = [pc.CameraComponentSystem, pc.GSplatComponentSystem];
    // The container handler (glTF) must exist before the gsplat system is created: that system
    // registers the KHR_gaussian_splatting extension with it.
    options.resourceHandlers = [pc.GSplatHandler, pc.TextureHandler, pc.BinaryHandler, pc.JsonHandler, pc.ContainerHandler];
    const app = new pc.AppBase(canvas);
    app.init(options);
    app.setCanvasFillMode(pc.FILLMODE_NONE);
    app.setCanvasResolution(pc.RESOLUTION_FIXED, size, size);
    app.start();
    return { app, canvas, device };
}

/** The entity that shows the file at `url`: a gsplat component, or a .glb's node hierarchy. */
async function loadSplats(app, url, lod = null) {
    if (url.toLowerCase().endsWith('.glb')) {
        const asset = await loadAsset(app, url, 'container');
        if (asset.resource.gsplats.length === 0) throw new Error(`${url}: the engine found no KHR_gaussian_splatting primitive`);
        return asset.resource.instantiateRenderEntity();
    }
    const asset = await loadAsset(app, url, 'gsplat');
    const splat = new pc.Entity('splat');
    const data = { asset };
    // Streamed SOG: the range of levels the engine may pick from (equal ends force one level).
    if (lod?.rangeMin !== undefined) data.lodRangeMin = lod.rangeMin;
    if (lod?.rangeMax !== undefined) data.lodRangeMax = lod.rangeMax;
    splat.addComponent('gsplat', data);
    return splat;
}

/**
 * What the streaming loader shows now, read from the engine's octree instances (engine 2.23.3
 * internals: director → camera → layer → manager → world): per level the leaf nodes shown at it and
 * their splats, nodes shown at no level, and the totals. null when no octree is loaded.
 */
function lodStats(app) {
    const director = app.renderer.gsplatDirector;
    if (!director) return null;
    const instances = [];
    for (const cameraData of director.camerasMap.values()) {
        for (const layerData of cameraData.layersMap.values()) {
            const world = layerData.gsplatManager?.world;
            for (const inst of world?._octreeInstances?.values() ?? []) instances.push(inst);
        }
    }
    if (instances.length === 0) return null;
    const stats = { levels: {}, hidden: 0, nodes: 0, splats: 0, lodLevels: 0 };
    for (const inst of instances) {
        const nodes = inst.octree.nodes;
        stats.lodLevels = Math.max(stats.lodLevels, inst.octree.lodLevels);
        for (let i = 0; i < nodes.length; i++) {
            stats.nodes += 1;
            const lod = inst.nodeInfos[i].currentLod;
            if (lod < 0) {
                stats.hidden += 1;
                continue;
            }
            const count = nodes[i].lods[lod].count;
            const level = (stats.levels[lod] ??= { nodes: 0, splats: 0 });
            level.nodes += 1;
            level.splats += count;
            stats.splats += count;
        }
    }
    return stats;
}

/**
 * options: { url, size, cameras: [{ position: [x,y,z], target: [x,y,z], fov }], maxFrames,
 *            euler: [x,y,z] degrees for the splat entity (optional; a .glb in glTF axes needs
 *            [0, 0, 180] to sit where the PLY-space files sit),
 *            lod: { budget, rangeMin, rangeMax } for a lod-meta.json (optional): the scene's
 *            splat budget (0: none, every node at its finest level in range) and the component's
 *            level range }
 * Returns { frames: [dataURL], framesRendered: [n], settled: [bool], deviceType, sortEvents,
 *           lodStats: [per view, see lodStats()] }.
 * A streamed scene settles only once the engine reports its frame ready with no chunk loading.
 */
window.splatpressRender = async function (options) {
    const { app, canvas, device } = await createApp(options.size);
    let sortEvents = 0;
    app.scene.on('gsplat:sorted', () => { sortEvents += 1; });
    if (options.lod?.budget !== undefined) app.scene.gsplat.splatBudget = options.lod.budget;
    // The streaming state of the latest frame: ready (LOD applied, world state current) and the
    // chunk files still loading. Plain assets never fire it; they count as streamed.
    const streaming = { seen: false, ready: false, loading: 0 };
    app.systems.gsplat.on('frame:ready', (_camera, _layer, ready, loading) => {
        streaming.seen = true;
        streaming.ready = ready;
        streaming.loading = loading;
    });
    const streamed = () => !options.lod || (streaming.seen && streaming.ready && streaming.loading === 0);

    const camera = new pc.Entity('camera');
    camera.addComponent('camera', {
        clearColor: new pc.Color(0, 0, 0, 1),
        fov: options.cameras[0].fov,
        nearClip: 0.01,
        farClip: 1000
    });
    app.root.addChild(camera);

    const splat = await loadSplats(app, options.url, options.lod);
    if (options.euler) splat.setLocalEulerAngles(...options.euler);
    app.root.addChild(splat);

    const frames = [];
    const framesRendered = [];
    const settled = [];
    const stats = [];
    for (const view of options.cameras) {
        camera.camera.fov = view.fov;
        camera.setPosition(...view.position);
        camera.lookAt(new pc.Vec3(...view.target), new pc.Vec3(...(view.up ?? [0, 1, 0])));
        // Render until the picture stops changing: the splat sort runs asynchronously, so the
        // first frames after a camera move may still use the previous view's order.
        const sortsBefore = sortEvents;
        let previous = null;
        let stableCount = 0;
        let n = 0;
        for (; n < options.maxFrames; n++) {
            await nextFrame(app);
            const png = canvas.toDataURL('image/png');
            if (png === previous && sortEvents > sortsBefore && streamed()) stableCount += 1;
            else stableCount = 0;
            previous = png;
            if (stableCount >= 3 && n >= (options.minFrames ?? 0)) break;
        }
        frames.push(previous);
        framesRendered.push(n + 1);
        settled.push(stableCount >= 3);
        if (options.lod) stats.push(lodStats(app));
    }
    const deviceType = device.deviceType;
    app.destroy();
    return { frames, framesRendered, settled, deviceType, sortEvents, lodStats: options.lod ? stats : undefined };
};
window.splatpressReady = true;
