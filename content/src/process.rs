//! The content process's main loop (its main thread): waits for the launcher's `Start`,
//! renders the page into a display list, streams it to the GPU process, then idles until
//! told to shut down or until its lifeline to the launcher breaks.

use std::path::Path;

use armature_api::messages::{ContentToGpu, ContentToLauncher, LauncherToContent};
use armature_api::{ContentId, DisplayList, Epoch, LayoutSize, ResourceUpdate};
use ipc_channel::ipc::{IpcReceiver, IpcSender};

use crate::page::PageError;
use crate::text::{FontError, FontSet};

/// Why the content process stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ContentProcessError {
    /// The page could not be loaded.
    #[error(transparent)]
    Page(#[from] PageError),
    /// The bundled fonts are broken.
    #[error(transparent)]
    Font(#[from] FontError),
    /// The GPU process's channel is gone (it crashed or exited).
    #[error("lost the connection to the GPU process: {0}")]
    GpuGone(String),
}

/// A page turned into what the GPU process needs to draw it.
#[derive(Debug)]
pub struct RenderedPage {
    /// The page's `<title>`.
    pub title: Option<String>,
    /// Resources (fonts) the display list refers to.
    pub resources: Vec<ResourceUpdate>,
    /// The display list.
    pub display_list: DisplayList,
}

/// Runs the whole front end on a page file: load, parse, style, lay out, build.
pub fn render_page(
    content: ContentId,
    page: &Path,
    viewport: LayoutSize,
) -> Result<RenderedPage, ContentProcessError> {
    let html = crate::page::load(page)?;
    let document = crate::dom::Document::parse(&html);
    let styles = crate::style::compute(&document);
    let fonts = FontSet::new(content.namespace())?;
    let layout = crate::layout::layout(&document, &styles, &fonts, viewport.width);
    let display_list = crate::display_list::build(&layout, &fonts, viewport);
    Ok(RenderedPage { title: document.title(), resources: fonts.resource_updates(), display_list })
}

/// The content process's main loop. Returns when the launcher says `Shutdown` or goes away.
pub fn run(
    to_launcher: IpcSender<ContentToLauncher>,
    from_launcher: IpcReceiver<LauncherToContent>,
) -> Result<(), ContentProcessError> {
    // Kept alive for the process's lifetime so the GPU process can always reply.
    let mut _gpu_replies = None;
    while let Ok(message) = from_launcher.recv() {
        match message {
            LauncherToContent::Start { content, page, viewport, to_gpu, from_gpu } => {
                _gpu_replies = Some(from_gpu);
                let viewport = LayoutSize::new(viewport.width as f32, viewport.height as f32);
                let rendered = match render_page(content, &page, viewport) {
                    Ok(rendered) => rendered,
                    Err(error) => {
                        // The launcher prints the message; if it is gone there is no one to tell.
                        let _ = to_launcher.send(ContentToLauncher::Failed { message: error.to_string() });
                        return Err(error);
                    }
                };
                let display_items = rendered.display_list.items.len();
                let epoch = Epoch(1);
                let send =
                    |message| to_gpu.send(message).map_err(|e| ContentProcessError::GpuGone(e.to_string()));
                send(ContentToGpu::UpdateResources(rendered.resources))?;
                send(ContentToGpu::SetDisplayList(epoch, rendered.display_list))?;
                send(ContentToGpu::Present(epoch))?;
                tracing::info!(target: "armature::content", "{}: {display_items} display items", page.display());
                let _ =
                    to_launcher.send(ContentToLauncher::PageLoaded { title: rendered.title, display_items });
            }
            LauncherToContent::Shutdown => return Ok(()),
        }
    }
    // The launcher's end closed: our lifeline broke, so exit quietly.
    Ok(())
}
