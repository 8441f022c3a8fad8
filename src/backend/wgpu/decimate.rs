//! Decimation kernels: `decimate_prepare.wgsl` (one invocation per splat),
//! `decimate_candidates.wgsl` (one per splat, scanning the next `window` splats) and
//! `decimate_merge.wgsl` (one per group, in phases: see the file). They compute what
//! [`crate::backend::cpu::decimate`] computes, in its f32 operation order.
//!
//! Columns larger than one storage binding (n·dim colours of millions of splats) are bound one
//! window of rows at a time. Windows start at multiples of 64 rows, so every binding offset is
//! a multiple of 256 bytes, and end at chunk boundaries of chunked buffers ([`GpuBuffer`])
//! where they can; a window that must straddle a chunk boundary (the candidates' look-ahead,
//! colour rows that do not divide a chunk) goes through a scratch copy. The merge reads its
//! members anywhere, so it visits every source window in turn and carries per-group
//! accumulators between dispatches; its member list must fit one binding. Loops are split
//! across dispatches to stay within llvmpipe's per-invocation loop limit.

use wgpu::util::DeviceExt;

use super::shaders::{ASSIGN_LOOP_BUDGET, Kernel, WORKGROUP};
use super::{GpuBuffer, WgpuBackend, backend_error, bind, bind_range, to_u32};
use crate::Result;
use crate::backend::decimate::{CANDIDATES, Decimate, Merged, PREPARED, Splats};

/// Per-dispatch scalars of a decimation kernel, mirrored by `struct DecimateParams` in
/// `wgsl/decimate_common.wgsl` (field meanings are documented there). A unit test checks
/// both sizes agree.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct DecimateParams {
    pub n: u32,
    pub dim: u32,
    pub first_row: u32,
    pub rows: u32,
    pub src_first: u32,
    pub src_rows: u32,
    pub j_begin: u32,
    pub j_end: u32,
    pub first_pass: u32,
    pub members_len: u32,
    pub member_base: u32,
    pub member_count: u32,
    pub phase: u32,
    pub field: u32,
    pub pad0: u32,
    pub pad1: u32,
}

const _: () = assert!(std::mem::size_of::<DecimateParams>() == 64);

/// Windows start at multiples of this many rows (a multiple of 64 rows of 4-byte values is
/// a multiple of 256 bytes, the largest storage offset alignment WebGPU allows).
const ROW_GRANULE: usize = 64;

/// Values per group accumulator of `decimate_merge.wgsl` (its `ACC`).
const ACC: usize = 20;

/// Phases of `decimate_merge.wgsl`.
const PHASE_SIZES: u32 = 0;
const PHASE_MASS: u32 = 1;
const PHASE_COVARIANCE: u32 = 3;
const PHASE_FINISH: u32 = 4;
const PHASE_WRITE: u32 = 5;

/// Loop iterations one invocation may run per dispatch (as for `kmeans_assign`: half of
/// llvmpipe's 65,535, past which loops end early without an error).
const LOOP_BUDGET: usize = ASSIGN_LOOP_BUDGET as usize;

/// Partner offsets one candidates dispatch scans for rows of `dim` colour values: each costs
/// the colour loop and at most three insertion steps.
fn offsets_per_dispatch(dim: usize) -> usize {
    (LOOP_BUDGET / (dim + 6)).max(1)
}

/// Members of each group one merge dispatch visits: each costs the colour loop.
fn members_per_dispatch(dim: usize) -> usize {
    (LOOP_BUDGET / (dim + 2)).max(1)
}

/// One row-major column of a call, as the window planner sees it: `width` values per row,
/// and `lookahead` rows past the owned window that a dispatch also reads.
#[derive(Clone, Copy)]
struct Column {
    chunk_len: usize,
    rows: usize,
    width: usize,
    lookahead: usize,
}

impl Column {
    fn of<T>(buf: &GpuBuffer<T>, width: usize, lookahead: usize) -> Self {
        Column {
            chunk_len: buf.chunk_len,
            rows: buf.len() / width,
            width,
            lookahead,
        }
    }

