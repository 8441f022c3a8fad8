//! The decimation family (levels of detail): `decimate_prepare` (each splat's mass and
//! covariance), `decimate_candidates` (each splat's cheapest merge partners among the next
//! `window` splats) and `decimate_merge` (moment matching: each group of splats becomes one
//! Gaussian with the group's mass, mean and covariance). The provided methods check the
//! lengths once, here, and call the backend's `run_decimate_*`; [`super::cpu::decimate`]
//! defines what they compute. The driver (which pairs to merge, how many rounds) is
//! `encode::decimate`.
//!
//! Layouts (all f32, row-major): positions `n·3`; rotations `n·4` (w, x, y, z, not necessarily
//! normalised); log scales `n·3`; opacities `n` (logits); colours `n·dim` (the three DC
//! coefficients, then the SH rest; `dim ≥ 3`); prepared rows `n·PREPARED`.

use super::buffers::{Buffers, DeviceBuffer};
use crate::Result;

/// Values per prepared row: mass (0), the covariance's six upper-triangle entries (1..7: xx,
/// xy, xz, yy, yz, zz), the three variances σ² along the splat's own axes (7..10) and its
/// unit quaternion (10..14: w, x, y, z). The variances give a splat's ln det exactly and the
/// quaternion the merge's frame (see [`super::cpu::decimate`] on conditioning).
pub const PREPARED: usize = 14;

/// Partners kept per splat by `decimate_candidates`.
pub const CANDIDATES: usize = 4;

/// The partner index of an empty candidate slot (its cost is +∞).
pub const NO_PARTNER: u32 = u32::MAX;

/// Largest `window` `decimate_candidates` accepts (bounds a GPU thread's loop).
pub const MAX_WINDOW: usize = 256;

/// The splats the candidate and merge kernels read: positions, prepared rows and colours
/// of the same `n` splats.
pub struct Splats<'a, B: Buffers + ?Sized> {
    /// `n·3` centres.
    pub positions: &'a B::Buffer<f32>,
    /// `n·PREPARED` rows from `decimate_prepare`.
    pub prepared: &'a B::Buffer<f32>,
    /// `n·dim` colour rows.
    pub colors: &'a B::Buffer<f32>,
    /// Values per colour row (3 + the SH rest).
    pub dim: usize,
}

/// Where `decimate_merge` writes its `g` merged splats (same layouts as the inputs).
pub struct Merged<'a, B: Buffers + ?Sized> {
    /// `g·3` centres.
    pub positions: &'a mut B::Buffer<f32>,
    /// `g·4` unit quaternions (w, x, y, z), w ≥ 0.
    pub rotations: &'a mut B::Buffer<f32>,
    /// `g·3` log standard deviations, largest first.
    pub log_scales: &'a mut B::Buffer<f32>,
    /// `g` opacity logits.
    pub opacities: &'a mut B::Buffer<f32>,
    /// `g·dim` colour rows.
    pub colors: &'a mut B::Buffer<f32>,
}

/// Checks a `Splats` view and returns `n`.
fn splat_count(
    kernel: &str,
    positions: usize,
    prepared: usize,
    colors: usize,
    dim: usize,
) -> Result<usize, String> {
    if !positions.is_multiple_of(3) {
        return Err(format!(
            "{kernel}: {positions} position values are not whole rows of 3"
        ));
    }
    let n = positions / 3;
    if dim < 3 {
        return Err(format!(
            "{kernel}: colour rows of {dim} values (at least the 3 DC values)"
        ));
    }
    if prepared != n * PREPARED || colors != n * dim {
        return Err(format!(
            "{kernel}: {prepared} prepared and {colors} colour values for {n} splats (want {} and {})",
            n * PREPARED,
            n * dim
        ));
    }
    Ok(n)
}

/// Decimation kernels. Required: the `run_decimate_*` methods, which receive checked
/// lengths; drivers call the provided `decimate_prepare`, `decimate_candidates` and
/// `decimate_merge`.
pub trait Decimate: Buffers {
    /// For each splat, its prepared row: mass = sigmoid(opacity) · surface area of the
    /// ellipsoid of its standard deviations (Knud Thomsen, p = 1.6075), the covariance
    /// R·diag(σ²)·Rᵀ of its normalised rotation, the variances σ² and the normalised
    /// quaternion. Defined by
    /// [`super::cpu::decimate::decimate_prepare`].
    fn decimate_prepare(
        &self,
        rotations: &Self::Buffer<f32>,
        log_scales: &Self::Buffer<f32>,
        opacities: &Self::Buffer<f32>,
        prepared: &mut Self::Buffer<f32>,
    ) -> Result<()> {
        let n = opacities.len();
        if rotations.len() != n * 4 || log_scales.len() != n * 3 || prepared.len() != n * PREPARED {
            return Err(self.error(format!(
                "decimate_prepare: {} rotation, {} log-scale and {} prepared values for {n} opacities",
                rotations.len(),
                log_scales.len(),
                prepared.len()
            )));
        }
        self.run_decimate_prepare(n, rotations, log_scales, opacities, prepared)
    }

