//! Device buffers: a typed list of `wgpu::Buffer` chunks (a buffer larger than the adapter's
//! `max_buffer_size` is split), upload, download and the row windows kernels bind.

use std::marker::PhantomData;

use super::{WgpuBackend, backend_error};
use crate::Result;
use crate::backend::Elem;

/// Chunk lengths (in elements) are multiples of this, so a chunk holds whole rows of every
/// dimension dividing 2880 (1–6, 8, 9, 10, 12, 15, 16, 18, 20, 24, 30, 32, 36, 40, 45, 48…),
/// in groups of 64 rows (binding offsets stay 256-byte aligned).
pub(crate) const CHUNK_GRANULE: u64 = 64 * 2880;

/// A device buffer of `len` values of `T`, stored in chunks of `chunk_len` values (the last
/// may be shorter). Almost always one chunk; see `CHUNK_GRANULE`.
#[derive(Debug)]
pub struct GpuBuffer<T> {
    pub(crate) chunks: Vec<wgpu::Buffer>,
    pub(crate) len: usize,
    pub(crate) chunk_len: usize,
    _elem: PhantomData<T>,
}

impl<T> GpuBuffer<T> {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the buffer holds no values.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of device buffers backing this one.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Values in chunk `i`.
    fn chunk_values(&self, i: usize) -> usize {
        (self.len - i * self.chunk_len).min(self.chunk_len)
    }
}

/// A range of rows of a point matrix that one dispatch binds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub chunk: usize,
    pub byte_offset: u64,
    pub byte_size: u64,
    pub first_row: u32,
    pub rows: u32,
}

impl WgpuBackend {
    /// Values per chunk for element type `T`.
    fn chunk_len<T>(&self) -> usize {
        let size = std::mem::size_of::<T>() as u64;
        let max_bytes = self
            .options
            .max_buffer_bytes
            .unwrap_or(self.ctx.limits.max_buffer_size)
            .min(self.ctx.limits.max_buffer_size);
        let granules = (max_bytes / size / CHUNK_GRANULE).max(1);
        usize::try_from(granules * CHUNK_GRANULE).unwrap_or(usize::MAX)
    }

    /// Largest storage binding in bytes.
    pub(crate) fn max_binding(&self) -> u64 {
        self.ctx.limits.max_storage_buffer_binding_size
    }

    /// Largest point window in bytes (an option may lower it, to test windowing).
    fn max_window(&self) -> u64 {
        let limit = self.max_binding();
        self.options
            .max_window_bytes
            .map_or(limit, |b| b.min(limit))
    }

    /// New uninitialised-by-us (wgpu zero-fills) chunked buffer of `len` values.
    pub(crate) fn allocate<T: Elem>(&self, len: usize, label: &str) -> Result<GpuBuffer<T>> {
        let chunk_len = self.chunk_len::<T>();
        let count = len.div_ceil(chunk_len).max(1);
        let mut chunks = Vec::with_capacity(count);
        for i in 0..count {
            let values = (len.saturating_sub(i * chunk_len)).min(chunk_len);
            chunks.push(self.raw_buffer(
                (values * std::mem::size_of::<T>()) as u64,
                label,
                wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            ));
        }
        Ok(GpuBuffer {
            chunks,
            len,
            chunk_len,
            _elem: PhantomData,
        })
    }

