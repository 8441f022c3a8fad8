//! Registry of the embedded WGSL kernels (`wgsl/*.wgsl`, one entry point `main` per file) and
//! the text each pipeline is compiled from: an optional `enable f16;`, a header of `const`s
//! chosen by the host, `wgsl/common.wgsl` (then `plas_common.wgsl`, `decimate_common.wgsl`
//! or `render_common.wgsl` for those families), then the kernel file. The registry also holds
//! the renderer's kernels (`crate::render::wgpu`), which bind their own uniforms.

/// Shared WGSL declarations (the [`Params`] struct, `group_index`).
const COMMON: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/wgsl/common.wgsl"));
/// Declarations shared by the PLAS kernels (`PlasParams`, the workgroup sum), appended after
/// [`COMMON`] for them.
const PLAS_COMMON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/wgsl/plas_common.wgsl"
));
/// Declarations and math shared by the decimation kernels (`DecimateParams`, the area,
/// log-determinant and logit of `cpu::decimate`), appended after [`COMMON`] for them.
const DECIMATE_COMMON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/wgsl/decimate_common.wgsl"
));

/// Declarations shared by the renderer's kernels (`Projected`, the `View`, `Blend` and `Bin`
/// uniforms, `TILE`), appended after [`COMMON`] for them.
const RENDER_COMMON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/wgsl/render_common.wgsl"
));

/// Invocations per workgroup of `segment_sum.wgsl` (its `WG`).
pub(crate) const SEGMENT_WORKGROUP: u32 = 64;
/// Rows owned by one workgroup of `kmeans_assign.wgsl` (its `BP`).
pub(crate) const ASSIGN_ROWS_PER_GROUP: u32 = 128;
/// Centroids per tile of `kmeans_assign.wgsl` (its `BC`).
pub(crate) const ASSIGN_TILE: u32 = 128;
/// Largest number of dimensions `kmeans_assign.wgsl` stages at a time (its `DC`).
const ASSIGN_MAX_CHUNK: u32 = 12;
/// Invocations per workgroup of every other kernel.
pub(crate) const WORKGROUP: u32 = 256;
/// Keys handled by one workgroup of the radix kernels (4 per invocation).
pub(crate) const RADIX_BLOCK: u32 = 1024;

/// Per-dispatch scalars, mirrored by `struct Params` in `wgsl/common.wgsl` (field meanings
/// are documented there). A unit test checks both sizes agree.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Params {
    pub n: u32,
    pub k: u32,
    pub dim: u32,
    pub first_row: u32,
    pub num_blocks: u32,
    pub shift: u32,
    pub word: u32,
    pub first_window: u32,
    pub first_centroid: u32,
    pub centroid_end: u32,
    pub centroid_base: u32,
}

const _: () = assert!(std::mem::size_of::<Params>() == 44);

/// One WGSL kernel file. The file stem is [`Kernel::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kernel {
    KmeansAssign,
    CentroidNorms,
    ToF16,
    LabelHistogram,
    LabelPairs,
    SegmentSum,
    RadixHistogram,
    RadixScatter,
    Scan,
    KeyBits,
    /// `scan` with subgroup operations (devices with `Features::SUBGROUP`).
    ScanSubgroup,
    /// `key_bits` with subgroup operations (devices with `Features::SUBGROUP`).
    KeyBitsSubgroup,
    /// One axis of the PLAS box blur.
    PlasBlur,
    /// One PLAS reorder with per-workgroup partial losses.
    PlasReorder,
    /// The PLAS loss over a block lattice, per-workgroup partials.
    PlasLoss,
    /// Deterministic reduction of PLAS partial losses.
    PlasReduce,
    /// Per-splat mass, covariance and log-determinant.
    DecimatePrepare,
    /// Per-splat cheapest merge partners.
    DecimateCandidates,
    /// Moment-matched merge of groups (in phases).
    DecimateMerge,
    /// Renderer step 1: one projected splat per invocation (`View` uniform).
    RenderProject,
    /// Renderer binning: tiles per splat and their 64-bit total (`Bin` uniform).
    RenderTileCount,
    /// Renderer binning: one (tile, depth) sort key per tile of each splat (`Bin` uniform).
    RenderEmit,
    /// Renderer binning: each tile's range in the sorted keys (`Bin` uniform).
    RenderRanges,
    /// Renderer step 3: one workgroup per 16×16 tile (`Blend` uniform).
    RenderBlend,
}

