//! Screenshots: PNGs written atomically. The file is created (as a hidden temporary beside
//! the target) before any process starts, so an unwritable path fails fast, and renamed into
//! place only when complete, so a failed run never leaves a truncated PNG.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use armature_api::DeviceIntSize;
use armature_api::messages::FramePixels;
use image::ImageEncoder;

use crate::error::LauncherError;

/// A screenshot being written.
pub struct PendingScreenshot {
    target: PathBuf,
    temporary: PathBuf,
    file: Option<File>,
}

impl PendingScreenshot {
    /// Checks that `target` can be written by creating its temporary file now.
    pub fn prepare(target: &Path) -> Result<PendingScreenshot, LauncherError> {
        let unwritable = |source| LauncherError::ScreenshotUnwritable { path: target.to_owned(), source };
        if target.is_dir() {
            return Err(unwritable(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "it is a directory",
            )));
        }
        let file_name = target.file_name().ok_or_else(|| {
            unwritable(std::io::Error::new(std::io::ErrorKind::InvalidInput, "it names no file"))
        })?;
        let directory =
            target.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let temporary =
            directory.join(format!(".{}.armature-{}.tmp", file_name.to_string_lossy(), std::process::id()));
        let file = File::options().write(true).create_new(true).open(&temporary).map_err(unwritable)?;
        Ok(PendingScreenshot { target: target.to_owned(), temporary, file: Some(file) })
    }

    /// Encodes the frame as PNG and moves it into place.
    pub fn commit(self, frame: &FramePixels) -> Result<(), LauncherError> {
        match &frame.rgba {
            Some(rgba) => self.commit_pixels(frame.size, rgba),
            None => Err(LauncherError::Png {
                path: self.target.clone(),
                message: "the frame was drawn into a window, so it has no pixels to save".into(),
            }),
        }
    }

    /// Encodes tightly packed RGBA8 rows as PNG and moves the file into place.
    pub fn commit_pixels(mut self, size: DeviceIntSize, rgba: &[u8]) -> Result<(), LauncherError> {
        let failed = |message: String| LauncherError::Png { path: self.target.clone(), message };
        let file = self.file.take().ok_or_else(|| failed("already written".into()))?;
        let expected = size.width as usize * size.height as usize * 4;
        if rgba.len() != expected {
            return Err(failed(format!("frame has {} bytes, expected {expected}", rgba.len())));
        }
        let mut writer = BufWriter::new(file);
        image::codecs::png::PngEncoder::new(&mut writer)
            .write_image(rgba, size.width, size.height, image::ExtendedColorType::Rgba8)
            .map_err(|error| failed(error.to_string()))?;
        let file = writer.into_inner().map_err(|error| failed(error.to_string()))?;
        file.sync_all().map_err(|error| failed(error.to_string()))?;
        std::fs::rename(&self.temporary, &self.target).map_err(|error| failed(error.to_string()))?;
        Ok(())
    }
}

impl Drop for PendingScreenshot {
    fn drop(&mut self) {
        // Not committed (or the rename failed): leave nothing behind.
        if self.temporary.exists() {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}