    /// A plain buffer of at least `bytes` (rounded up to 16; never zero-sized).
    pub(crate) fn raw_buffer(
        &self,
        bytes: u64,
        label: &str,
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(16).next_multiple_of(16),
            usage,
            mapped_at_creation: false,
        })
    }

    /// Copies `data` into `buf` (same length).
    pub(crate) fn write_chunks<T: Elem>(&self, buf: &GpuBuffer<T>, data: &[T]) -> Result<()> {
        if data.len() != buf.len {
            return Err(backend_error(format!(
                "write of {} values into a buffer of {}",
                data.len(),
                buf.len
            )));
        }
        self.write_chunks_at(buf, 0, data)
    }

    /// Writes `data` over values `offset..offset + data.len()` of `buf`, split at its chunks,
    /// then submits, so the queue's staging copy of `data` is released with the submission.
    pub(crate) fn write_chunks_at<T: Elem>(
        &self,
        buf: &GpuBuffer<T>,
        offset: usize,
        data: &[T],
    ) -> Result<()> {
        let end = offset + data.len();
        if end > buf.len {
            return Err(backend_error(format!(
                "write of {} values at {offset} into a buffer of {}",
                data.len(),
                buf.len
            )));
        }
        let size = std::mem::size_of::<T>();
        for (i, chunk) in buf.chunks.iter().enumerate() {
            let (first, last) = (i * buf.chunk_len, i * buf.chunk_len + buf.chunk_values(i));
            let (from, to) = (offset.max(first), end.min(last));
            if from < to {
                self.ctx.queue.write_buffer(
                    chunk,
                    ((from - first) * size) as u64,
                    bytemuck::cast_slice(&data[from - offset..to - offset]),
                );
            }
        }
        self.ctx.queue.submit([]);
        Ok(())
    }

    /// Copies `buf` back to the host through one mappable staging buffer per chunk.
    pub(crate) fn read_chunks<T: Elem>(&self, buf: &GpuBuffer<T>) -> Result<Vec<T>> {
        let mut out = vec![T::zeroed(); buf.len];
        if buf.len == 0 {
            return Ok(out);
        }
        let size = std::mem::size_of::<T>();
        let mut encoder = self.encoder("download");
        let mut staging = Vec::with_capacity(buf.chunks.len());
        for (i, chunk) in buf.chunks.iter().enumerate() {
            let bytes = (buf.chunk_values(i) * size) as u64;
            let target = self.raw_buffer(
                bytes,
                "download staging",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            );
            encoder.copy_buffer_to_buffer(chunk, 0, &target, 0, bytes);
            staging.push((target, bytes));
        }
        self.ctx.queue.submit([encoder.finish()]);
        let (sender, receiver) = std::sync::mpsc::channel();
        for (i, (target, bytes)) in staging.iter().enumerate() {
            let sender = sender.clone();
            target
                .slice(0..*bytes)
                .map_async(wgpu::MapMode::Read, move |r| {
                    let _ = sender.send((i, r));
                });
        }
        drop(sender);
        self.wait()?;
        for (i, result) in receiver.iter() {
            result.map_err(|e| backend_error(format!("mapping a download buffer failed: {e}")))?;
            let (target, bytes) = &staging[i];
            let view = target
                .slice(0..*bytes)
                .get_mapped_range()
                .map_err(|e| backend_error(format!("reading a download buffer failed: {e}")))?;
            let start = i * buf.chunk_len;
            let dest: &mut [T] = &mut out[start..start + buf.chunk_values(i)];
            bytemuck::cast_slice_mut::<T, u8>(dest).copy_from_slice(&view);
            drop(view);
            target.unmap();
        }
        Ok(out)
    }

    /// The one device buffer behind `buf`, if it is bindable as a whole.
    pub(crate) fn whole<'b, T>(
        &self,
        buf: &'b GpuBuffer<T>,
        what: &str,
    ) -> Result<&'b wgpu::Buffer> {
        let bytes = (buf.len * std::mem::size_of::<T>()) as u64;
        if buf.chunks.len() != 1 || bytes > self.max_binding() {
            return Err(backend_error(format!(
                "{what} takes {bytes} bytes, more than one storage binding allows ({} bytes on {})",
                self.max_binding(),
                self.ctx.report.name
            )));
        }
        Ok(&buf.chunks[0])
    }

    /// Splits the rows of a row-major matrix of `dim` f32 values into windows that each fit
    /// one storage binding and start 256-byte aligned.
    pub(crate) fn windows(&self, points: &GpuBuffer<f32>, dim: usize) -> Result<Vec<Window>> {
        let align = u64::from(self.ctx.limits.min_storage_buffer_offset_alignment).max(4);
        let granule_rows = (align / 4) as usize;
        let row_bytes = (dim * 4) as u64;
        let fit = (self.max_window() / row_bytes) as usize;
        let window_rows = fit / granule_rows * granule_rows;
        if window_rows == 0 {
            return Err(backend_error(format!(
                "rows of {dim} values are too long for a storage binding of {} bytes",
                self.max_window()
            )));
        }
        let rows_per_chunk = points.chunk_len / dim;
        if points.chunks.len() > 1
            && (!points.chunk_len.is_multiple_of(dim)
                || !rows_per_chunk.is_multiple_of(granule_rows))
        {
            return Err(backend_error(format!(
                "a point matrix of {dim} values per row spans {} buffers; chunking supports \
                 dimensions that divide 2880",
                points.chunks.len()
            )));
        }
        let mut out = Vec::new();
        for chunk in 0..points.chunks.len() {
            let chunk_rows = points.chunk_values(chunk) / dim;
            let mut local = 0;
            while local < chunk_rows {
                let take = window_rows.min(chunk_rows - local);
                out.push(Window {
                    chunk,
                    byte_offset: local as u64 * row_bytes,
                    byte_size: take as u64 * row_bytes,
                    first_row: u32::try_from(chunk * rows_per_chunk + local)
                        .map_err(|_| backend_error("more than 2^32 rows"))?,
                    rows: take as u32,
                });
                local += take;
            }
        }
        Ok(out)
    }
}