impl Kernel {
    /// Every kernel, for the validation tests.
    #[cfg(test)]
    pub(crate) const ALL: [Kernel; 24] = [
        Kernel::KmeansAssign,
        Kernel::CentroidNorms,
        Kernel::ToF16,
        Kernel::LabelHistogram,
        Kernel::LabelPairs,
        Kernel::SegmentSum,
        Kernel::RadixHistogram,
        Kernel::RadixScatter,
        Kernel::Scan,
        Kernel::KeyBits,
        Kernel::ScanSubgroup,
        Kernel::KeyBitsSubgroup,
        Kernel::PlasBlur,
        Kernel::PlasReorder,
        Kernel::PlasLoss,
        Kernel::PlasReduce,
        Kernel::DecimatePrepare,
        Kernel::DecimateCandidates,
        Kernel::DecimateMerge,
        Kernel::RenderProject,
        Kernel::RenderTileCount,
        Kernel::RenderEmit,
        Kernel::RenderRanges,
        Kernel::RenderBlend,
    ];

    /// File stem and pipeline label.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kernel::KmeansAssign => "kmeans_assign",
            Kernel::CentroidNorms => "centroid_norms",
            Kernel::ToF16 => "to_f16",
            Kernel::LabelHistogram => "label_histogram",
            Kernel::LabelPairs => "label_pairs",
            Kernel::SegmentSum => "segment_sum",
            Kernel::RadixHistogram => "radix_histogram",
            Kernel::RadixScatter => "radix_scatter",
            Kernel::Scan => "scan",
            Kernel::KeyBits => "key_bits",
            Kernel::ScanSubgroup => "scan_subgroup",
            Kernel::KeyBitsSubgroup => "key_bits_subgroup",
            Kernel::PlasBlur => "plas_blur",
            Kernel::PlasReorder => "plas_reorder",
            Kernel::PlasLoss => "plas_loss",
            Kernel::PlasReduce => "plas_reduce",
            Kernel::DecimatePrepare => "decimate_prepare",
            Kernel::DecimateCandidates => "decimate_candidates",
            Kernel::DecimateMerge => "decimate_merge",
            Kernel::RenderProject => "render_project",
            Kernel::RenderTileCount => "render_tile_count",
            Kernel::RenderEmit => "render_emit",
            Kernel::RenderRanges => "render_ranges",
            Kernel::RenderBlend => "render_blend",
        }
    }

    /// The kernel file's text.
    fn body(self) -> &'static str {
        macro_rules! wgsl {
            ($file:literal) => {
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/wgsl/", $file))
            };
        }
        match self {
            Kernel::KmeansAssign => wgsl!("kmeans_assign.wgsl"),
            Kernel::CentroidNorms => wgsl!("centroid_norms.wgsl"),
            Kernel::ToF16 => wgsl!("to_f16.wgsl"),
            Kernel::LabelHistogram => wgsl!("label_histogram.wgsl"),
            Kernel::LabelPairs => wgsl!("label_pairs.wgsl"),
            Kernel::SegmentSum => wgsl!("segment_sum.wgsl"),
            Kernel::RadixHistogram => wgsl!("radix_histogram.wgsl"),
            Kernel::RadixScatter => wgsl!("radix_scatter.wgsl"),
            Kernel::Scan => wgsl!("scan.wgsl"),
            Kernel::KeyBits => wgsl!("key_bits.wgsl"),
            Kernel::ScanSubgroup => wgsl!("scan_subgroup.wgsl"),
            Kernel::KeyBitsSubgroup => wgsl!("key_bits_subgroup.wgsl"),
            Kernel::PlasBlur => wgsl!("plas_blur.wgsl"),
            Kernel::PlasReorder => wgsl!("plas_reorder.wgsl"),
            Kernel::PlasLoss => wgsl!("plas_loss.wgsl"),
            Kernel::PlasReduce => wgsl!("plas_reduce.wgsl"),
            Kernel::DecimatePrepare => wgsl!("decimate_prepare.wgsl"),
            Kernel::DecimateCandidates => wgsl!("decimate_candidates.wgsl"),
            Kernel::DecimateMerge => wgsl!("decimate_merge.wgsl"),
            Kernel::RenderProject => wgsl!("render_project.wgsl"),
            Kernel::RenderTileCount => wgsl!("render_tile_count.wgsl"),
            Kernel::RenderEmit => wgsl!("render_emit.wgsl"),
            Kernel::RenderRanges => wgsl!("render_ranges.wgsl"),
            Kernel::RenderBlend => wgsl!("render_blend.wgsl"),
        }
    }

    /// Whether the kernel is one of the PLAS kernels (they read `PlasParams`).
    pub(crate) fn is_plas(self) -> bool {
        matches!(
            self,
            Kernel::PlasBlur | Kernel::PlasReorder | Kernel::PlasLoss | Kernel::PlasReduce
        )
    }

    /// Whether the kernel is one of the decimation kernels (they read `DecimateParams`).
    pub(crate) fn is_decimate(self) -> bool {
        matches!(
            self,
            Kernel::DecimatePrepare | Kernel::DecimateCandidates | Kernel::DecimateMerge
        )
    }

    /// Whether the kernel is one of the renderer's (they read `render_common.wgsl`).
    pub(crate) fn is_render(self) -> bool {
        matches!(
            self,
            Kernel::RenderProject
                | Kernel::RenderTileCount
                | Kernel::RenderEmit
                | Kernel::RenderRanges
                | Kernel::RenderBlend
        )
    }

    /// Whether the kernel uses subgroup operations (built only where the device has them).
    pub(crate) fn uses_subgroups(self) -> bool {
        matches!(self, Kernel::ScanSubgroup | Kernel::KeyBitsSubgroup)
    }

    /// The `@workgroup_size` of the kernel's entry point.
    #[cfg(test)]
    pub(crate) fn workgroup_size(self) -> [u32; 3] {
        match self {
            Kernel::SegmentSum => [SEGMENT_WORKGROUP, 1, 1],
            // One invocation per pixel of a tile (`TILE` of render_common.wgsl).
            Kernel::RenderBlend => [16, 16, 1],
            _ => [WORKGROUP, 1, 1],
        }
    }
}

