// Page script: renders one gsplat asset (PLY, .sog bundle or SOG meta.json) or one glTF binary
// with KHR_gaussian_splatting (.glb, loaded as a container asset: the engine's glTF parser turns
// each splat primitive into a gsplat component) with the PlayCanvas engine from a list of fixed
// cameras, and hands back each frame as a PNG data URL.
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
async function loadSplats(app, url) {
    if (url.toLowerCase().endsWith('.glb')) {
        const asset = await loadAsset(app, url, 'container');
        if (asset.resource.gsplats.length === 0) throw new Error(`${url}: the engine found no KHR_gaussian_splatting primitive`);
        return asset.resource.instantiateRenderEntity();
    }
    const asset = await loadAsset(app, url, 'gsplat');
    const splat = new pc.Entity('splat');
    splat.addComponent('gsplat', { asset });
    return splat;
}

/**
 * options: { url, size, cameras: [{ position: [x,y,z], target: [x,y,z], fov }], maxFrames,
 *            euler: [x,y,z] degrees for the splat entity (optional; a .glb in glTF axes needs
 *            [0, 0, 180] to sit where the PLY-space files sit) }
 * Returns { frames: [dataURL], framesRendered: [n], settled: [bool], deviceType, sortEvents }.
 */
window.splatpressRender = async function (options) {
    const { app, canvas, device } = await createApp(options.size);
    let sortEvents = 0;
    app.scene.on('gsplat:sorted', () => { sortEvents += 1; });

    const camera = new pc.Entity('camera');
    camera.addComponent('camera', {
        clearColor: new pc.Color(0, 0, 0, 1),
        fov: options.cameras[0].fov,
        nearClip: 0.01,
        farClip: 1000
    });
    app.root.addChild(camera);

    const splat = await loadSplats(app, options.url);
    if (options.euler) splat.setLocalEulerAngles(...options.euler);
    app.root.addChild(splat);

    const frames = [];
    const framesRendered = [];
    const settled = [];
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
            if (png === previous && sortEvents > sortsBefore) stableCount += 1;
            else stableCount = 0;
            previous = png;
            if (stableCount >= 3 && n >= (options.minFrames ?? 0)) break;
        }
        frames.push(previous);
        framesRendered.push(n + 1);
        settled.push(stableCount >= 3);
    }
    const deviceType = device.deviceType;
    app.destroy();
    return { frames, framesRendered, settled, deviceType, sortEvents };
};
window.splatpressReady = true;
