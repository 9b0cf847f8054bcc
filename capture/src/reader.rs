//! Opening a capture: the manifest's version first (migrated or refused, naming both
//! versions), then each file on demand. A capture is untrusted input: every file name is
//! checked to stay inside it, every image's size is checked against what the RON says,
//! and a parse error names the file, line and column.

use std::path::{Component, Path, PathBuf};

use armature_api::{DeviceIntSize, ResourceUpdate};
use ipc_channel::ipc::IpcSharedMemory;
use serde::de::DeserializeOwned;

use crate::format::{
    FORMAT_VERSION, FrameEntry, MANIFEST, Manifest, OLDEST_FORMAT_VERSION, PIXELS_FILE, ResourceRecord,
    SCENE_FILE, STREAM_FILE, SceneFrame, StreamFrame,
};
use crate::{CaptureError, Level, Levels};

/// Largest image side a capture may hold (the GPU process's limit is lower still).
const MAX_SIDE: u32 = 16384;

/// An opened capture.
#[derive(Debug)]
pub struct Capture {
    dir: PathBuf,
    manifest: Manifest,
}

/// Just enough of a manifest to know how to read the rest.
#[derive(serde::Deserialize)]
struct VersionOnly {
    format_version: u32,
    #[serde(default)]
    armature_version: String,
}