/// Loop iterations one `kmeans_assign` invocation may run per dispatch: half of
/// llvmpipe/lavapipe's limit (`LP_MAX_TGSI_LOOP_ITERATIONS` = 65,535, one counter shared by
/// every loop of a shader and never reset; past it the loops are left early and the labels
/// come out wrong without any error). See [`AssignVariant::centroids_per_dispatch`].
pub(crate) const ASSIGN_LOOP_BUDGET: u32 = 32 * 1024;

/// Compile-time variant of one `kmeans_assign` (and `centroid_norms`) pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct AssignVariant {
    /// Values per row (`DIM`).
    pub dim: u32,
    /// Dimensions of the row and centroid tiles staged in workgroup memory at a time (`DC`).
    pub dims_per_chunk: u32,
    /// Centroids per tile (`BC`, fixed by the kernel).
    pub tile: u32,
    /// Half-precision storage of points and centroids (`Scalar = f16`).
    pub f16: bool,
}

impl AssignVariant {
    /// The variant used for rows of `dim` values: chunks of at most 12 dimensions (the tiles
    /// then fit 16 KiB of workgroup memory), chosen to keep both the zero padding of the last
    /// chunk and the number of chunks (two barriers each) small: 45 → 5 × 9, 64 → 6 × 11.
    pub(crate) fn for_dim(dim: u32, f16: bool) -> Self {
        let dim = dim.max(1);
        let cost = |chunk: u32| {
            let chunks = dim.div_ceil(chunk);
            (chunks * chunk + 2 * chunks, u32::MAX - chunk)
        };
        let dims_per_chunk = (1..=ASSIGN_MAX_CHUNK.min(dim))
            .min_by_key(|&chunk| cost(chunk))
            .unwrap_or(1);
        AssignVariant {
            dim,
            dims_per_chunk,
            tile: ASSIGN_TILE,
            f16,
        }
    }

