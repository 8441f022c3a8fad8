//! The PTX the binary carries: `kernels/ptx/*.ptx`, built from `kernels/*.cu` by
//! `cargo xtask ptx` (NVRTC 11.8 for compute_75, header lowered from the `.version 7.8` NVRTC
//! writes to PTX ISA [`PTX_ISA`] = 7.0) and checked by `cargo xtask ptx --check` (current,
//! declares ISA 7.0, assembles with ptxas 11.7 and 11.8 for sm_75 and sm_86). ISA 7.0 is
//! CUDA 11.0, so any driver from [`MIN_DRIVER`] (R450) on JIT-compiles it for the GPU at hand
//! (T4, A10G, …), including the R470 (CUDA 11.4) drivers of SageMaker's ml.g4dn / ml.g5 hosts.

/// PTX ISA version every embedded module declares (`.version 7.0`). A driver JITs PTX only up
/// to the ISA of its CUDA version; 7.0 is CUDA 11.0. The kernels need 6.5+ (`mma.sync`
/// `.m16n8k8` f16). Equal to `PTX_ISA` in xtask/src/ptx.rs, which writes the headers; the
/// test below reads them.
pub const PTX_ISA: &str = "7.0";

/// Lowest `cuDriverGetVersion` value that JITs PTX ISA [`PTX_ISA`]: 11000, CUDA 11.0.
pub const MIN_DRIVER_CUDA: i32 = 11000;

/// The driver branch that first reports [`MIN_DRIVER_CUDA`]: R450 (450.36.06 on Linux).
pub const MIN_DRIVER: &str = "R450";

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The versions named by the module's `.version` lines (one, in a well-formed module).
    fn declared_isa(source: &str) -> Vec<&str> {
        source
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                (words.next() == Some(".version")).then(|| words.next().unwrap_or(""))
            })
            .collect()
    }

    #[test]
    fn every_module_declares_ptx_isa() {
        for module in ALL {
            assert_eq!(
                declared_isa(module.source),
                [PTX_ISA],
                "kernels/ptx/{}.ptx must declare exactly `.version {PTX_ISA}` (run `cargo xtask \
                 ptx`, or change PTX_ISA here and in xtask/src/ptx.rs together)",
                module.name
            );
        }
    }

    #[test]
    fn min_driver_matches_the_isa() {
        // ISA 7.x is CUDA 11.x (7.0 = 11.0 … 7.8 = 11.8); cuDriverGetVersion is 1000·major + 10·minor.
        let (major, minor) = PTX_ISA.split_once('.').expect("PTX_ISA is major.minor");
        let (major, minor): (i32, i32) = (major.parse().unwrap(), minor.parse().unwrap());
        assert_eq!(
            major, 7,
            "the ISA-to-CUDA mapping below holds for ISA 7.x only"
        );
        assert_eq!(MIN_DRIVER_CUDA, 11000 + 10 * minor);
    }
}
