//! Armature's GPU process: receives display lists from content processes, replays them into
//! batches and draws them with wgpu (Mesa's lavapipe where there is no GPU), then reads the
//! frame back for the launcher.
//!
//! Data path: [`process`] (one stream per content process, read by its own thread) →
//! [`backend`] (`RemoteRenderingBackend`: applies each item; [`canvas`] turns image-buffer
//! drawing into display items) → [`replay`] (validate; display items → primitives) →
//! [`batch`] (primitives → batches, WebRender style) → [`renderer`] (one instanced draw per
//! batch) → [`readback`]. Stores: [`resources`] (per content process, with [`fonts`]),
//! [`texture_cache`] (images and image buffers) and [`glyph_atlas`].
//!
//! Architecture invariant: the GPU process never trusts a byte from content, and never
//! panics on it.

pub mod backend;
pub mod batch;
pub mod canvas;
#[cfg(feature = "capture")]
pub mod capture;
pub mod device;
pub mod fonts;
pub mod glyph_atlas;
pub mod process;
pub mod readback;
pub mod renderer;
pub mod replay;
pub mod resources;
pub mod texture_cache;
#[cfg(feature = "window")]
pub mod window;

pub use process::{GpuProcessError, run};
