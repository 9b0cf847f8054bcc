//! Canvas replay: one image buffer's drawing state (`api::CanvasContext`: a
//! `GraphicsContext`'s, reduced to colours, line width and a scale-and-translate transform)
//! turning canvas items into
//! display items in the buffer's pixel space. The backend batches those and draws them over
//! the buffer with the page renderer, so canvas drawing gets the same batching.
//!
//! Values follow Canvas 2D: non-finite arguments make an item do nothing; `Restore` without
//! a `Save` does nothing. The one limit is the save stack's depth (a hostile stream could
//! otherwise grow it without bound).

use armature_api::canvas::finite_rect;
use armature_api::{
    BorderRadius, BorderSide, BorderSides, CanvasContext, CanvasImageSource, CanvasItem, ColorF,
    DeviceIntSize, DisplayItem, GlyphInstance, ImageBufferId, LayoutPoint, LayoutSize,
};

/// The deepest `Save` nesting a buffer may have.
pub const MAX_SAVE_DEPTH: usize = 1024;

/// A canvas item the stream may not send.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CanvasError {
    /// Too many `Save`s without `Restore`.
    #[error("image buffer {buffer:?} nests more than {MAX_SAVE_DEPTH} saves")]
    SaveDepth {
        /// The buffer.
        buffer: ImageBufferId,
    },
}

/// What the backend must do for an item.
#[derive(Debug, PartialEq)]
pub enum CanvasStep {
    /// Nothing to draw (a state change, or an item Canvas 2D ignores).
    Nothing,
    /// Draw this over the buffer (after what is pending).
    Draw(DisplayItem),
    /// Draw another buffer, as it is now, over this one.
    DrawBuffer {
        /// The buffer to draw.
        source: ImageBufferId,
        /// The item that draws it.
        item: DisplayItem,
    },
    /// Make these whole pixels (x0, y0, x1, y1) transparent, after what is pending.
    Clear([u32; 4]),
}

/// One image buffer's drawing state and the items drawn since its last flush.
#[derive(Debug)]
pub struct CanvasBuffer {
    id: ImageBufferId,
    size: DeviceIntSize,
    context: CanvasContext,
    /// Display items not yet drawn into the buffer, in order.
    pub pending: Vec<DisplayItem>,
}

impl CanvasBuffer {
    /// A new, transparent buffer.
    pub fn new(id: ImageBufferId, size: DeviceIntSize) -> CanvasBuffer {
        CanvasBuffer { id, size, context: CanvasContext::default(), pending: Vec::new() }
    }

    /// Its size in pixels.
    pub fn size(&self) -> DeviceIntSize {
        self.size
    }

    /// The display list that draws what is pending (over the buffer, not clearing it).
    pub fn take_pending(&mut self) -> armature_api::DisplayList {
        armature_api::DisplayList {
            viewport: LayoutSize::new(self.size.width as f32, self.size.height as f32),
            scroll_offset: LayoutPoint::zero(),
            // Canvas items are in the buffer's own pixels.
            device_pixel_ratio: armature_api::DevicePixelRatio::ONE,
            background: ColorF::TRANSPARENT,
            items: std::mem::take(&mut self.pending),
        }
    }