    /// Rows handled by one workgroup.
    pub(crate) fn rows_per_group(self) -> u32 {
        ASSIGN_ROWS_PER_GROUP
    }

    /// Bytes of workgroup memory the kernel declares: the row and centroid tiles, the tile's
    /// norms and the merge arrays, all 4-byte values.
    pub(crate) fn workgroup_bytes(self) -> u32 {
        4 * (self.dims_per_chunk * (ASSIGN_ROWS_PER_GROUP + self.tile)
            + self.tile
            + 2 * ASSIGN_ROWS_PER_GROUP)
    }

    /// Loop iterations (back-edges) one invocation runs for `centroids` centroids, counting
    /// as if the driver unrolled nothing: per tile the tile loop and per chunk of dimensions
    /// the chunk loop, the two cooperative load loops and the `DC` loop; once the merge (16
    /// rounds of 8 rows).
    pub(crate) fn loop_iterations(self, centroids: u32) -> u64 {
        let (dim, chunk, tile) = (
            u64::from(self.dim),
            u64::from(self.dims_per_chunk),
            u64::from(self.tile),
        );
        let threads = u64::from(WORKGROUP);
        let per_chunk = 1
            + (chunk * u64::from(ASSIGN_ROWS_PER_GROUP)).div_ceil(threads)
            + (chunk * tile).div_ceil(threads)
            + chunk;
        let per_tile = 1 + dim.div_ceil(chunk) * per_chunk;
        let merge = 16 * (1 + 8);
        merge + u64::from(centroids.div_ceil(self.tile)) * per_tile
    }

    /// Centroids one dispatch scans (a multiple of the tile, at least one tile): as many as
    /// keep [`Self::loop_iterations`] within [`ASSIGN_LOOP_BUDGET`]. Larger `k` is split
    /// across dispatches that carry the running minimum, so no driver's per-invocation loop
    /// or run-time limit is reached however large `k` grows.
    pub(crate) fn centroids_per_dispatch(self) -> u32 {
        let mut tiles = 1u32;
        while self.loop_iterations((tiles + 1) * self.tile) <= u64::from(ASSIGN_LOOP_BUDGET) {
            tiles += 1;
        }
        tiles * self.tile
    }
}

