// Shared by the renderer's kernels (src/render/wgpu/): the host appends it after common.wgsl
// for render_{project,tile_count,emit,ranges,blend}.wgsl. Each struct mirrors a host struct,
// and a unit test compares their sizes: Projected ↔ render::Projected; View ↔ ViewParams and
// Blend ↔ BlendParams (src/render/wgpu/mod.rs); Bin ↔ BinParams (src/render/wgpu/bin.rs).

// Tile side in pixels (render::TILE): the blend's workgroup is TILE × TILE.
const TILE: u32 = 16u;
// Smallest alpha drawn (render::MIN_ALPHA): the projection drops splats of lower opacity,
// the blend skips contributions below it.
const MIN_ALPHA: f32 = 1.0 / 255.0;

// One projected splat (render::Projected), written by render_project.wgsl.
struct Projected {
    mean: vec2<f32>,
    depth: f32,
    opacity: f32,
    conic: vec3<f32>,
    // First tile column and row of its rectangle, x | y << 16.
    rect_min: u32,
    color: vec3<f32>,
    // One past the last tile column and row, x | y << 16.
    rect_max: u32,
}

// The uniform of render_project.wgsl: the camera and one batch of splats.
struct View {
    // World → camera rotation rows; w holds the translation component.
    row0: vec4<f32>,
    row1: vec4<f32>,
    row2: vec4<f32>,
    // Camera centre in world coordinates (w unused).
    eye: vec4<f32>,
    fx: f32,
    fy: f32,
    cx: f32,
    cy: f32,
    width: u32,
    height: u32,
    tiles_x: u32,
    tiles_y: u32,
    // Splats of this batch.
    n: u32,
    bands: u32,
    sh_stride: u32,
    // 0: the reference 3DGS kernel; 1: the PlayCanvas engine's (low-pass 0.075 px², culls
    // splats whose larger eigenvalue is under 0.125 px²).
    kernel: u32,
    // Index of this dispatch's first splat in `projected`: a scene too large for one binding
    // is projected in batches, each with its own column buffers (indexed from 0).
    first: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

// The uniform of render_blend.wgsl.
struct Blend {
    width: u32,
    height: u32,
    tiles_x: u32,
    tiles_y: u32,
    // 0: the reference 3DGS kernel; 1: the PlayCanvas engine's (cut at ½m² = 4, rescaled).
    kernel: u32,
}

// The uniform of the binning kernels (render_tile_count, render_emit, render_ranges).
struct Bin {
    // Elements the dispatch covers: splats (tile_count, emit) or sorted keys (ranges).
    n: u32,
    // Tiles per row of the view.
    tiles_x: u32,
}