    /// Applies one item to the state; says what must be drawn.
    pub fn apply(&mut self, item: CanvasItem) -> Result<CanvasStep, CanvasError> {
        if matches!(item, CanvasItem::Save) && self.context.saved() == MAX_SAVE_DEPTH {
            return Err(CanvasError::SaveDepth { buffer: self.id });
        }
        if self.context.apply(&item) {
            return Ok(CanvasStep::Nothing);
        }
        let state = &self.context.state;
        let step = match item {
            CanvasItem::FillRect(rect) if finite_rect(&rect) => CanvasStep::Draw(DisplayItem::Rect {
                rect: state.rect(&rect),
                color: state.fill,
                radius: BorderRadius::ZERO,
            }),
            CanvasItem::StrokeRect(rect) if finite_rect(&rect) => {
                // The stroke straddles the rect's edges: half outside, half inside.
                let half = state.line_width / 2.0;
                let outer = rect.inflate(half, half);
                let side = |width: f32| BorderSide { width: width.abs(), color: state.stroke };
                let (across_x, across_y) =
                    (state.line_width * state.scale.0, state.line_width * state.scale.1);
                CanvasStep::Draw(DisplayItem::Border {
                    rect: state.rect(&outer),
                    sides: BorderSides {
                        top: side(across_y),
                        right: side(across_x),
                        bottom: side(across_y),
                        left: side(across_x),
                    },
                    radius: BorderRadius::ZERO,
                })
            }
            CanvasItem::ClearRect(rect) if finite_rect(&rect) => {
                let mapped = state.rect(&rect);
                let pixel = |value: f32, limit: u32| value.clamp(0.0, limit as f32) as u32;
                CanvasStep::Clear([
                    pixel(mapped.min_x().floor(), self.size.width),
                    pixel(mapped.min_y().floor(), self.size.height),
                    pixel(mapped.max_x().ceil(), self.size.width),
                    pixel(mapped.max_y().ceil(), self.size.height),
                ])
            }
            CanvasItem::FillText { font, size, origin, glyphs }
                if size.is_finite() && size > 0.0 && origin.x.is_finite() && origin.y.is_finite() =>
            {
                let glyphs = glyphs
                    .into_iter()
                    .map(|glyph| GlyphInstance {
                        index: glyph.index,
                        point: state
                            .point(LayoutPoint::new(origin.x + glyph.point.x, origin.y + glyph.point.y)),
                    })
                    .collect();
                // Glyphs scale with the vertical factor (no anisotropic text).
                CanvasStep::Draw(DisplayItem::Text {
                    font,
                    size: size * state.scale.1.abs(),
                    color: state.fill,
                    glyphs,
                })
            }
            CanvasItem::DrawImage { source, rect } if finite_rect(&rect) => {
                let rect = state.rect(&rect);
                match source {
                    CanvasImageSource::Image(key) => CanvasStep::Draw(DisplayItem::Image { key, rect }),
                    CanvasImageSource::Buffer(buffer) => {
                        CanvasStep::DrawBuffer { source: buffer, item: DisplayItem::Canvas { buffer, rect } }
                    }
                }
            }
            // Non-finite or non-positive arguments: Canvas 2D ignores the call.
            _ => CanvasStep::Nothing,
        };
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use armature_api::{IdNamespace, LayoutRect};

    fn buffer() -> CanvasBuffer {
        CanvasBuffer::new(ImageBufferId(IdNamespace(1), 0), DeviceIntSize::new(100, 50))
    }

    fn rect(x: f32, y: f32, w: f32, h: f32) -> LayoutRect {
        LayoutRect::new(LayoutPoint::new(x, y), LayoutSize::new(w, h))
    }

    #[test]
    fn transforms_and_state_apply_to_what_follows_and_restore_undoes_them() {
        let mut canvas = buffer();
        let red = ColorF::new(1.0, 0.0, 0.0, 1.0);
        assert_eq!(canvas.apply(CanvasItem::Save), Ok(CanvasStep::Nothing));
        canvas.apply(CanvasItem::Translate { x: 10.0, y: 5.0 }).unwrap();
        canvas.apply(CanvasItem::Scale { x: 2.0, y: 3.0 }).unwrap();
        canvas.apply(CanvasItem::SetFillColor(red)).unwrap();
        let step = canvas.apply(CanvasItem::FillRect(rect(1.0, 1.0, 4.0, 2.0))).unwrap();
        assert_eq!(
            step,
            CanvasStep::Draw(DisplayItem::Rect {
                rect: rect(12.0, 8.0, 8.0, 6.0),
                color: red,
                radius: BorderRadius::ZERO
            })
        );
        canvas.apply(CanvasItem::Restore).unwrap();
        canvas.apply(CanvasItem::Restore).unwrap();
        let step = canvas.apply(CanvasItem::FillRect(rect(1.0, 1.0, 4.0, 2.0))).unwrap();
        assert_eq!(
            step,
            CanvasStep::Draw(DisplayItem::Rect {
                rect: rect(1.0, 1.0, 4.0, 2.0),
                color: ColorF::BLACK,
                radius: BorderRadius::ZERO
            })
        );
    }

    #[test]
    fn non_finite_arguments_are_ignored_and_clears_are_clamped_to_whole_pixels() {
        let mut canvas = buffer();
        assert_eq!(
            canvas.apply(CanvasItem::FillRect(rect(f32::NAN, 0.0, 1.0, 1.0))),
            Ok(CanvasStep::Nothing)
        );
        canvas.apply(CanvasItem::Translate { x: f32::INFINITY, y: 0.0 }).unwrap();
        assert_eq!(
            canvas.apply(CanvasItem::ClearRect(rect(-5.0, 10.5, 500.0, 10.0))),
            Ok(CanvasStep::Clear([0, 10, 100, 21]))
        );
    }

    #[test]
    fn the_save_stack_is_bounded() {
        let mut canvas = buffer();
        for _ in 0..MAX_SAVE_DEPTH {
            canvas.apply(CanvasItem::Save).unwrap();
        }
        assert!(matches!(canvas.apply(CanvasItem::Save), Err(CanvasError::SaveDepth { .. })));
    }
}
