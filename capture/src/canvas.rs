//! What image buffers hold: the canvas commands that drew them, in stream order, less what a
//! later full clear hid. It is what a SCENE capture saves of each buffer, and what the stream
//! recorder keeps of them.
//!
//! A page that clears its canvas and redraws it every animation frame keeps one frame's
//! items, not every item since the canvas was made. A clear drops a buffer's earlier items
//! only when replaying the rest gives the same pixels:
//! - it covers the whole buffer, with no transform and nothing saved (then the buffer is as
//!   new, up to the colours and line width, which are set again in front of the clear; the
//!   log follows the drawing state with `api::CanvasContext`, as the GPU process does);
//! - no kept item draws this buffer into another (`DrawImage` of a buffer draws it as it is
//!   then, so what it held before the clear is still needed).
//!
//! A buffer destroyed while a kept item of another buffer still draws it stays in the log
//! (created, drawn, destroyed) until no kept item reads it.

use std::collections::BTreeMap;

use armature_api::canvas::finite_rect;
use armature_api::{CanvasContext, CanvasImageSource, CanvasItem, CanvasState, DeviceIntSize, ImageBufferId};

use crate::format::CanvasRecord;

/// The canvas commands that rebuild every image buffer of a stream (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct CanvasLog {
    records: Vec<CanvasRecord>,
    buffers: BTreeMap<ImageBufferId, Tracked>,
}

/// What the log knows of one buffer.
#[derive(Clone, Debug)]
struct Tracked {
    size: DeviceIntSize,
    /// Its drawing state, followed as the GPU process follows it.
    context: CanvasContext,
    /// Not yet destroyed.
    live: bool,
    /// Kept `Draw` records of other buffers that draw this one.
    readers: usize,
}

impl CanvasLog {
    /// A buffer created.
    pub fn create(&mut self, id: ImageBufferId, size: DeviceIntSize) {
        if self.buffers.contains_key(&id) {
            // Created twice (the GPU process refuses that): the old one is gone.
            self.destroy(id);
        }
        self.records.push(CanvasRecord::Create { id, size });
        let tracked = Tracked { size, context: CanvasContext::default(), live: true, readers: 0 };
        self.buffers.insert(id, tracked);
    }

    /// A buffer destroyed: forgotten, unless a kept item still draws it.
    pub fn destroy(&mut self, id: ImageBufferId) {
        let Some(tracked) = self.buffers.get_mut(&id) else { return };
        tracked.live = false;
        self.records.push(CanvasRecord::Destroy(id));
        self.forget_if_unread(id);
    }

    /// An item drawn into `buffer`.
    pub fn draw(&mut self, buffer: ImageBufferId, item: &CanvasItem) {
        if let Some(source) = reads(buffer, item)
            && let Some(tracked) = self.buffers.get_mut(&source)
        {
            tracked.readers += 1;
        }
        let Some(tracked) = self.buffers.get_mut(&buffer) else {
            // Drawing into no buffer (the GPU process refuses it): kept as it came.
            self.records.push(CanvasRecord::Draw { buffer, item: item.clone() });
            return;
        };
        let clears_all = tracked.readers == 0 && tracked.clears_all(item);
        tracked.context.apply(item);
        if clears_all {
            let state = tracked.context.state;
            self.drop_drawing(buffer);
            // The state the dropped items left, set again (the transform is the initial one).
            let initial = CanvasState::INITIAL;
            let prologue = [
                (state.fill != initial.fill).then_some(CanvasItem::SetFillColor(state.fill)),
                (state.stroke != initial.stroke).then_some(CanvasItem::SetStrokeColor(state.stroke)),
                (state.line_width != initial.line_width)
                    .then_some(CanvasItem::SetLineWidth(state.line_width)),
            ];
            self.records
                .extend(prologue.into_iter().flatten().map(|item| CanvasRecord::Draw { buffer, item }));
        }
        self.records.push(CanvasRecord::Draw { buffer, item: item.clone() });
    }

    /// The records in order, with every buffer's creation.
    pub fn records(&self) -> &[CanvasRecord] {
        &self.records
    }

