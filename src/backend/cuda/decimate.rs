//! Decimation on the device (kernels/decimate.cu): `decimate_prepare` (one thread per splat),
//! `decimate_candidates` (one thread per splat i, blocks of [`THREADS`] consecutive i that
//! stage the rows j they look at in shared memory, chunk by chunk of steps) and
//! `decimate_merge` (one thread per group). Each is one launch.
//!
//! The kernels follow [`crate::backend::cpu::decimate`]'s f32 arithmetic operation for
//! operation (explicitly rounded adds and multiplies, IEEE division and square root); only
//! CUDA's `expf` / `logf` differ from the host's by an ulp or two.

use super::module::Arg;
use super::{CudaBackend, CudaBuffer, to_u32};
use crate::Result;
use crate::backend::decimate::{Decimate, Merged, Splats};

/// Threads per block of every decimation kernel, and the splats i a `decimate_candidates`
/// block owns (`DEC_THREADS` in kernels/decimate.cu).
const THREADS: u32 = 128;
/// Steps (partners j per splat i) per shared-memory chunk of `decimate_candidates`.
const MAX_STEPS: u32 = 64;
/// Colour values per row that `decimate_candidates` stages in shared memory and keeps in
/// registers (`DEC_REG_DIM`); wider rows read the rest from global memory.
const REG_DIM: usize = 48;
/// Position (3) and prepared (the first 10: mass, covariance, variances) values staged per
/// row beside the colours.
const STAGED_GEOMETRY: usize = 13;

entry_points!(
    /// Entry points of `kernels/decimate.cu`.
    DecimateKernels {
        decimate_prepare,
        decimate_candidates,
        decimate_merge,
    }
);

/// Dynamic shared memory of a `decimate_candidates` block with `steps` steps per chunk: rows
/// `THREADS + steps` at an odd stride, positions, prepared rows and the staged colours.
fn candidates_shared_bytes(steps: u32, dim: usize) -> u32 {
    let stride = (THREADS + steps) | 1;
    let values = STAGED_GEOMETRY + dim.min(REG_DIM);
    stride * values as u32 * 4
}

impl Decimate for CudaBackend {
    fn run_decimate_prepare(
        &self,
        n: usize,
        rotations: &CudaBuffer<f32>,
        log_scales: &CudaBuffer<f32>,
        opacities: &CudaBuffer<f32>,
        prepared: &mut CudaBuffer<f32>,
    ) -> Result<()> {
        self.run("decimate_prepare", || {
            if n == 0 {
                return Ok(());
            }
            let n32 = to_u32(n, "decimate_prepare: splats")?;
            self.kernels.decimate.decimate_prepare.launch(
                n32.div_ceil(THREADS),
                THREADS,
                0,
                &[
                    Arg::Ptr(rotations.ptr()),
                    Arg::Ptr(log_scales.ptr()),
                    Arg::Ptr(opacities.ptr()),
                    Arg::Ptr(prepared.ptr()),
                    Arg::U32(n32),
                ],
            )
        })
    }

    fn run_decimate_candidates(
        &self,
        n: usize,
        splats: &Splats<'_, Self>,
        window: usize,
        costs: &mut CudaBuffer<f32>,
        partners: &mut CudaBuffer<u32>,
    ) -> Result<()> {
        self.run("decimate_candidates", || {
            if n == 0 {
                return Ok(());
            }
            let n32 = to_u32(n, "decimate_candidates: splats")?;
            let window32 = to_u32(window, "decimate_candidates: window")?;
            let steps = window32.min(MAX_STEPS);
            self.kernels.decimate.decimate_candidates.launch(
                n32.div_ceil(THREADS),
                THREADS,
                candidates_shared_bytes(steps, splats.dim),
                &[
                    Arg::Ptr(splats.positions.ptr()),
                    Arg::Ptr(splats.prepared.ptr()),
                    Arg::Ptr(splats.colors.ptr()),
                    Arg::U32(n32),
                    Arg::U32(to_u32(splats.dim, "decimate_candidates: dim")?),
                    Arg::U32(window32),
                    Arg::U32(steps),
                    Arg::Ptr(costs.ptr()),
                    Arg::Ptr(partners.ptr()),
                ],
            )
        })
    }

