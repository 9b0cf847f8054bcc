//! Armature's shared vocabulary: the only crate every process links.
//!
//! It holds typed ids, coordinate units, the display list that content builds and the GPU
//! process replays, and one message enum per ipc channel. It knows nothing of wgpu, HTML or
//! wasm (WebRender's `webrender_api` plays the same role).
//!
//! Architecture invariant: everything here is plain data plus serde; no process logic.

pub mod canvas;
pub mod capture;
pub mod color;
pub mod display_list;
pub mod ids;
pub mod limits;
pub mod messages;
pub mod probe;
pub mod stats;
pub mod units;

pub use canvas::{CanvasContext, CanvasImageSource, CanvasItem, CanvasState};
pub use color::ColorF;
pub use display_list::{
    BorderRadius, BorderSide, BorderSides, DisplayItem, DisplayList, GlyphInstance, ResourceUpdate,
};
pub use ids::{ContentId, Epoch, FontKey, IdNamespace, ImageBufferId, ImageKey};
pub use probe::{NoProbe, Probe, ProbePoint, SharedProbe};
pub use stats::{ContentStageTimes, FrameStats, GpuStageTimes};
pub use units::{
    DeviceIntSize, DevicePixelRatio, LayoutPixel, LayoutPoint, LayoutRect, LayoutSize, LayoutVector,
    RatioOutOfRange, Viewport,
};
