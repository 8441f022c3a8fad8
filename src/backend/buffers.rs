//! The buffers family: device buffers of [`Elem`] values, which every kernel family works on.
//!
//! Required: [`Buffers::name`], [`Buffers::upload`], [`Buffers::download`], [`Buffers::zeros`]
//! and [`Buffers::run_write_at`]. Provided: [`Buffers::write`] and [`Buffers::write_at`] (each
//! checks its range at the seam, then calls `run_write_at`) and [`Buffers::error`].

use crate::{Error, Result};

/// Element types that may live in a device buffer.
pub trait Elem: bytemuck::Pod + Send + Sync + 'static {}
impl Elem for f32 {}
impl Elem for u32 {}
impl Elem for u64 {}

/// What the seam needs to know of a device buffer to check a call: its length.
pub trait DeviceBuffer {
    /// Number of elements.
    fn len(&self) -> usize;

    /// True when the buffer holds no elements.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> DeviceBuffer for Vec<T> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
}

/// A compute device's buffers. Buffers stay on the device between kernel calls; drivers
/// download only what they decide on.
pub trait Buffers {
    /// A device buffer of `T`.
    type Buffer<T: Elem>: DeviceBuffer;

    /// Short name used in messages and `--backend`.
    fn name(&self) -> &'static str;

    /// Copies `data` to a new device buffer.
    fn upload<T: Elem>(&self, data: &[T]) -> Result<Self::Buffer<T>>;

    /// Copies a device buffer back to the host.
    fn download<T: Elem>(&self, buf: &Self::Buffer<T>) -> Result<Vec<T>>;

    /// A zero-filled device buffer of `len` elements.
    fn zeros<T: Elem>(&self, len: usize) -> Result<Self::Buffer<T>>;

    /// Overwrites `buf` with `data`, which must have the same length (an error naming `write`
    /// otherwise).
    fn write<T: Elem>(&self, buf: &mut Self::Buffer<T>, data: &[T]) -> Result<()> {
        if data.len() != buf.len() {
            return Err(self.error(format!(
                "write: {} values into a buffer of {}",
                data.len(),
                buf.len()
            )));
        }
        self.run_write_at(buf, 0, data)
    }

    /// Overwrites `buf[offset..offset + data.len()]` with `data` (an error naming `write_at`
    /// when the range runs past the end). A driver fills a large buffer from host gathers in
    /// pieces this way, so the whole copy never exists on the host.
    fn write_at<T: Elem>(
        &self,
        buf: &mut Self::Buffer<T>,
        offset: usize,
        data: &[T],
    ) -> Result<()> {
        if offset
            .checked_add(data.len())
            .is_none_or(|end| end > buf.len())
        {
            return Err(self.error(format!(
                "write_at: {} values at {offset} into a buffer of {}",
                data.len(),
                buf.len()
            )));
        }
        self.run_write_at(buf, offset, data)
    }

    /// [`Buffers::write_at`] (and [`Buffers::write`]) after the seam's check:
    /// `offset + data.len() <= buf.len()`.
    fn run_write_at<T: Elem>(
        &self,
        buf: &mut Self::Buffer<T>,
        offset: usize,
        data: &[T],
    ) -> Result<()>;

    /// An [`Error::Backend`] from this backend.
    fn error(&self, message: impl Into<String>) -> Error {
        Error::Backend {
            backend: self.name(),
            message: message.into(),
        }
    }
}
