//! Armature's content process: page → DOM → style → layout → display list → GPU process.
//!
//! Modules are named after the stages of the data path: [`page`] (load), [`dom`]
//! (html5ever into our arena), [`style`], [`layout`] (with [`text`]), [`display_list`];
//! [`process`] is the content process's main loop.
//!
//! Architecture invariant: content knows nothing about wgpu; all it says to the GPU
//! process is an `api` message.

pub mod display_list;
pub mod dom;
pub mod layout;
pub mod page;
pub mod process;
pub mod style;
pub mod text;

pub use process::{ContentProcessError, RenderedPage, render_page, run};