/// The full WGSL source of `kernel` (`variant` is used by `kmeans_assign` and `centroid_norms`
/// only).
pub(crate) fn source(kernel: Kernel, variant: Option<AssignVariant>) -> String {
    let mut text = String::new();
    let f16 = match kernel {
        Kernel::ToF16 => true,
        Kernel::KmeansAssign | Kernel::CentroidNorms => variant.is_some_and(|s| s.f16),
        _ => false,
    };
    if f16 {
        text.push_str("enable f16;\n");
    }
    if matches!(kernel, Kernel::KmeansAssign | Kernel::CentroidNorms) {
        let variant = variant.unwrap_or(AssignVariant::for_dim(1, false));
        let scalar = if variant.f16 { "f16" } else { "f32" };
        text.push_str(&format!(
            "alias Scalar = {scalar};\nconst DIM: u32 = {}u;\nconst DC: u32 = {}u;\n",
            variant.dim, variant.dims_per_chunk
        ));
    }
    text.push_str(COMMON);
    if kernel.is_plas() {
        text.push_str(PLAS_COMMON);
    }
    if kernel.is_decimate() {
        text.push_str(DECIMATE_COMMON);
    }
    if kernel.is_render() {
        text.push_str(RENDER_COMMON);
    }
    text.push_str(kernel.body());
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use naga::valid::{Capabilities, ValidationFlags, Validator};

    fn validate(source: &str, caps: Capabilities) -> Result<naga::Module, String> {
        let module = naga::front::wgsl::parse_str(source).map_err(|e| e.emit_to_string(source))?;
        Validator::new(ValidationFlags::all(), caps)
            .validate(&module)
            .map_err(|e| e.emit_to_string(source))?;
        Ok(module)
    }

    /// Every variant of every kernel the host can build.
    fn variants() -> Vec<(Kernel, Option<AssignVariant>)> {
        let mut all = Vec::new();
        for kernel in Kernel::ALL {
            if matches!(kernel, Kernel::KmeansAssign | Kernel::CentroidNorms) {
                for dim in [1, 3, 9, 24, 45, 64] {
                    for f16 in [false, true] {
                        all.push((kernel, Some(AssignVariant::for_dim(dim, f16))));
                    }
                }
            } else {
                all.push((kernel, None));
            }
        }
        all
    }

    fn uses_f16(kernel: Kernel, variant: Option<AssignVariant>) -> bool {
        kernel == Kernel::ToF16 || variant.is_some_and(|s| s.f16)
    }

    #[test]
    fn every_kernel_validates_with_and_without_optional_features() {
        for (kernel, variant) in variants() {
            let text = source(kernel, variant);
            let needs_f16 = uses_f16(kernel, variant);
            let mut base = if needs_f16 {
                Capabilities::SHADER_FLOAT16
            } else {
                Capabilities::empty()
            };
            if kernel.uses_subgroups() {
                base |= Capabilities::SUBGROUP;
                // A device without subgroups must reject them, so the host may only build
                // these variants where the feature was granted.
                assert!(
                    validate(&text, Capabilities::empty()).is_err(),
                    "{} validated without subgroups",
                    kernel.name()
                );
            }
            for extra in [
                Capabilities::empty(),
                Capabilities::SUBGROUP | Capabilities::SUBGROUP_BARRIER,
            ] {
                if let Err(e) = validate(&text, base | extra) {
                    panic!("{} {variant:?} with {:?}: {e}", kernel.name(), base | extra);
                }
            }
            // f16 kernels must be rejected by a device without SHADER_F16, so the host may
            // only build them where the feature was granted.
            if needs_f16 {
                assert!(
                    validate(&text, Capabilities::empty()).is_err(),
                    "{} {variant:?} validated without f16",
                    kernel.name()
                );
            }
        }
    }

    #[test]
    fn workgroup_sizes_and_params_match_the_host() {
        for (kernel, variant) in variants() {
            let text = source(kernel, variant);
            let mut caps = if uses_f16(kernel, variant) {
                Capabilities::SHADER_FLOAT16
            } else {
                Capabilities::empty()
            };
            if kernel.uses_subgroups() {
                caps |= Capabilities::SUBGROUP;
            }
            let module = validate(&text, caps).expect("validated above");
            assert_eq!(module.entry_points.len(), 1, "{}", kernel.name());
            let entry = &module.entry_points[0];
            assert_eq!(entry.name, "main");
            assert_eq!(
                entry.workgroup_size,
                kernel.workgroup_size(),
                "{}",
                kernel.name()
            );
            let params = module
                .types
                .iter()
                .find(|(_, ty)| ty.name.as_deref() == Some("Params"))
                .map(|(_, ty)| ty.inner.clone())
                .expect("Params declared in common.wgsl");
            match params {
                naga::TypeInner::Struct { span, .. } => {
                    assert_eq!(span as usize, std::mem::size_of::<Params>())
                }
                other => panic!("Params is not a struct: {other:?}"),
            }
            if kernel.is_plas() {
                let plas = module
                    .types
                    .iter()
                    .find(|(_, ty)| ty.name.as_deref() == Some("PlasParams"))
                    .map(|(_, ty)| ty.inner.clone());
                match plas {
                    Some(naga::TypeInner::Struct { span, .. }) => assert_eq!(
                        span as usize,
                        std::mem::size_of::<super::super::plas::PlasParams>()
                    ),
                    other => panic!("{}: PlasParams is not a struct: {other:?}", kernel.name()),
                }
            }
            if kernel.is_decimate() {
                let decimate = module
                    .types
                    .iter()
                    .find(|(_, ty)| ty.name.as_deref() == Some("DecimateParams"))
                    .map(|(_, ty)| ty.inner.clone());
                match decimate {
                    Some(naga::TypeInner::Struct { span, .. }) => assert_eq!(
                        span as usize,
                        std::mem::size_of::<super::super::decimate::DecimateParams>()
                    ),
                    other => panic!(
                        "{}: DecimateParams is not a struct: {other:?}",
                        kernel.name()
                    ),
                }
            }
        }
    }

    /// A struct is declared in one WGSL file only: families share theirs through their
    /// prelude (`common.wgsl`, `plas_common.wgsl`, `decimate_common.wgsl`,
    /// `render_common.wgsl`), so host and shader agree on one layout.
    #[test]
    fn no_struct_is_declared_twice() {
        let preludes = [
            ("common.wgsl", COMMON),
            ("plas_common.wgsl", PLAS_COMMON),
            ("decimate_common.wgsl", DECIMATE_COMMON),
            ("render_common.wgsl", RENDER_COMMON),
        ]
        .map(|(file, text)| (file.to_string(), text));
        let bodies = Kernel::ALL.map(|k| (format!("{}.wgsl", k.name()), k.body()));
        let mut seen = std::collections::HashMap::new();
        for (file, text) in preludes.into_iter().chain(bodies) {
            for line in text.lines() {
                let Some(rest) = line.trim_start().strip_prefix("struct ") else {
                    continue;
                };
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if let Some(first) = seen.insert(name.clone(), file.clone()) {
                    panic!("struct {name} is declared in {first} and in {file}");
                }
            }
        }
        assert!(seen.contains_key("Params") && seen.contains_key("Bin"));
    }

    #[test]
    fn assign_dispatches_stay_within_the_loop_budget() {
        for dim in 1..=256 {
            for f16 in [false, true] {
                let variant = AssignVariant::for_dim(dim, f16);
                let per = variant.centroids_per_dispatch();
                assert!(
                    per >= variant.tile && per.is_multiple_of(variant.tile),
                    "dim {dim}"
                );
                // A single tile may exceed the budget only for very long rows; it must
                // still stay under llvmpipe's hard limit of 65,535.
                assert!(variant.loop_iterations(per) < 65_535, "dim {dim} f16 {f16}");
                if per > variant.tile {
                    assert!(variant.loop_iterations(per) <= u64::from(ASSIGN_LOOP_BUDGET));
                }
                assert!(
                    variant.loop_iterations(per + variant.tile) > u64::from(ASSIGN_LOOP_BUDGET),
                    "dim {dim}: {per} centroids per dispatch is not the largest"
                );
            }
        }
        // k = 65,536 of 45 values needs more than one dispatch, so the carried minimum is
        // exercised by the large-k conformance test.
        assert!(AssignVariant::for_dim(45, false).centroids_per_dispatch() < 65_536);
    }

    #[test]
    fn assign_tile_fits_workgroup_memory() {
        for dim in 1..=256 {
            for f16 in [false, true] {
                let variant = AssignVariant::for_dim(dim, f16);
                assert!(variant.dims_per_chunk <= ASSIGN_MAX_CHUNK && variant.dims_per_chunk >= 1);
                let chunks = dim.div_ceil(variant.dims_per_chunk);
                assert!(chunks * variant.dims_per_chunk >= dim);
                assert!(
                    (chunks - 1) * variant.dims_per_chunk < dim,
                    "dim {dim}: empty chunk"
                );
                let bytes = variant.workgroup_bytes();
                assert!(bytes <= 16 * 1024, "dim {dim} f16 {f16}: {bytes} B of tile");
            }
        }
    }
}
