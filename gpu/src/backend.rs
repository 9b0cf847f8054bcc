//! `RemoteRenderingBackend` (WebKit's name): everything the GPU process holds for one content
//! process — its resources, its image buffers' drawing state, its display list — and how
//! one stream item changes it. Items arrive in stream order, so a buffer is always created
//! before anything draws into it; an id that names no buffer is the content process's fault
//! ("missing image buffer destination", as WebKit reports it), never a race.
//!
//! Canvas items are batched per buffer and drawn when something needs the pixels: a
//! `Present` (the page composites the buffers), another buffer drawing this one, a clear,
//! or a long run of items.

use std::collections::HashMap;

use armature_api::messages::ContentToGpu;
use armature_api::{CanvasItem, ContentId, DisplayList, Epoch, ImageBufferId, ResourceUpdate};

use crate::canvas::{CanvasBuffer, CanvasError, CanvasStep};
use crate::renderer::{RenderError, Renderer};
use crate::resources::{ContentResources, ResourceError};

/// Items a buffer collects before they are drawn anyway.
const MAX_PENDING_ITEMS: usize = 4096;

/// An item the backend refuses; the stream ends and the content process is terminated.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Drawing into a buffer this content process never created (or destroyed).
    #[error("missing image buffer destination {0:?}")]
    MissingDestination(ImageBufferId),
    /// Drawing a buffer that does not exist into another.
    #[error("image buffer {missing:?} drawn into {into:?} does not exist")]
    MissingSource {
        /// The missing buffer.
        missing: ImageBufferId,
        /// The buffer drawn into.
        into: ImageBufferId,
    },
    /// A buffer created twice without being destroyed.
    #[error("image buffer {0:?} created twice")]
    DuplicateBuffer(ImageBufferId),
    /// A bad resource upload.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// A bad canvas item.
    #[error(transparent)]
    Canvas(#[from] CanvasError),
    /// Drawing failed (bad display items, or the GPU).
    #[error(transparent)]
    Render(#[from] RenderError),
    /// `Present` of an epoch that was not set.
    #[error("present of epoch {present} but the display list is {list}")]
    Epoch {
        /// The epoch presented.
        present: u32,
        /// The display list's epoch, if any.
        list: String,
    },
}

/// What applying an item asks of the caller.
#[derive(Debug, Default, PartialEq)]
pub struct Applied {
    /// Render and present the display list of this epoch.
    pub present: Option<Epoch>,
    /// Buffers created, to acknowledge.
    pub created: Vec<ImageBufferId>,
}

/// One content process's state in the GPU process.
pub struct RemoteRenderingBackend {
    content: ContentId,
    /// Its fonts, images and buffers' textures.
    pub resources: ContentResources,
    /// Its current display list.
    pub display_list: Option<(Epoch, DisplayList)>,
    canvases: HashMap<ImageBufferId, CanvasBuffer>,
    /// Canvas items drawn so far (for stats and tests).
    pub canvas_items: u64,
}

impl RemoteRenderingBackend {
    /// The state of a content process that just connected.
    pub fn new(content: ContentId) -> RemoteRenderingBackend {
        RemoteRenderingBackend {
            content,
            resources: ContentResources::default(),
            display_list: None,
            canvases: HashMap::new(),
            canvas_items: 0,
        }
    }

    /// Which content process this is.
    pub fn content(&self) -> ContentId {
        self.content
    }

    /// Applies one stream item.
    pub fn apply(&mut self, renderer: &mut Renderer, command: ContentToGpu) -> Result<Applied, BackendError> {
        let mut applied = Applied::default();
        match command {
            ContentToGpu::UpdateResources(updates) => {
                for update in updates {
                    self.update(renderer, update, &mut applied)?;
                }
            }
            ContentToGpu::DrawToImageBuffer { buffer, item } => self.draw(renderer, buffer, item)?,
            ContentToGpu::SetDisplayList(epoch, list) => self.display_list = Some((epoch, list)),
            ContentToGpu::Present(epoch) => {
                match &self.display_list {
                    Some((list_epoch, _)) if *list_epoch == epoch => {}
                    other => {
                        return Err(BackendError::Epoch {
                            present: epoch.0,
                            list: other.as_ref().map_or("not set".into(), |(e, _)| format!("epoch {}", e.0)),
                        });
                    }
                }
                self.flush_all(renderer)?;
                applied.present = Some(epoch);
            }
        }
        Ok(applied)
    }

    fn update(
        &mut self,
        renderer: &mut Renderer,
        update: ResourceUpdate,
        applied: &mut Applied,
    ) -> Result<(), BackendError> {
        match &update {
            ResourceUpdate::CreateImageBuffer { id, size } => {
                if self.canvases.contains_key(id) {
                    return Err(BackendError::DuplicateBuffer(*id));
                }
                let (id, size) = (*id, *size);
                renderer.update_resources(&mut self.resources, update, self.content.namespace())?;
                self.canvases.insert(id, CanvasBuffer::new(id, size));
                applied.created.push(id);
            }
            ResourceUpdate::DestroyImageBuffer(id) => {
                self.canvases.remove(id);
                renderer.update_resources(&mut self.resources, update, self.content.namespace())?;
            }
            _ => renderer.update_resources(&mut self.resources, update, self.content.namespace())?,
        }
        Ok(())
    }

    fn draw(
        &mut self,
        renderer: &mut Renderer,
        buffer: ImageBufferId,
        item: CanvasItem,
    ) -> Result<(), BackendError> {
        let canvas = self.canvases.get_mut(&buffer).ok_or(BackendError::MissingDestination(buffer))?;
        self.canvas_items += 1;
        match canvas.apply(item)? {
            CanvasStep::Nothing => {}
            CanvasStep::Draw(item) => {
                canvas.pending.push(item);
                if canvas.pending.len() >= MAX_PENDING_ITEMS {
                    self.flush(renderer, buffer)?;
                }
            }
            CanvasStep::Clear(rect) => {
                self.flush(renderer, buffer)?;
                renderer.clear_buffer_rect(&self.resources, buffer, rect);
            }
            CanvasStep::DrawBuffer { source, item } => {
                if !self.canvases.contains_key(&source) {
                    return Err(BackendError::MissingSource { missing: source, into: buffer });
                }
                if source == buffer {
                    // A buffer cannot be sampled while it is drawn into; Canvas 2D would copy.
                    tracing::warn!(target: "armature::gpu", "{buffer:?} drawn into itself: not supported, skipped");
                    return Ok(());
                }
                // The source as it is now: draw its pending items first, and this draw at once
                // (later items into the source must not show through).
                self.flush(renderer, source)?;
                if let Some(canvas) = self.canvases.get_mut(&buffer) {
                    canvas.pending.push(item);
                }
                self.flush(renderer, buffer)?;
            }
        }
        Ok(())
    }

    /// Draws a buffer's pending items into it.
    fn flush(&mut self, renderer: &mut Renderer, buffer: ImageBufferId) -> Result<(), BackendError> {
        let Some(canvas) = self.canvases.get_mut(&buffer) else { return Ok(()) };
        if canvas.pending.is_empty() {
            return Ok(());
        }
        let list = canvas.take_pending();
        renderer.render_into_buffer(&list, &self.resources, buffer)?;
        Ok(())
    }

    /// Draws every buffer's pending items (before a frame composites them).
    pub fn flush_all(&mut self, renderer: &mut Renderer) -> Result<(), BackendError> {
        let pending: Vec<ImageBufferId> = self
            .canvases
            .iter()
            .filter(|(_, canvas)| !canvas.pending.is_empty())
            .map(|(id, _)| *id)
            .collect();
        for buffer in pending {
            self.flush(renderer, buffer)?;
        }
        Ok(())
    }

    /// The image buffers that exist, with their sizes.
    pub fn buffers(&self) -> impl Iterator<Item = (ImageBufferId, armature_api::DeviceIntSize)> + '_ {
        self.canvases.iter().map(|(id, canvas)| (*id, canvas.size()))
    }

    /// Reads a buffer's pixels back (premultiplied RGBA8), drawing what is pending first.
    pub fn read_buffer(
        &mut self,
        renderer: &mut Renderer,
        buffer: ImageBufferId,
    ) -> Result<(armature_api::DeviceIntSize, Vec<u8>), BackendError> {
        self.flush(renderer, buffer)?;
        let texture = self
            .resources
            .buffers
            .get(&buffer)
            .and_then(|entry| renderer.texture_cache().wgpu_texture(entry.texture))
            .ok_or(BackendError::MissingDestination(buffer))?;
        let gpu = renderer.gpu();
        crate::readback::read_whole_texture(&gpu.device, &gpu.queue, texture, 4)
            .map_err(|message| BackendError::Render(RenderError::Gpu(message)))
    }

    /// Gives the GPU memory back (the content process went away).
    pub fn release(self, renderer: &mut Renderer) {
        renderer.release(self.resources);
    }
}