    /// The records a scene replays after its resources: those that already create the live
    /// buffers are left out.
    pub fn scene_records(&self) -> impl Iterator<Item = &CanvasRecord> {
        self.records.iter().filter(|record| match record {
            CanvasRecord::Create { id, .. } => !self.buffers.get(id).is_some_and(|tracked| tracked.live),
            _ => true,
        })
    }

    /// Removes `buffer`'s `Draw` records, and what only they kept.
    fn drop_drawing(&mut self, buffer: ImageBufferId) {
        self.remove_records(|record| matches!(record, CanvasRecord::Draw { buffer: b, .. } if *b == buffer));
    }

    /// Removes a destroyed buffer's records once nothing kept draws it.
    fn forget_if_unread(&mut self, id: ImageBufferId) {
        if self.buffers.get(&id).is_some_and(|tracked| !tracked.live && tracked.readers == 0) {
            self.buffers.remove(&id);
            self.remove_records(|record| match record {
                CanvasRecord::Create { id: b, .. } | CanvasRecord::Destroy(b) => *b == id,
                CanvasRecord::Draw { buffer, .. } => *buffer == id,
            });
        }
    }

    /// Removes the records `remove` picks, releasing the buffers their items drew (a
    /// destroyed one that nothing reads any more goes too).
    fn remove_records(&mut self, remove: impl Fn(&CanvasRecord) -> bool) {
        let mut released = Vec::new();
        self.records.retain(|record| {
            if !remove(record) {
                return true;
            }
            if let CanvasRecord::Draw { buffer, item } = record
                && let Some(source) = reads(*buffer, item)
            {
                released.push(source);
            }
            false
        });
        for source in released {
            if let Some(tracked) = self.buffers.get_mut(&source) {
                tracked.readers = tracked.readers.saturating_sub(1);
            }
            self.forget_if_unread(source);
        }
    }
}

impl Tracked {
    /// Whether `item` makes the whole buffer transparent, with nothing saved and no
    /// transform, so the buffer is as new after it. Conservative: a clear that only rounds to
    /// the whole buffer does not count.
    fn clears_all(&self, item: &CanvasItem) -> bool {
        let CanvasItem::ClearRect(rect) = item else { return false };
        let context = &self.context;
        context.state.is_untransformed() && context.saved() == 0 && finite_rect(rect) && {
            let cleared = context.state.rect(rect);
            cleared.min_x() <= 0.0
                && cleared.min_y() <= 0.0
                && cleared.max_x() >= self.size.width as f32
                && cleared.max_y() >= self.size.height as f32
        }
    }
}

