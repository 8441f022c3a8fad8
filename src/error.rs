//! The library's one error type. Every variant says where (file, byte offset, property) and
//! what was expected, in words a user can act on.

use std::path::{Path, PathBuf};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, worded for the person running the tool.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system error while reading or writing `path`.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file's content is not what its format promises. `context` locates the problem
    /// ("header line 4", "byte offset 1234 (vertex 17, property `opacity`)", "meta.json key `means`").
    #[error("{}: {context}: {message}", path.display())]
    Parse {
        path: PathBuf,
        context: String,
        message: String,
    },
    /// The scene cannot be compressed (no splats left, too many for one texture…).
    #[error("{0}")]
    Scene(String),
    /// Writing the output failed for a reason other than I/O (encoder error, name clash…).
    #[error("{}: {message}", path.display())]
    Output { path: PathBuf, message: String },
    /// A compute backend failed or is not available.
    #[error("backend `{backend}`: {message}")]
    Backend {
        backend: &'static str,
        message: String,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// A format error at `context` in `path`.
    pub fn parse(
        path: impl AsRef<Path>,
        context: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Parse {
            path: path.as_ref().to_path_buf(),
            context: context.into(),
            message: message.into(),
        }
    }

    /// An output error on `path`.
    pub fn output(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::Output {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }
}
