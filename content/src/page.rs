//! Page loading: reads the page file and decodes it.

use std::path::{Path, PathBuf};

/// Why a page could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The file could not be read.
    #[error("cannot read page '{path}': {source}")]
    Unreadable {
        /// The page path as given.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Reads a page as text. Bytes that are not UTF-8 are replaced (with a warning), as a
/// browser decoding a mislabelled page would, rather than refusing the page.
pub fn load(path: &Path) -> Result<String, PageError> {
    let bytes =
        std::fs::read(path).map_err(|source| PageError::Unreadable { path: path.to_owned(), source })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(error) => {
            tracing::warn!("page '{}' is not valid UTF-8; decoding it lossily", path.display());
            Ok(String::from_utf8_lossy(error.as_bytes()).into_owned())
        }
    }
}