/// The other buffer `item` draws into `buffer`, if it draws one.
fn reads(buffer: ImageBufferId, item: &CanvasItem) -> Option<ImageBufferId> {
    match item {
        CanvasItem::DrawImage { source: CanvasImageSource::Buffer(source), .. } if *source != buffer => {
            Some(*source)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use armature_api::{ColorF, IdNamespace, LayoutPoint, LayoutRect, LayoutSize};

    use super::*;

    fn id(index: u32) -> ImageBufferId {
        ImageBufferId(IdNamespace(1), index)
    }

    fn rect(x: f32, y: f32, width: f32, height: f32) -> LayoutRect {
        LayoutRect::new(LayoutPoint::new(x, y), LayoutSize::new(width, height))
    }

    const SIZE: DeviceIntSize = DeviceIntSize::new(200, 100);

    /// One animation frame: clear all, pick a colour, fill a rect.
    fn frame(log: &mut CanvasLog, buffer: ImageBufferId, at: f32) {
        log.draw(buffer, &CanvasItem::ClearRect(rect(0.0, 0.0, 200.0, 100.0)));
        log.draw(buffer, &CanvasItem::SetFillColor(ColorF::new(at / 100.0, 0.0, 0.0, 1.0)));
        log.draw(buffer, &CanvasItem::FillRect(rect(at, 10.0, 20.0, 20.0)));
    }

    fn draws(log: &CanvasLog, buffer: ImageBufferId) -> Vec<CanvasItem> {
        log.records()
            .iter()
            .filter_map(|record| match record {
                CanvasRecord::Draw { buffer: b, item } if *b == buffer => Some(item.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn clearing_and_redrawing_keeps_one_frame() {
        let mut log = CanvasLog::default();
        log.create(id(0), SIZE);
        for at in 0..100 {
            frame(&mut log, id(0), at as f32);
        }
        // The last frame, behind the fill colour the frame before it left.
        assert_eq!(
            draws(&log, id(0)),
            [
                CanvasItem::SetFillColor(ColorF::new(0.98, 0.0, 0.0, 1.0)),
                CanvasItem::ClearRect(rect(0.0, 0.0, 200.0, 100.0)),
                CanvasItem::SetFillColor(ColorF::new(0.99, 0.0, 0.0, 1.0)),
                CanvasItem::FillRect(rect(99.0, 10.0, 20.0, 20.0)),
            ]
        );
        assert_eq!(log.scene_records().count(), 4, "the live buffer's creation comes with the resources");
    }

    #[test]
    fn partial_transformed_or_saved_clears_keep_what_came_before() {
        let partial = [CanvasItem::ClearRect(rect(1.0, 0.0, 200.0, 100.0))];
        let transformed =
            [CanvasItem::Translate { x: 5.0, y: 0.0 }, CanvasItem::ClearRect(rect(-10.0, 0.0, 300.0, 100.0))];
        let saved = [CanvasItem::Save, CanvasItem::ClearRect(rect(0.0, 0.0, 200.0, 100.0))];
        let non_finite = [CanvasItem::ClearRect(rect(f32::NAN, 0.0, 200.0, 100.0))];
        for case in [&partial[..], &transformed, &saved, &non_finite] {
            let mut log = CanvasLog::default();
            log.create(id(0), SIZE);
            log.draw(id(0), &CanvasItem::FillRect(rect(0.0, 0.0, 5.0, 5.0)));
            for item in case {
                log.draw(id(0), item);
            }
            assert_eq!(draws(&log, id(0)).len(), 1 + case.len(), "{case:?}");
        }
        // Restored to no transform and nothing saved, a full clear counts again.
        let mut log = CanvasLog::default();
        log.create(id(0), SIZE);
        for item in [
            CanvasItem::Save,
            CanvasItem::Scale { x: 2.0, y: 2.0 },
            CanvasItem::FillRect(rect(0.0, 0.0, 5.0, 5.0)),
            CanvasItem::Restore,
            CanvasItem::ClearRect(rect(-1.0, -1.0, 300.0, 300.0)),
        ] {
            log.draw(id(0), &item);
        }
        assert_eq!(draws(&log, id(0)), [CanvasItem::ClearRect(rect(-1.0, -1.0, 300.0, 300.0))]);
    }

    #[test]
    fn a_buffer_drawn_into_another_keeps_its_drawing_while_that_is_kept() {
        let mut log = CanvasLog::default();
        log.create(id(0), SIZE);
        log.create(id(1), SIZE);
        frame(&mut log, id(1), 1.0);
        let sprite = CanvasItem::DrawImage {
            source: CanvasImageSource::Buffer(id(1)),
            rect: rect(0.0, 0.0, 9.0, 9.0),
        };
        log.draw(id(0), &sprite);
        // Buffer 1 is cleared, but buffer 0 drew it as it was: both drawings stay.
        frame(&mut log, id(1), 2.0);
        assert_eq!(draws(&log, id(1)).len(), 6);
        // Buffer 1 destroyed: still drawn by a kept item, so still in the log.
        log.destroy(id(1));
        assert!(log.records().contains(&CanvasRecord::Create { id: id(1), size: SIZE }));
        assert_eq!(
            log.scene_records().filter(|record| matches!(record, CanvasRecord::Create { .. })).count(),
            1,
            "a scene creates the destroyed buffer itself"
        );
        // Buffer 0 clears all: its draw of buffer 1 goes, and buffer 1 with it.
        frame(&mut log, id(0), 3.0);
        assert_eq!(draws(&log, id(1)), []);
        assert!(
            !log.records().iter().any(
                |record| matches!(record, CanvasRecord::Create { id: created, .. } if *created == id(1))
            )
        );
        assert_eq!(draws(&log, id(0)).len(), 3);
    }

    #[test]
    fn a_destroyed_buffer_nothing_reads_is_forgotten() {
        let mut log = CanvasLog::default();
        log.create(id(0), SIZE);
        frame(&mut log, id(0), 1.0);
        log.destroy(id(0));
        assert_eq!(log.records(), []);
    }
}