    fn run_decimate_merge(
        &self,
        n: usize,
        g: usize,
        splats: &Splats<'_, Self>,
        offsets: &CudaBuffer<u32>,
        members: &CudaBuffer<u32>,
        merged: &mut Merged<'_, Self>,
    ) -> Result<()> {
        self.run("decimate_merge", || {
            if g == 0 {
                return Ok(());
            }
            let groups = to_u32(g, "decimate_merge: groups")?;
            self.kernels.decimate.decimate_merge.launch(
                groups.div_ceil(THREADS),
                THREADS,
                0,
                &[
                    Arg::Ptr(splats.positions.ptr()),
                    Arg::Ptr(splats.prepared.ptr()),
                    Arg::Ptr(splats.colors.ptr()),
                    Arg::U32(to_u32(n, "decimate_merge: splats")?),
                    Arg::U32(to_u32(splats.dim, "decimate_merge: dim")?),
                    Arg::Ptr(offsets.ptr()),
                    Arg::Ptr(members.ptr()),
                    Arg::U32(to_u32(members.len(), "decimate_merge: members")?),
                    Arg::U32(groups),
                    Arg::Ptr(merged.positions.ptr()),
                    Arg::Ptr(merged.rotations.ptr()),
                    Arg::Ptr(merged.log_scales.ptr()),
                    Arg::Ptr(merged.opacities.ptr()),
                    Arg::Ptr(merged.colors.ptr()),
                ],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::backend::decimate::{CANDIDATES, MAX_WINDOW, NO_PARTNER, PREPARED};

    const SOURCE: &str = include_str!("../../../kernels/decimate.cu");
    const PTX: &str = include_str!("../../../kernels/ptx/decimate.ptx");

    #[test]
    fn ptx_has_every_entry_point() {
        for name in ["decimate_prepare", "decimate_candidates", "decimate_merge"] {
            assert!(
                PTX.contains(&format!(".entry {name}(")),
                "kernels/ptx/decimate.ptx lacks {name}: run `cargo xtask ptx`"
            );
        }
    }

    #[test]
    fn constants_match_the_kernel() {
        for (name, value) in [
            ("DEC_THREADS", super::THREADS as usize),
            ("DEC_REG_DIM", super::REG_DIM),
            ("DEC_PREPARED", PREPARED),
            ("DEC_CANDIDATES", CANDIDATES),
        ] {
            assert!(
                SOURCE.contains(&format!("#define {name} {value}\n")),
                "kernels/decimate.cu: #define {name} {value}"
            );
        }
        assert!(SOURCE.contains(&format!("#define DEC_NO_PARTNER {NO_PARTNER:#x}u\n")));
    }

    #[test]
    fn shared_memory_fits_without_opt_in() {
        // 48 KiB of dynamic shared memory needs no cuFuncSetAttribute on any GPU.
        for dim in [3, 12, 27, 48, 200] {
            for window in [1, 32, 64, MAX_WINDOW] {
                let steps = (window as u32).min(super::MAX_STEPS);
                assert!(super::candidates_shared_bytes(steps, dim) <= 48 * 1024);
            }
        }
    }

    #[test]
    fn kernels_use_no_fast_math_intrinsics() {
        // The CPU's transcendental functions are accurate; the kernels use expf / logf (a few
        // ulp at most), never the approximate __expf / __logf or a fast division.
        for approximate in [
            "__expf",
            "__logf",
            "__powf",
            "__fdividef",
            "__frcp",
            "rsqrt",
        ] {
            assert!(
                !SOURCE.contains(approximate),
                "kernels/decimate.cu uses {approximate}"
            );
        }
        // Divisions and square roots are the IEEE ones (expf's own range reduction aside).
        assert!(
            !PTX.contains("div.approx"),
            "approximate division in decimate.ptx"
        );
        assert!(
            !PTX.contains("sqrt.approx"),
            "approximate sqrt in decimate.ptx"
        );
    }
}