    /// For each splat i, the [`CANDIDATES`] cheapest partners j among i+1 ..= i+`window`
    /// (j < n), cheapest first, ties to the lower j; empty slots get cost +∞ and
    /// [`NO_PARTNER`]. Rows `n·CANDIDATES` of `costs` and `partners`. The cost of a pair is
    /// what merging it loses (see [`super::cpu::decimate::merge_cost`]). Defined by
    /// [`super::cpu::decimate::decimate_candidates`].
    fn decimate_candidates(
        &self,
        splats: &Splats<'_, Self>,
        window: usize,
        costs: &mut Self::Buffer<f32>,
        partners: &mut Self::Buffer<u32>,
    ) -> Result<()> {
        let n = splat_count(
            "decimate_candidates",
            splats.positions.len(),
            splats.prepared.len(),
            splats.colors.len(),
            splats.dim,
        )
        .map_err(|m| self.error(m))?;
        if window == 0 || window > MAX_WINDOW {
            return Err(self.error(format!(
                "decimate_candidates: window {window} (1 to {MAX_WINDOW})"
            )));
        }
        if costs.len() != n * CANDIDATES || partners.len() != n * CANDIDATES {
            return Err(self.error(format!(
                "decimate_candidates: {} costs and {} partners for {n} splats (want {})",
                costs.len(),
                partners.len(),
                n * CANDIDATES
            )));
        }
        self.run_decimate_candidates(n, splats, window, costs, partners)
    }

    /// Moment matching: group g (members `members[offsets[g] .. offsets[g+1]]`, indices
    /// into `splats`, at least one each) becomes one splat with the group's total mass, its
    /// mass-weighted mean, the mass-weighted covariance about that mean (law of total
    /// variance), opacity = min(1, mass / area of the merged ellipsoid) and the
    /// mass-weighted mean colour. `offsets` has g + 1 entries. Defined by
    /// [`super::cpu::decimate::decimate_merge`].
    fn decimate_merge(
        &self,
        splats: &Splats<'_, Self>,
        offsets: &Self::Buffer<u32>,
        members: &Self::Buffer<u32>,
        merged: &mut Merged<'_, Self>,
    ) -> Result<()> {
        let n = splat_count(
            "decimate_merge",
            splats.positions.len(),
            splats.prepared.len(),
            splats.colors.len(),
            splats.dim,
        )
        .map_err(|m| self.error(m))?;
        if offsets.is_empty() {
            return Err(self.error("decimate_merge: offsets needs g + 1 entries, got none"));
        }
        let g = offsets.len() - 1;
        let dim = splats.dim;
        if merged.positions.len() != g * 3
            || merged.rotations.len() != g * 4
            || merged.log_scales.len() != g * 3
            || merged.opacities.len() != g
            || merged.colors.len() != g * dim
        {
            return Err(self.error(format!(
                "decimate_merge: output columns of {}, {}, {}, {} and {} values for {g} groups of colour rows of {dim}",
                merged.positions.len(),
                merged.rotations.len(),
                merged.log_scales.len(),
                merged.opacities.len(),
                merged.colors.len()
            )));
        }
        if members.len() > n.max(1) * 16 {
            return Err(self.error(format!(
                "decimate_merge: {} members for {n} splats",
                members.len()
            )));
        }
        self.run_decimate_merge(n, g, splats, offsets, members, merged)
    }

    /// [`Decimate::decimate_prepare`] for `n` splats, lengths checked.
    fn run_decimate_prepare(
        &self,
        n: usize,
        rotations: &Self::Buffer<f32>,
        log_scales: &Self::Buffer<f32>,
        opacities: &Self::Buffer<f32>,
        prepared: &mut Self::Buffer<f32>,
    ) -> Result<()>;

    /// [`Decimate::decimate_candidates`] for `n` splats, lengths and window checked.
    fn run_decimate_candidates(
        &self,
        n: usize,
        splats: &Splats<'_, Self>,
        window: usize,
        costs: &mut Self::Buffer<f32>,
        partners: &mut Self::Buffer<u32>,
    ) -> Result<()>;

    /// [`Decimate::decimate_merge`] of `g` groups over `n` splats, lengths checked (member
    /// indices and offsets are the driver's: a kernel skips a member index ≥ n and clamps
    /// offsets to the members).
    fn run_decimate_merge(
        &self,
        n: usize,
        g: usize,
        splats: &Splats<'_, Self>,
        offsets: &Self::Buffer<u32>,
        members: &Self::Buffer<u32>,
        merged: &mut Merged<'_, Self>,
    ) -> Result<()>;
}
