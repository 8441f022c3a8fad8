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

/// Machine code of one module for one architecture: `kernels/sass/<name>.sm_XY.cubin`,
/// assembled from the committed PTX by ptxas 11.8 (`cargo xtask ptx`; `--check` rebuilds and
/// compares). Loading it skips the driver's PTX JIT, which a fresh container pays in full.
/// Cubins from a CUDA 11 toolkit load on any driver from R450 on (CUDA 11 minor version
/// compatibility), the PTX's own floor.
#[derive(Debug, Clone, Copy)]
pub struct Cubin {
    /// Compute capability it was built for, e.g. (8, 6).
    pub arch: (i32, i32),
    /// The ELF image.
    pub bytes: &'static [u8],
}

impl Cubin {
    /// `sm_86` and the like.
    pub fn name(&self) -> String {
        format!("sm_{}{}", self.arch.0, self.arch.1)
    }
}

/// One embedded kernel module: its PTX and its machine code for the GPUs production uses.
#[derive(Debug, Clone, Copy)]
pub struct PtxModule {
    /// Name of the `.cu` file it came from.
    pub name: &'static str,
    /// The PTX text.
    pub source: &'static str,
    /// Machine code for [`SASS_ARCHS`].
    pub cubins: &'static [Cubin],
}

impl PtxModule {
    /// The cubin a GPU of compute capability `cc` runs: same major version, the highest minor
    /// not above the GPU's (an sm_86 cubin runs on 8.6 and 8.9). `None`: JIT the PTX.
    pub fn machine_code(&self, cc: (i32, i32)) -> Option<&'static Cubin> {
        self.cubins
            .iter()
            .filter(|c| c.arch.0 == cc.0 && c.arch.1 <= cc.1)
            .max_by_key(|c| c.arch.1)
    }
}

/// Architectures shipped as machine code (T4, A100, A10G, L4, H100/H200); equal to `ARCHS` in
/// xtask/src/sass.rs.
pub const SASS_ARCHS: [(i32, i32); 5] = [(7, 5), (8, 0), (8, 6), (8, 9), (9, 0)];

/// The embedded cubins of module `$name`, one per [`SASS_ARCHS`] entry.
macro_rules! cubins {
    ($name:literal) => {
        &[
            cubin!($name, 7, 5),
            cubin!($name, 8, 0),
            cubin!($name, 8, 6),
            cubin!($name, 8, 9),
            cubin!($name, 9, 0),
        ]
    };
}

macro_rules! cubin {
    ($name:literal, $major:literal, $minor:literal) => {
        Cubin {
            arch: ($major, $minor),
            bytes: include_bytes!(concat!(
                "../../../kernels/sass/",
                $name,
                ".sm_",
                $major,
                $minor,
                ".cubin"
            )),
        }
    };
}

/// k-means: centroid packing, tiled and simple assignment, histogram, segment sums.
pub const KMEANS: PtxModule = PtxModule {
    name: "kmeans",
    source: include_str!("../../../kernels/ptx/kmeans.ptx"),
    cubins: cubins!("kmeans"),
};

/// Radix sort: key bits, digit histogram, exclusive scan, stable scatter.
pub const SORT: PtxModule = PtxModule {
    name: "sort",
    source: include_str!("../../../kernels/ptx/sort.ptx"),
    cubins: cubins!("sort"),
};

/// PLAS: per-radius box blur (rows, columns), group-of-four reorder, loss.
pub const PLAS: PtxModule = PtxModule {
    name: "plas",
    source: include_str!("../../../kernels/ptx/plas.ptx"),
    cubins: cubins!("plas"),
};

/// Decimation: prepared rows, merge candidates in a window, moment-matched merges.
pub const DECIMATE: PtxModule = PtxModule {
    name: "decimate",
    source: include_str!("../../../kernels/ptx/decimate.ptx"),
    cubins: cubins!("decimate"),
};

/// Every module, in load order.
pub const ALL: [PtxModule; 4] = [KMEANS, SORT, PLAS, DECIMATE];

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
    fn each_gpu_gets_the_machine_code_of_its_family() {
        let pick = |cc| KMEANS.machine_code(cc).map(|c| c.name());
        assert_eq!(pick((7, 5)).as_deref(), Some("sm_75"));
        assert_eq!(pick((8, 0)).as_deref(), Some("sm_80"));
        assert_eq!(pick((8, 6)).as_deref(), Some("sm_86"));
        assert_eq!(pick((8, 7)).as_deref(), Some("sm_86"));
        assert_eq!(pick((8, 9)).as_deref(), Some("sm_89"));
        assert_eq!(pick((9, 0)).as_deref(), Some("sm_90"));
        // Older than the kernels' target, or a family without cubins: the PTX.
        assert_eq!(pick((7, 0)), None);
        assert_eq!(pick((10, 0)), None);
        assert_eq!(pick((12, 0)), None);
    }

    #[test]
    fn every_cubin_is_cuda_machine_code_for_its_arch() {
        for module in ALL {
            assert_eq!(module.cubins.len(), SASS_ARCHS.len());
            for (cubin, arch) in module.cubins.iter().zip(SASS_ARCHS) {
                assert_eq!(cubin.arch, arch);
                let b = cubin.bytes;
                assert_eq!(&b[..4], b"\x7fELF", "{} {}", module.name, cubin.name());
                // e_machine 190 = EM_CUDA; the low byte of e_flags is the SM version.
                assert_eq!(u16::from_le_bytes([b[18], b[19]]), 190);
                let sm = u32::from_le_bytes([b[48], b[49], b[50], b[51]]) & 0xff;
                assert_eq!(
                    sm as i32,
                    arch.0 * 10 + arch.1,
                    "{} {}",
                    module.name,
                    cubin.name()
                );
            }
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
