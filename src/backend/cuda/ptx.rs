//! The PTX the binary carries: `kernels/ptx/*.ptx`, built from `kernels/*.cu` by
//! `cargo xtask ptx` (NVRTC 11.8, PTX ISA 7.8, compute_75) and checked to be current by
//! `cargo xtask ptx --check`. The driver JIT-compiles it for the GPU at hand (T4, A10G, …).

/// One embedded PTX module.
#[derive(Debug, Clone, Copy)]
pub struct PtxModule {
    /// Name of the `.cu` file it came from.
    pub name: &'static str,
    /// The PTX text.
    pub source: &'static str,
}

/// k-means: centroid packing, tiled and simple assignment, histogram, segment sums.
pub const KMEANS: PtxModule = PtxModule {
    name: "kmeans",
    source: include_str!("../../../kernels/ptx/kmeans.ptx"),
};

/// Radix sort: key bits, digit histogram, exclusive scan, stable scatter.
pub const SORT: PtxModule = PtxModule {
    name: "sort",
    source: include_str!("../../../kernels/ptx/sort.ptx"),
};

/// PLAS: per-radius box blur (rows, columns), group-of-four reorder, loss.
pub const PLAS: PtxModule = PtxModule {
    name: "plas",
    source: include_str!("../../../kernels/ptx/plas.ptx"),
};

/// Every module, in load order.
pub const ALL: [PtxModule; 3] = [KMEANS, SORT, PLAS];