    /// The values [first, first + count) this column binds for owned rows [a, b).
    fn span(&self, a: usize, b: usize) -> (usize, usize) {
        let end = (b + self.lookahead).min(self.rows).max(a);
        (a * self.width, (end - a) * self.width)
    }
}

/// Splits rows [0, rows) into owned windows [a, b) of at most `limit` rows that start at
/// multiples of [`ROW_GRANULE`] and, where possible, keep every column's bound rows inside
/// one chunk (a window that cannot is staged through a copy).
fn plan(rows: usize, limit: usize, columns: &[Column]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut a = 0;
    while a < rows {
        let mut b = rows.min(a + limit);
        for c in columns {
            let chunk = a * c.width / c.chunk_len;
            let chunk_end = ((chunk + 1) * c.chunk_len) / c.width;
            if (b + c.lookahead).min(c.rows) > chunk_end {
                let cut = chunk_end.saturating_sub(c.lookahead) / ROW_GRANULE * ROW_GRANULE;
                if cut > a {
                    b = b.min(cut);
                }
            }
        }
        out.push((a, b));
        a = b;
    }
    out
}

/// A column bound window by window: straight from its chunk where the window lies in one,
/// else through `scratch` (copied in before a dispatch that reads it, out after one that
/// writes it).
struct Bound<'b, T> {
    buf: &'b GpuBuffer<T>,
    scratch: Option<wgpu::Buffer>,
}

impl<'b, T> Bound<'b, T> {
    /// Prepares `buf` for the value spans `spans` (a scratch buffer sized for the largest
    /// span that no chunk holds).
    fn new(
        backend: &WgpuBackend,
        buf: &'b GpuBuffer<T>,
        spans: impl Iterator<Item = (usize, usize)>,
        label: &str,
    ) -> Self {
        let staged = spans
            .filter(|&(first, count)| backend.direct(buf, first, count).is_none())
            .map(|(_, count)| count)
            .max();
        let scratch = staged.map(|count| {
            backend.raw_buffer(
                (count * std::mem::size_of::<T>()) as u64,
                label,
                wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            )
        });
        Bound { buf, scratch }
    }

    /// The binding of values [first, first + count); a staged span is copied into the
    /// scratch first when `load`.
    fn binding(
        &self,
        backend: &WgpuBackend,
        encoder: &mut wgpu::CommandEncoder,
        (first, count): (usize, usize),
        load: bool,
    ) -> Result<wgpu::BindingResource<'_>> {
        if let Some((buffer, offset, size)) = backend.direct(self.buf, first, count) {
            return Ok(bind_range(buffer, offset, size));
        }
        let scratch = self
            .scratch
            .as_ref()
            .ok_or_else(|| backend_error("a staged window without its scratch buffer"))?;
        if load {
            backend.copy_span(encoder, self.buf, first, count, scratch, true);
        }
        Ok(bind_range(
            scratch,
            0,
            (count * std::mem::size_of::<T>()) as u64,
        ))
    }

    /// Copies a staged span written by the last dispatch back into its chunks.
    fn store(
        &self,
        backend: &WgpuBackend,
        encoder: &mut wgpu::CommandEncoder,
        (first, count): (usize, usize),
    ) {
        if backend.direct(self.buf, first, count).is_none()
            && let Some(scratch) = &self.scratch
        {
            backend.copy_span(encoder, self.buf, first, count, scratch, false);
        }
    }
}

