// Shared by every splatpress kernel; the host prepends it (after a per-pipeline header of
// `const` definitions) to each kernel file. Keep `Params` in sync with `shaders::Params`.

// Per-dispatch scalars. Not every kernel reads every field; each kernel's file says which.
struct Params {
    // Number of rows (or elements) this dispatch covers.
    n: u32,
    // Number of centroids / clusters.
    k: u32,
    // Values per row.
    dim: u32,
    // Global index of this dispatch's first row (points are bound one window at a time).
    first_row: u32,
    // Radix sort: number of blocks of BLOCK elements.
    num_blocks: u32,
    // Radix sort: bit shift of the current digit inside its 32-bit word.
    shift: u32,
    // Radix sort: which word of the 64-bit key holds the digit (0 = low, 1 = high).
    word: u32,
    // Segment sum: 1 for the first point window (start from zero), else 0.
    first_window: u32,
    // k-means assignment: the centroid range [first_centroid, centroid_end) this dispatch
    // scans (the centroid loop is split across dispatches; see kmeans_assign.wgsl).
    first_centroid: u32,
    centroid_end: u32,
    // k-means assignment: global index of the first centroid of the bound centroid buffer
    // (a centroid matrix too large for one buffer is bound chunk by chunk).
    centroid_base: u32,
}

// Linear workgroup index of a 2-D dispatch (used past 65,535 groups per dimension).
fn group_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + wid.y * nwg.x;
}
