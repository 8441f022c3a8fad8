// Fixed cameras for the render comparison, derived from the original PLY alone: an orbit of
// `count` views around the median splat position, at a distance that frames most splats.
// Every file of a comparison is rendered from the same cameras.

/** Reads the float x, y, z columns of a binary little-endian PLY's vertex element. */
export function plyPositions(buffer) {
    const headerEnd = buffer.indexOf('end_header\n');
    if (headerEnd < 0) throw new Error('PLY: no end_header line');
    const header = buffer.subarray(0, headerEnd).toString('latin1').split('\n');
    if (!header.includes('format binary_little_endian 1.0')) throw new Error('PLY: only binary_little_endian is supported');
    const sizes = { char: 1, uchar: 1, int8: 1, uint8: 1, short: 2, ushort: 2, int16: 2, uint16: 2, int: 4, uint: 4, int32: 4, uint32: 4, float: 4, float32: 4, double: 8, float64: 8 };
    let count = 0;
    let inVertex = false;
    let stride = 0;
    const offsets = {};
    for (const line of header) {
        const words = line.trim().split(/\s+/);
        if (words[0] === 'element') {
            if (inVertex) break;
            inVertex = words[1] === 'vertex';
            if (!inVertex) throw new Error('PLY: the vertex element must come first');
            count = parseInt(words[2], 10);
        } else if (words[0] === 'property' && inVertex) {
            if (!(words[1] in sizes)) throw new Error(`PLY: unsupported property type ${words[1]}`);
            offsets[words[2]] = { offset: stride, type: words[1] };
            stride += sizes[words[1]];
        }
    }
    for (const axis of ['x', 'y', 'z']) {
        if (offsets[axis]?.type !== 'float') throw new Error(`PLY: property ${axis} missing or not float`);
    }
    const view = new DataView(buffer.buffer, buffer.byteOffset + headerEnd + 'end_header\n'.length);
    const positions = new Float64Array(count * 3);
    for (let i = 0; i < count; i++) {
        positions[i * 3] = view.getFloat32(i * stride + offsets.x.offset, true);
        positions[i * 3 + 1] = view.getFloat32(i * stride + offsets.y.offset, true);
        positions[i * 3 + 2] = view.getFloat32(i * stride + offsets.z.offset, true);
    }
    return positions;
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** `count` cameras on a circle around the scene, 20 degrees above its equator, 50 degree fov. */
export function plyCameras(buffer, count) {
    const positions = plyPositions(buffer);
    const n = positions.length / 3;
    const center = [0, 1, 2].map(axis => {
        const values = Array.from({ length: n }, (_, i) => positions[i * 3 + axis]).filter(Number.isFinite).sort((a, b) => a - b);
        return quantile(values, 0.5);
    });
    const distances = Array.from({ length: n }, (_, i) => Math.hypot(
        positions[i * 3] - center[0], positions[i * 3 + 1] - center[1], positions[i * 3 + 2] - center[2]
    )).filter(Number.isFinite).sort((a, b) => a - b);
    const radius = Math.max(quantile(distances, 0.9), 1e-3);
    const fov = 50;
    const distance = radius / Math.sin((fov / 2) * Math.PI / 180);
    const elevation = 20 * Math.PI / 180;
    return Array.from({ length: count }, (_, k) => {
        const azimuth = (2 * Math.PI * k) / count + 0.3;
        const position = [
            center[0] + distance * Math.cos(elevation) * Math.sin(azimuth),
            center[1] + distance * Math.sin(elevation),
            center[2] + distance * Math.cos(elevation) * Math.cos(azimuth)
        ];
        return { position, target: center, fov, up: [0, 1, 0] };
    });
}
