//! The capture format: what each file of a capture directory holds.
//!
//! ```text
//! DIR/manifest.ron            format version, armature version, levels, frames
//! DIR/resources/font-1-0.ttf  each resource once, named by its key
//! DIR/resources/image-1-3.png
//! DIR/frames/0001/stream.ron  STREAM: the commands of this frame, in order
//! DIR/frames/0001/scene.ron   SCENE: the display list, every live resource, canvas drawing
//! DIR/frames/0001/frame.ron   FRAME: primitives and batches; atlas.png beside it
//! DIR/frames/0001/pixels.png  PIXELS: the presented frame; buffer-1-2.png per image buffer
//! ```
//!
//! Versioning: a field added with a serde default keeps the version (an older capture still
//! reads); anything else bumps [`FORMAT_VERSION`] and adds a step to
//! [`crate::reader::migrate`], so a capture outlives the armature revision that made it.

use armature_api::{ContentId, DeviceIntSize, DisplayList, Epoch, FontKey, ImageBufferId, ImageKey};
use serde::{Deserialize, Serialize};

use crate::Level;

/// The format version this build writes (and the newest it reads).
pub const FORMAT_VERSION: u32 = 1;
/// The oldest format version this build can migrate.
pub const OLDEST_FORMAT_VERSION: u32 = 1;

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.ron";
/// A frame's STREAM file.
pub const STREAM_FILE: &str = "stream.ron";
/// A frame's SCENE file.
pub const SCENE_FILE: &str = "scene.ron";
/// A frame's FRAME file.
pub const FRAME_FILE: &str = "frame.ron";
/// A frame's glyph atlas (FRAME level).
pub const ATLAS_FILE: &str = "atlas.png";
/// A frame's pixels (PIXELS level).
pub const PIXELS_FILE: &str = "pixels.png";

/// A frame's number within a capture, from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FrameNumber(pub u32);

impl FrameNumber {
    /// The frame's directory, relative to the capture: `frames/0001`.
    pub fn dir(self) -> String {
        format!("frames/{:04}", self.0)
    }
}

/// `manifest.ron`: what the capture holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The format version it was written in ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// The armature version that wrote it.
    pub armature_version: String,
    /// The levels asked for.
    pub levels: Vec<Level>,
    /// The first frame's size in device pixels (each frame has its own).
    pub viewport: Option<DeviceIntSize>,
    /// The frames, in the order they were presented.
    pub frames: Vec<FrameEntry>,
}

/// One presented frame of a capture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameEntry {
    /// Its number, from 1.
    pub number: FrameNumber,
    /// Whose frame it is.
    pub content: ContentId,
    /// Its epoch in that content process.
    pub epoch: Epoch,
    /// Its size in pixels.
    pub viewport: DeviceIntSize,
    /// The levels its directory holds.
    pub levels: Vec<Level>,
}

/// `stream.ron`: the commands one content process sent for this frame, in order; the first
/// frame of a content process in a capture starts with everything it had sent before.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamFrame {
    /// The content process that sent them.
    pub content: ContentId,
    /// The commands, ending with the frame's `Present`.
    pub commands: Vec<StreamCommand>,
}

/// One command of the content→GPU stream, with resource bytes in files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StreamCommand {
    /// Resources added or removed.
    UpdateResources(Vec<ResourceRecord>),
    /// The page's display list replaced.
    SetDisplayList(Epoch, DisplayList),
    /// The display list of this epoch presented.
    Present(Epoch),
    /// A canvas item drawn into an image buffer (added in place: older captures lack it).
    DrawToImageBuffer {
        /// The buffer.
        buffer: armature_api::ImageBufferId,
        /// The item.
        item: armature_api::CanvasItem,
    },
}

/// A resource update, its bytes in a file of the capture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ResourceRecord {
    /// A font; `file` holds its TrueType/OpenType bytes.
    AddFont {
        /// Its key.
        key: FontKey,
        /// The font file, relative to the capture.
        file: String,
    },
    /// A font forgotten.
    DeleteFont(FontKey),
    /// A decoded image; `file` is a PNG of exactly `size`.
    AddImage {
        /// Its key.
        key: ImageKey,
        /// Its size in pixels.
        size: DeviceIntSize,
        /// The PNG file, relative to the capture.
        file: String,
    },
    /// An image forgotten.
    DeleteImage(ImageKey),
    /// An image buffer created.
    CreateImageBuffer {
        /// Its id.
        id: ImageBufferId,
        /// Its size in pixels.
        size: DeviceIntSize,
    },
    /// An image buffer destroyed.
    DestroyImageBuffer(ImageBufferId),
}

/// `scene.ron`: a presented display list and every resource live when it was presented, so
/// a frame replays on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneFrame {
    /// The content process it belongs to.
    pub content: ContentId,
    /// Its epoch.
    pub epoch: Epoch,
    /// Resources live at the present (only `Add…` and `Create…` records).
    pub resources: Vec<ResourceRecord>,
    /// What the image buffers hold: the canvas commands that drew them, replayed after the
    /// resources (added in place: older captures lack it, and their buffers replay empty).
    #[serde(default)]
    pub canvas: Vec<CanvasRecord>,
    /// The display list presented.
    pub display_list: DisplayList,
}

/// One canvas command of a scene (see [`crate::canvas`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CanvasRecord {
    /// An image buffer that is destroyed by the time of the scene but that a kept item draws
    /// into another (live buffers are created with the scene's resources).
    Create {
        /// Its id.
        id: ImageBufferId,
        /// Its size in pixels.
        size: DeviceIntSize,
    },
    /// An item drawn into a buffer.
    Draw {
        /// The buffer.
        buffer: ImageBufferId,
        /// The item.
        item: armature_api::CanvasItem,
    },
    /// That buffer destroyed.
    Destroy(ImageBufferId),
}

impl CanvasRecord {
    /// The stream command that does what this record says.
    pub fn command(&self) -> armature_api::messages::ContentToGpu {
        use armature_api::ResourceUpdate;
        use armature_api::messages::ContentToGpu;
        match self {
            CanvasRecord::Create { id, size } => {
                ContentToGpu::UpdateResources(vec![ResourceUpdate::CreateImageBuffer {
                    id: *id,
                    size: *size,
                }])
            }
            CanvasRecord::Draw { buffer, item } => {
                ContentToGpu::DrawToImageBuffer { buffer: *buffer, item: item.clone() }
            }
            CanvasRecord::Destroy(id) => {
                ContentToGpu::UpdateResources(vec![ResourceUpdate::DestroyImageBuffer(*id)])
            }
        }
    }
}

/// Where a resource's bytes go, relative to the capture.
pub fn font_file(key: FontKey) -> String {
    format!("resources/font-{}-{}.ttf", (key.0).0, key.1)
}

/// Where an image's PNG goes, relative to the capture.
pub fn image_file(key: ImageKey) -> String {
    format!("resources/image-{}-{}.png", (key.0).0, key.1)
}

/// An image buffer's PNG within its frame's directory (PIXELS level).
pub fn buffer_file(id: ImageBufferId) -> String {
    format!("buffer-{}-{}.png", (id.0).0, id.1)
}