impl WgpuBackend {
    /// Values [first, first + count) of `buf` as (chunk, byte offset, bytes) when one chunk
    /// holds them at a bindable offset; an empty span binds the first 4 bytes.
    fn direct<'b, T>(
        &self,
        buf: &'b GpuBuffer<T>,
        first: usize,
        count: usize,
    ) -> Option<(&'b wgpu::Buffer, u64, u64)> {
        let size = std::mem::size_of::<T>();
        if count == 0 {
            return Some((&buf.chunks[0], 0, 4));
        }
        let chunk = first / buf.chunk_len;
        let offset = ((first - chunk * buf.chunk_len) * size) as u64;
        let bytes = (count * size) as u64;
        let align = u64::from(self.ctx.limits.min_storage_buffer_offset_alignment).max(4);
        if first + count > (chunk + 1) * buf.chunk_len
            || !offset.is_multiple_of(align)
            || bytes > self.max_binding()
        {
            return None;
        }
        Some((&buf.chunks[chunk], offset, bytes))
    }

    /// Records copies of values [first, first + count) of `buf` into `scratch` (from its
    /// chunks when `into_scratch`, else back).
    fn copy_span<T>(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buf: &GpuBuffer<T>,
        first: usize,
        count: usize,
        scratch: &wgpu::Buffer,
        into_scratch: bool,
    ) {
        let size = std::mem::size_of::<T>();
        let mut v = first;
        while v < first + count {
            let chunk = v / buf.chunk_len;
            let end = ((chunk + 1) * buf.chunk_len).min(first + count);
            let in_chunk = ((v - chunk * buf.chunk_len) * size) as u64;
            let in_scratch = ((v - first) * size) as u64;
            let bytes = ((end - v) * size) as u64;
            if into_scratch {
                encoder.copy_buffer_to_buffer(
                    &buf.chunks[chunk],
                    in_chunk,
                    scratch,
                    in_scratch,
                    bytes,
                );
            } else {
                encoder.copy_buffer_to_buffer(
                    scratch,
                    in_scratch,
                    &buf.chunks[chunk],
                    in_chunk,
                    bytes,
                );
            }
            v = end;
        }
    }

    /// Most owned rows per window: every column's bound rows within the preferred window
    /// size (`WgpuOptions::max_window_bytes`, else the binding limit), at least one granule;
    /// an error when a granule and its look-ahead exceed the binding limit. `extra` is the
    /// width of an unchunked scratch column of the owned rows.
    fn window_rows(&self, kernel: &str, columns: &[Column], extra: usize) -> Result<usize> {
        let widths = columns
            .iter()
            .map(|c| (c.width, c.lookahead))
            .chain((extra > 0).then_some((extra, 0)));
        let preferred = self
            .options
            .max_window_bytes
            .map_or(self.max_binding(), |b| b.min(self.max_binding()));
        let mut limit = usize::MAX;
        for (width, lookahead) in widths {
            let row_bytes = (width * 4) as u64;
            let fit = (preferred / row_bytes) as usize;
            limit = limit.min(fit.saturating_sub(lookahead) / ROW_GRANULE * ROW_GRANULE);
            if (ROW_GRANULE + lookahead) as u64 * row_bytes > self.max_binding() {
                return Err(backend_error(format!(
                    "{kernel}: {} rows of {width} values exceed a storage binding of {} bytes",
                    ROW_GRANULE + lookahead,
                    self.max_binding()
                )));
            }
        }
        Ok(limit.max(ROW_GRANULE))
    }

    /// A uniform buffer holding `params`.
    fn decimate_uniform(&self, params: &DecimateParams) -> wgpu::Buffer {
        self.ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("decimate params"),
                contents: bytemuck::bytes_of(params),
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    /// One dispatch of `kernel` over `items` invocations.
    fn decimate_dispatch(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        kernel: Kernel,
        params: &DecimateParams,
        bindings: &[wgpu::BindingResource<'_>],
        items: usize,
    ) -> Result<()> {
        let uniform = self.decimate_uniform(params);
        let groups = to_u32(items.div_ceil(WORKGROUP as usize), "workgroups")?;
        self.dispatch_uniform(encoder, kernel, None, &uniform, bindings, groups)
    }

    /// The largest clamped member count of the groups (`decimate_merge` phase 0 over the
    /// group windows), read back from the device.
    fn largest_group(
        &self,
        base: &DecimateParams,
        windows: &[(usize, usize)],
        offsets: &Bound<'_, u32>,
        members: &wgpu::Buffer,
        acc: &wgpu::Buffer,
    ) -> Result<u32> {
        let counter = self.raw_buffer(
            16,
            "decimate largest group",
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        );
        let unused = self.raw_buffer(16, "decimate unused", wgpu::BufferUsages::STORAGE);
        let staging = self.raw_buffer(
            16,
            "decimate largest group read-back",
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let mut encoder = self.encoder("decimate_merge sizes");
        for &(a, b) in windows {
            let params = DecimateParams {
                first_row: to_u32(a, "group")?,
                rows: to_u32(b - a, "groups")?,
                phase: PHASE_SIZES,
                ..*base
            };
            // Phase 0 reads only the offsets; the splat bindings get the member list.
            let bindings = [
                offsets.binding(self, &mut encoder, (a, b - a + 1), true)?,
                bind(members),
                bind(members),
                bind(members),
                bind(members),
                bind(acc),
                bind(&unused),
                bind(&counter),
            ];
            self.decimate_dispatch(
                &mut encoder,
                Kernel::DecimateMerge,
                &params,
                &bindings,
                b - a,
            )?;
        }
        encoder.copy_buffer_to_buffer(&counter, 0, &staging, 0, 16);
        self.ctx.queue.submit([encoder.finish()]);
        let (sender, receiver) = std::sync::mpsc::channel();
        staging
            .slice(0..16)
            .map_async(wgpu::MapMode::Read, move |r| {
                let _ = sender.send(r);
            });
        self.wait()?;
        receiver
            .recv()
            .map_err(|_| backend_error("the group size read-back was dropped"))?
            .map_err(|e| backend_error(format!("mapping the group size read-back failed: {e}")))?;
        let view = staging
            .slice(0..16)
            .get_mapped_range()
            .map_err(|e| backend_error(format!("reading the group size read-back failed: {e}")))?;
        let largest = bytemuck::cast_slice::<u8, u32>(&view)[0];
        drop(view);
        staging.unmap();
        Ok(largest)
    }
}

impl Decimate for WgpuBackend {
    /// `decimate_prepare.wgsl` over windows of rows.
    fn run_decimate_prepare(
        &self,
        n: usize,
        rotations: &GpuBuffer<f32>,
        log_scales: &GpuBuffer<f32>,
        opacities: &GpuBuffer<f32>,
        prepared: &mut GpuBuffer<f32>,
    ) -> Result<()> {
        self.scoped("decimate_prepare", || {
            if n == 0 {
                return Ok(());
            }
            let columns = [
                Column::of(rotations, 4, 0),
                Column::of(log_scales, 3, 0),
                Column::of(opacities, 1, 0),
                Column::of(prepared, PREPARED, 0),
            ];
            let limit = self.window_rows("decimate_prepare", &columns, 0)?;
            let windows = plan(n, limit, &columns);
            let spans = |c: Column| windows.iter().map(move |&(a, b)| c.span(a, b));
            let inputs = [
                Bound::new(self, rotations, spans(columns[0]), "decimate rotations"),
                Bound::new(self, log_scales, spans(columns[1]), "decimate log scales"),
                Bound::new(self, opacities, spans(columns[2]), "decimate opacities"),
            ];
            let output = Bound::new(self, prepared, spans(columns[3]), "decimate prepared");
            let mut encoder = self.encoder("decimate_prepare");
            for &(a, b) in &windows {
                let params = DecimateParams {
                    n: to_u32(n, "n")?,
                    first_row: to_u32(a, "row")?,
                    rows: to_u32(b - a, "rows")?,
                    ..DecimateParams::default()
                };
                let mut bindings = Vec::with_capacity(4);
                for (input, column) in inputs.iter().zip(columns) {
                    bindings.push(input.binding(self, &mut encoder, column.span(a, b), true)?);
                }
                let out_span = columns[3].span(a, b);
                bindings.push(output.binding(self, &mut encoder, out_span, false)?);
                self.decimate_dispatch(
                    &mut encoder,
                    Kernel::DecimatePrepare,
                    &params,
                    &bindings,
                    b - a,
                )?;
                drop(bindings);
                output.store(self, &mut encoder, out_span);
            }
            self.ctx.queue.submit([encoder.finish()]);
            Ok(())
        })
    }

    /// `decimate_candidates.wgsl` over windows of owned rows (each bound with the `window`
    /// rows after it), the window of partners split across dispatches by the loop budget.
    fn run_decimate_candidates(
        &self,
        n: usize,
        splats: &Splats<'_, Self>,
        window: usize,
        costs: &mut GpuBuffer<f32>,
        partners: &mut GpuBuffer<u32>,
    ) -> Result<()> {
        self.scoped("decimate_candidates", || {
            if n == 0 {
                return Ok(());
            }
            let dim = splats.dim;
            let columns = [
                Column::of(splats.positions, 3, window),
                Column::of(splats.prepared, PREPARED, window),
                Column::of(splats.colors, dim, window),
            ];
            let outputs = [
                Column::of(costs, CANDIDATES, 0),
                Column::of(partners, CANDIDATES, 0),
            ];
            let all = [columns[0], columns[1], columns[2], outputs[0], outputs[1]];
            let limit = self.window_rows("decimate_candidates", &all, 0)?;
            let windows = plan(n, limit, &all);
            let spans = |c: Column| windows.iter().map(move |&(a, b)| c.span(a, b));
            let inputs = [
                Bound::new(
                    self,
                    splats.positions,
                    spans(columns[0]),
                    "decimate positions",
                ),
                Bound::new(
                    self,
                    splats.prepared,
                    spans(columns[1]),
                    "decimate prepared",
                ),
                Bound::new(self, splats.colors, spans(columns[2]), "decimate colours"),
            ];
            let cost_out = Bound::new(self, costs, spans(outputs[0]), "decimate costs");
            let partner_out = Bound::new(self, partners, spans(outputs[1]), "decimate partners");
            let step = offsets_per_dispatch(dim);
            let mut encoder = self.encoder("decimate_candidates");
            for &(a, b) in &windows {
                let src_end = (b + window).min(n);
                let mut j_begin = 0;
                while j_begin < window {
                    let j_end = (j_begin + step).min(window);
                    let params = DecimateParams {
                        n: to_u32(n, "n")?,
                        dim: to_u32(dim, "dim")?,
                        first_row: to_u32(a, "row")?,
                        rows: to_u32(b - a, "rows")?,
                        src_first: to_u32(a, "row")?,
                        src_rows: to_u32(src_end - a, "rows")?,
                        j_begin: to_u32(j_begin, "window")?,
                        j_end: to_u32(j_end, "window")?,
                        first_pass: u32::from(j_begin == 0),
                        ..DecimateParams::default()
                    };
                    let load = j_begin == 0;
                    let mut bindings = Vec::with_capacity(5);
                    for (input, column) in inputs.iter().zip(columns) {
                        bindings.push(input.binding(
                            self,
                            &mut encoder,
                            column.span(a, b),
                            load,
                        )?);
                    }
                    bindings.push(cost_out.binding(
                        self,
                        &mut encoder,
                        outputs[0].span(a, b),
                        false,
                    )?);
                    bindings.push(partner_out.binding(
                        self,
                        &mut encoder,
                        outputs[1].span(a, b),
                        false,
                    )?);
                    self.decimate_dispatch(
                        &mut encoder,
                        Kernel::DecimateCandidates,
                        &params,
                        &bindings,
                        b - a,
                    )?;
                    j_begin = j_end;
                }
                cost_out.store(self, &mut encoder, outputs[0].span(a, b));
                partner_out.store(self, &mut encoder, outputs[1].span(a, b));
            }
            self.ctx.queue.submit([encoder.finish()]);
            Ok(())
        })
    }

    /// `decimate_merge.wgsl`: per window of groups, phases 1–3 over every member slice and
    /// source window, then the finish and one write per output column.
    fn run_decimate_merge(
        &self,
        n: usize,
        g: usize,
        splats: &Splats<'_, Self>,
        offsets: &GpuBuffer<u32>,
        members: &GpuBuffer<u32>,
        merged: &mut Merged<'_, Self>,
    ) -> Result<()> {
        self.scoped("decimate_merge", || {
            if g == 0 {
                return Ok(());
            }
            let dim = splats.dim;
            let member_buf = self.whole(members, "decimate_merge: the member list")?;
            // Where the merged splats go, and the offsets (g + 1: one row of look-ahead).
            let fields = [
                Column::of(merged.positions, 3, 0),
                Column::of(merged.rotations, 4, 0),
                Column::of(merged.log_scales, 3, 0),
                Column::of(merged.opacities, 1, 0),
            ];
            let colour_column = Column::of(merged.colors, dim, 0);
            let offset_column = Column::of(offsets, 1, 1);
            let group_columns = [
                fields[0],
                fields[1],
                fields[2],
                fields[3],
                colour_column,
                offset_column,
            ];
            let group_limit = self.window_rows("decimate_merge", &group_columns, ACC)?;
            let group_windows = plan(g, group_limit, &group_columns);
            // The splats the members index, window by window (one empty window when n = 0,
            // so that the first pass still starts the accumulators).
            let sources = [
                Column::of(splats.positions, 3, 0),
                Column::of(splats.prepared, PREPARED, 0),
                Column::of(splats.colors, dim, 0),
            ];
            let source_limit = self.window_rows("decimate_merge", &sources, 0)?;
            let mut source_windows = plan(n, source_limit, &sources);
            if source_windows.is_empty() {
                source_windows.push((0, 0));
            }
            let group_spans = |c: Column| group_windows.iter().map(move |&(a, b)| c.span(a, b));
            let source_spans = |c: Column| source_windows.iter().map(move |&(a, b)| c.span(a, b));
            let source_bound = [
                Bound::new(
                    self,
                    splats.positions,
                    source_spans(sources[0]),
                    "decimate positions",
                ),
                Bound::new(
                    self,
                    splats.prepared,
                    source_spans(sources[1]),
                    "decimate prepared",
                ),
                Bound::new(
                    self,
                    splats.colors,
                    source_spans(sources[2]),
                    "decimate colours",
                ),
            ];
            let offsets_bound = Bound::new(
                self,
                offsets,
                group_spans(offset_column),
                "decimate offsets",
            );
            let colour_out = Bound::new(
                self,
                &*merged.colors,
                group_spans(colour_column),
                "merged colours",
            );
            let field_out = [
                Bound::new(
                    self,
                    &*merged.positions,
                    group_spans(fields[0]),
                    "merged positions",
                ),
                Bound::new(
                    self,
                    &*merged.rotations,
                    group_spans(fields[1]),
                    "merged rotations",
                ),
                Bound::new(
                    self,
                    &*merged.log_scales,
                    group_spans(fields[2]),
                    "merged log scales",
                ),
                Bound::new(
                    self,
                    &*merged.opacities,
                    group_spans(fields[3]),
                    "merged opacities",
                ),
            ];
            let largest_window = group_windows.iter().map(|&(a, b)| b - a).max().unwrap_or(1);
            let acc = self.raw_buffer(
                (largest_window * ACC * 4) as u64,
                "decimate accumulators",
                wgpu::BufferUsages::STORAGE,
            );
            let dummy = self.raw_buffer(16, "decimate unused", wgpu::BufferUsages::STORAGE);
            let dummy_sizes =
                self.raw_buffer(16, "decimate unused sizes", wgpu::BufferUsages::STORAGE);
            let base = DecimateParams {
                n: to_u32(n, "n")?,
                dim: to_u32(dim, "dim")?,
                members_len: to_u32(members.len(), "members")?,
                ..DecimateParams::default()
            };
            // Member slices: a group of more members than one dispatch may visit is
            // handled over several (the largest group is read back only when it could be).
            let per_dispatch = members_per_dispatch(dim);
            let slices = if members.len() <= per_dispatch {
                1
            } else {
                let largest =
                    self.largest_group(&base, &group_windows, &offsets_bound, member_buf, &acc)?;
                (largest as usize).div_ceil(per_dispatch).max(1)
            };
            let mut encoder = self.encoder("decimate_merge");
            for &(a, b) in &group_windows {
                let rows = to_u32(b - a, "groups")?;
                let offset_span = offset_column.span(a, b);
                let colour_span = colour_column.span(a, b);
                for phase in PHASE_MASS..=PHASE_COVARIANCE {
                    for slice in 0..slices {
                        for (w, &(sa, sb)) in source_windows.iter().enumerate() {
                            let params = DecimateParams {
                                first_row: to_u32(a, "group")?,
                                rows,
                                src_first: to_u32(sa, "row")?,
                                src_rows: to_u32(sb - sa, "rows")?,
                                first_pass: u32::from(phase == PHASE_MASS && slice == 0 && w == 0),
                                member_base: to_u32(slice * per_dispatch, "members")?,
                                member_count: to_u32(per_dispatch, "members")?,
                                phase,
                                ..base
                            };
                            let mut bindings = Vec::with_capacity(8);
                            bindings.push(offsets_bound.binding(
                                self,
                                &mut encoder,
                                offset_span,
                                true,
                            )?);
                            bindings.push(bind(member_buf));
                            for (source, column) in source_bound.iter().zip(sources) {
                                bindings.push(source.binding(
                                    self,
                                    &mut encoder,
                                    column.span(sa, sb),
                                    true,
                                )?);
                            }
                            bindings.push(bind(&acc));
                            bindings.push(colour_out.binding(
                                self,
                                &mut encoder,
                                colour_span,
                                false,
                            )?);
                            bindings.push(bind(&dummy_sizes));
                            self.decimate_dispatch(
                                &mut encoder,
                                Kernel::DecimateMerge,
                                &params,
                                &bindings,
                                b - a,
                            )?;
                        }
                    }
                }
                colour_out.store(self, &mut encoder, colour_span);
                // Finish, then write each output column (phase 5 binds it as `out`).
                let (sa, sb) = source_windows[0];
                for (phase, field) in [
                    (PHASE_FINISH, 0),
                    (PHASE_WRITE, 0),
                    (PHASE_WRITE, 1),
                    (PHASE_WRITE, 2),
                    (PHASE_WRITE, 3),
                ] {
                    let params = DecimateParams {
                        first_row: to_u32(a, "group")?,
                        rows,
                        phase,
                        field,
                        ..base
                    };
                    let out_span = fields[field as usize].span(a, b);
                    let mut bindings = Vec::with_capacity(8);
                    bindings.push(offsets_bound.binding(self, &mut encoder, offset_span, false)?);
                    bindings.push(bind(member_buf));
                    for (source, column) in source_bound.iter().zip(sources) {
                        bindings.push(source.binding(
                            self,
                            &mut encoder,
                            column.span(sa, sb),
                            false,
                        )?);
                    }
                    bindings.push(bind(&acc));
                    if phase == PHASE_FINISH {
                        bindings.push(bind(&dummy));
                    } else {
                        bindings.push(field_out[field as usize].binding(
                            self,
                            &mut encoder,
                            out_span,
                            false,
                        )?);
                    }
                    bindings.push(bind(&dummy_sizes));
                    self.decimate_dispatch(
                        &mut encoder,
                        Kernel::DecimateMerge,
                        &params,
                        &bindings,
                        b - a,
                    )?;
                    drop(bindings);
                    if phase == PHASE_WRITE {
                        field_out[field as usize].store(self, &mut encoder, out_span);
                    }
                }
            }
            self.ctx.queue.submit([encoder.finish()]);
            Ok(())
        })
    }
}
