//! Armature's content process: page → DOM → style → layout → display list → GPU process.
//!
//! Modules are named after the stages of the data path: [`page`] (load), [`dom`]
//! (html5ever into our arena), [`style`] (cascade), [`layout`] (taffy boxes, parley text,
//! with [`fonts`] and [`images`]), [`display_list`] (at the positions [`scroll`] keeps); [`canvas`] is the content side of the
//! stream to the GPU process (`RemoteRenderingBackendProxy`, image-buffer proxies and their
//! Canvas-2D-like drawing API); [`process`] is the content process's main loop.
//!
//! Architecture invariant: content knows nothing about wgpu; all it says to the GPU
//! process is an `api` message.

pub mod canvas;
pub mod display_list;
pub mod dom;
pub mod fonts;
pub mod images;
pub mod layout;
pub mod page;
pub mod process;
#[cfg(feature = "vm")]
pub mod script;
pub mod scroll;
pub mod style;
pub mod test_support;

pub use process::{
    ContentProcessError, LaidOutPage, RenderedPage, dump_layout, lay_out_page, render_page, run,
};