impl Capture {
    /// Opens the capture in `dir`: reads its manifest, migrating an older format.
    pub fn open(dir: &Path) -> Result<Capture, CaptureError> {
        let path = dir.join(MANIFEST);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(match std::fs::metadata(dir) {
                    Ok(_) => CaptureError::NotACapture { dir: dir.to_owned() },
                    Err(source) => CaptureError::Io { path: dir.to_owned(), source },
                });
            }
            Err(source) => return Err(CaptureError::Io { path, source }),
        };
        let version: VersionOnly = parse(&path, &text)?;
        let written_by = version.armature_version;
        if version.format_version > FORMAT_VERSION {
            return Err(CaptureError::NewerFormat {
                path,
                found: version.format_version,
                supported: FORMAT_VERSION,
                written_by,
            });
        }
        if version.format_version < OLDEST_FORMAT_VERSION {
            return Err(CaptureError::OlderFormat {
                path,
                found: version.format_version,
                oldest: OLDEST_FORMAT_VERSION,
                supported: FORMAT_VERSION,
                written_by,
            });
        }
        let text = migrate(version.format_version, text);
        let manifest: Manifest = parse(&path, &text)?;
        for (index, frame) in manifest.frames.iter().enumerate() {
            let inconsistent = |message: String| CaptureError::Inconsistent { path: path.clone(), message };
            if frame.number.0 as usize != index + 1 {
                return Err(inconsistent(format!(
                    "frame {} is listed in position {}; frames must be numbered 1, 2, 3, … in order",
                    frame.number.0,
                    index + 1
                )));
            }
            check_size(frame.viewport)
                .map_err(|message| inconsistent(format!("frame {}: {message}", index + 1)))?;
        }
        Ok(Capture { dir: dir.to_owned(), manifest })
    }

    /// The capture's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Frame `number` (from 1).
    pub fn frame(&self, number: u32) -> Result<&FrameEntry, CaptureError> {
        number
            .checked_sub(1)
            .and_then(|index| self.manifest.frames.get(index as usize))
            .ok_or(CaptureError::NoSuchFrame { frame: number, count: self.manifest.frames.len() })
    }

    /// The levels a frame holds.
    pub fn levels_of(frame: &FrameEntry) -> Levels {
        frame.levels.iter().copied().collect()
    }

    /// A frame's STREAM file.
    pub fn load_stream(&self, frame: &FrameEntry) -> Result<StreamFrame, CaptureError> {
        self.require(frame, Level::Stream, "capture with --capture-levels stream, or replay --from scene")?;
        self.load_ron(&self.frame_path(frame, STREAM_FILE))
    }

    /// A frame's SCENE file.
    pub fn load_scene(&self, frame: &FrameEntry) -> Result<SceneFrame, CaptureError> {
        self.require(frame, Level::Scene, "capture with --capture-levels scene, or replay --from stream")?;
        self.load_ron(&self.frame_path(frame, SCENE_FILE))
    }

    /// A frame's presented pixels (PIXELS level): size and tightly packed RGBA8 rows.
    pub fn load_pixels(&self, frame: &FrameEntry) -> Result<(DeviceIntSize, Vec<u8>), CaptureError> {
        self.require(frame, Level::Pixels, "capture with --capture-levels pixels to compare")?;
        let path = self.frame_path(frame, PIXELS_FILE);
        let image = decode_png(&path)?;
        let size = DeviceIntSize::new(image.width(), image.height());
        Ok((size, image.into_raw()))
    }

    /// Where a frame's file is.
    pub fn frame_path(&self, frame: &FrameEntry, file: &str) -> PathBuf {
        self.dir.join(frame.number.dir()).join(file)
    }

    /// Turns a record of `from` (the RON file naming it) back into the update it was,
    /// reading its file.
    pub fn resource_update(
        &self,
        from: &Path,
        record: &ResourceRecord,
    ) -> Result<ResourceUpdate, CaptureError> {
        Ok(match record {
            ResourceRecord::AddFont { key, file } => {
                let path = self.resource_path(from, file)?;
                let bytes = std::fs::read(&path).map_err(CaptureError::io(&path))?;
                ResourceUpdate::AddFont { key: *key, bytes }
            }
            ResourceRecord::AddImage { key, size, file } => {
                let path = self.resource_path(from, file)?;
                let rgba = if file.ends_with(".rgba") {
                    // Kept raw because its bytes never matched its size: replay refuses it as
                    // the GPU process did.
                    std::fs::read(&path).map_err(CaptureError::io(&path))?
                } else {
                    check_size(*size)
                        .map_err(|message| CaptureError::Image { path: path.clone(), message })?;
                    let image = decode_png(&path)?;
                    if (image.width(), image.height()) != (size.width, size.height) {
                        return Err(CaptureError::Image {
                            message: format!(
                                "is {}x{} but {} says image {key:?} is {}x{}",
                                image.width(),
                                image.height(),
                                from.display(),
                                size.width,
                                size.height
                            ),
                            path,
                        });
                    }
                    image.into_raw()
                };
                ResourceUpdate::AddImage { key: *key, size: *size, rgba: IpcSharedMemory::from_bytes(&rgba) }
            }
            ResourceRecord::DeleteFont(key) => ResourceUpdate::DeleteFont(*key),
            ResourceRecord::DeleteImage(key) => ResourceUpdate::DeleteImage(*key),
            ResourceRecord::CreateImageBuffer { id, size } => {
                ResourceUpdate::CreateImageBuffer { id: *id, size: *size }
            }
            ResourceRecord::DestroyImageBuffer(id) => ResourceUpdate::DestroyImageBuffer(*id),
        })
    }

    fn require(&self, frame: &FrameEntry, level: Level, hint: &'static str) -> Result<(), CaptureError> {
        if frame.levels.contains(&level) {
            return Ok(());
        }
        Err(CaptureError::MissingLevel {
            frame: frame.number.0,
            level,
            present: Capture::levels_of(frame),
            hint,
        })
    }

    fn load_ron<T: DeserializeOwned>(&self, path: &Path) -> Result<T, CaptureError> {
        let text = std::fs::read_to_string(path).map_err(CaptureError::io(path))?;
        parse(path, &text)
    }

    /// A resource file named in `from`, checked to lie inside the capture.
    fn resource_path(&self, from: &Path, file: &str) -> Result<PathBuf, CaptureError> {
        let relative = Path::new(file);
        let inside =
            !file.is_empty() && relative.components().all(|part| matches!(part, Component::Normal(_)));
        if !inside {
            return Err(CaptureError::BadResourcePath { path: from.to_owned(), file: file.to_owned() });
        }
        Ok(self.dir.join(relative))
    }
}

/// Brings an older format's manifest text up to [`FORMAT_VERSION`]. Version 1 is the
/// first format, so there is nothing to migrate yet; a format change adds its step here.
pub fn migrate(version: u32, text: String) -> String {
    debug_assert!((OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&version));
    text
}

/// Parses RON, naming the file, line and column of an error.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, CaptureError> {
    ron::de::from_str(text).map_err(|error| CaptureError::Parse {
        path: path.to_owned(),
        line: error.span.start.line,
        column: error.span.start.col,
        message: error.code.to_string(),
    })
}

fn check_size(size: DeviceIntSize) -> Result<(), String> {
    let ok = |side: u32| (1..=MAX_SIDE).contains(&side);
    if ok(size.width) && ok(size.height) {
        Ok(())
    } else {
        Err(format!("size {}x{} is outside 1..={MAX_SIDE} pixels per side", size.width, size.height))
    }
}

fn decode_png(path: &Path) -> Result<image::RgbaImage, CaptureError> {
    let bytes = std::fs::read(path).map_err(CaptureError::io(path))?;
    let image = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png).map_err(|error| {
        CaptureError::Image { path: path.to_owned(), message: format!("not a readable PNG: {error}") }
    })?;
    Ok(image.into_rgba8())
}
