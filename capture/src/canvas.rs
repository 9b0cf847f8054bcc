//! What image buffers hold: the canvas commands that drew them, in stream order, less what a
//! later full clear hid. It is what a SCENE capture saves of each buffer, and what the stream
//! recorder keeps of them.
//!
//! A full clear starts a buffer's new *epoch*: it covers the whole buffer, with no transform
//! and nothing saved, so the buffer is as new after it, up to the colours and line width,
//! which are set again in front of the clear (the log follows the drawing state with
//! `api::CanvasContext`, as the GPU process does). Replaying a buffer's items from such a
//! clear on gives the pixels it had from then on, so the log drops each buffer's epochs
//! before the oldest whose pixels are still needed:
//! - a live buffer's current epoch: what it holds now;
//! - every epoch that a kept item of another buffer draws (`DrawImage` of a buffer draws it
//!   as it is then, so its earlier pixels are needed as long as that item is kept).
//!
//! So a page that clears its canvas and redraws it every animation frame keeps one frame's
//! items, and so does one that also redraws an offscreen canvas every frame and draws it into
//! the visible one: once the visible canvas clears, the sprite's older epochs go. A
//! destroyed buffer stays in the log (created, drawn, destroyed) while a kept item draws it.

use std::collections::BTreeMap;

use armature_api::canvas::finite_rect;
use armature_api::{CanvasContext, CanvasImageSource, CanvasItem, CanvasState, DeviceIntSize, ImageBufferId};

use crate::format::CanvasRecord;

/// The canvas commands that rebuild every image buffer of a stream (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct CanvasLog {
    entries: Vec<Entry>,
    buffers: BTreeMap<ImageBufferId, Tracked>,
}

/// Which full clear of a buffer an item comes after: 0 until its first.
type Epoch = u64;

/// A record and what the log needs to know to drop it.
#[derive(Clone, Debug)]
struct Entry {
    record: CanvasRecord,
    /// For a `Draw` into a tracked buffer: that buffer's epoch then.
    epoch: Epoch,
    /// For a `Draw` of one tracked buffer into another: the source and the epoch it drew.
    reads: Option<(ImageBufferId, Epoch)>,
}

/// What the log knows of one buffer.
#[derive(Clone, Debug)]
struct Tracked {
    size: DeviceIntSize,
    /// Its drawing state, followed as the GPU process follows it.
    context: CanvasContext,
    /// Not yet destroyed.
    live: bool,
    /// Its full clears so far.
    epoch: Epoch,
    /// Kept `Draw` records of other buffers that draw this one, by the epoch they draw.
    readers: BTreeMap<Epoch, usize>,
}

impl Tracked {
    /// Whether the log must keep this buffer's items of `epoch`: those of the oldest epoch
    /// still needed and every later one. (Only a prefix of epochs goes: an epoch replays
    /// from the state the one before it left, and a full clear with no transform and
    /// nothing saved after a dropped prefix is the buffer's first item, so that state is
    /// the initial one plus the prologue. A kept epoch after a dropped one in the middle
    /// would start from a state, transform and saves included, that no item restores.)
    fn needs(&self, epoch: Epoch) -> bool {
        let oldest_read = self.readers.keys().next().copied();
        let current = self.live.then_some(self.epoch);
        oldest_read.into_iter().chain(current).min().is_some_and(|oldest| epoch >= oldest)
    }
}

impl CanvasLog {
    /// A buffer created.
    pub fn create(&mut self, id: ImageBufferId, size: DeviceIntSize) {
        // Created twice (the GPU process refuses that): the old one is destroyed, and the
        // new one's epochs follow its, so reads of the old one's never match the new one's.
        let (epoch, readers) = if self.buffers.contains_key(&id) {
            self.destroy(id);
            self.buffers.remove(&id).map(|old| (old.epoch + 1, old.readers)).unwrap_or_default()
        } else {
            Default::default()
        };
        self.push(CanvasRecord::Create { id, size }, 0, None);
        let tracked = Tracked { size, context: CanvasContext::default(), live: true, epoch, readers };
        self.buffers.insert(id, tracked);
    }

    /// A buffer destroyed: forgotten, unless a kept item still draws it.
    pub fn destroy(&mut self, id: ImageBufferId) {
        let Some(tracked) = self.buffers.get_mut(&id) else { return };
        tracked.live = false;
        self.push(CanvasRecord::Destroy(id), 0, None);
        self.prune(id);
    }

    /// An item drawn into `buffer`.
    pub fn draw(&mut self, buffer: ImageBufferId, item: &CanvasItem) {
        let record = CanvasRecord::Draw { buffer, item: item.clone() };
        let Some(tracked) = self.buffers.get_mut(&buffer) else {
            // Drawing into no buffer (the GPU process refuses it, so it reads nothing):
            // kept as it came.
            self.push(record, 0, None);
            return;
        };
        let clears_all = tracked.clears_all(item);
        tracked.context.apply(item);
        if clears_all {
            tracked.epoch += 1;
        }
        let (epoch, state) = (tracked.epoch, tracked.context.state);
        let reads = reads(buffer, item).and_then(|source| {
            let tracked = self.buffers.get_mut(&source)?;
            *tracked.readers.entry(tracked.epoch).or_default() += 1;
            Some((source, tracked.epoch))
        });
        if clears_all {
            // The state the earlier epochs left, set again (the transform is the initial one).
            let initial = CanvasState::INITIAL;
            let prologue = [
                (state.fill != initial.fill).then_some(CanvasItem::SetFillColor(state.fill)),
                (state.stroke != initial.stroke).then_some(CanvasItem::SetStrokeColor(state.stroke)),
                (state.line_width != initial.line_width)
                    .then_some(CanvasItem::SetLineWidth(state.line_width)),
            ];
            for item in prologue.into_iter().flatten() {
                self.push(CanvasRecord::Draw { buffer, item }, epoch, None);
            }
        }
        self.push(record, epoch, reads);
        if clears_all {
            self.prune(buffer);
        }
    }

    /// The records in order, with every buffer's creation.
    pub fn records(&self) -> impl Iterator<Item = &CanvasRecord> {
        self.entries.iter().map(|entry| &entry.record)
    }

    /// The records a scene replays after its resources, which create the live buffers: a
    /// live buffer's own creation is left out, unless an older buffer of the same id is
    /// kept (a kept item draws it); then the scene destroys the one its resources made
    /// before that older one is created again.
    pub fn scene_records(&self) -> Vec<CanvasRecord> {
        let mut creations = BTreeMap::<ImageBufferId, usize>::new();
        for record in self.records() {
            if let CanvasRecord::Create { id, .. } = record {
                *creations.entry(*id).or_default() += 1;
            }
        }
        let mut records = Vec::with_capacity(self.entries.len());
        for record in self.records() {
            if let CanvasRecord::Create { id, .. } = record
                && self.buffers.get(id).is_some_and(|tracked| tracked.live)
            {
                match creations.get_mut(id) {
                    Some(1) => continue,
                    // The first of several: the resources' buffer makes way for it.
                    Some(count) if *count > 1 => {
                        *count = 0;
                        records.push(CanvasRecord::Destroy(*id));
                    }
                    _ => {}
                }
            }
            records.push(record.clone());
        }
        records
    }

    fn push(&mut self, record: CanvasRecord, epoch: Epoch, reads: Option<(ImageBufferId, Epoch)>) {
        self.entries.push(Entry { record, epoch, reads });
    }

    /// Drops what the log no longer needs of buffer `id`: its epochs that are neither
    /// current nor drawn by a kept item, or all of it once it is destroyed and nothing
    /// draws it; then the same for the buffers the dropped items drew (a worklist, not
    /// recursion: a chain of buffers each drawn into the next may be long).
    fn prune(&mut self, id: ImageBufferId) {
        let mut pending = vec![id];
        while let Some(id) = pending.pop() {
            let Some(tracked) = self.buffers.get(&id) else { continue };
            let forget = !tracked.live && tracked.readers.is_empty();
            let mut released = Vec::new();
            self.entries.retain(|entry| {
                let keep = match &entry.record {
                    CanvasRecord::Draw { buffer, .. } if *buffer == id => {
                        !forget && tracked.needs(entry.epoch)
                    }
                    CanvasRecord::Create { id: b, .. } | CanvasRecord::Destroy(b) if *b == id => !forget,
                    _ => true,
                };
                if !keep {
                    released.extend(entry.reads);
                }
                keep
            });
            if forget {
                self.buffers.remove(&id);
            }
            for (source, epoch) in released {
                let Some(tracked) = self.buffers.get_mut(&source) else { continue };
                if let Some(count) = tracked.readers.get_mut(&epoch) {
                    *count -= 1;
                    if *count == 0 {
                        tracked.readers.remove(&epoch);
                        pending.push(source);
                    }
                }
            }
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
        assert_eq!(log.scene_records().len(), 4, "the live buffer's creation comes with the resources");
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
        // Buffer 1 is cleared, but buffer 0 drew it as it was: both epochs stay (the second
        // behind the fill colour the first left).
        frame(&mut log, id(1), 2.0);
        assert_eq!(draws(&log, id(1)).len(), 7);
        // Buffer 1 destroyed: still drawn by a kept item, so still in the log.
        log.destroy(id(1));
        assert!(log.records().any(|record| *record == CanvasRecord::Create { id: id(1), size: SIZE }));
        assert_eq!(
            log.scene_records().iter().filter(|record| matches!(record, CanvasRecord::Create { .. })).count(),
            1,
            "a scene creates the destroyed buffer itself"
        );
        // Buffer 0 clears all: its draw of buffer 1 goes, and buffer 1 with it.
        frame(&mut log, id(0), 3.0);
        assert_eq!(draws(&log, id(1)), []);
        assert!(
            !log.records().any(
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
        assert_eq!(log.records().count(), 0);
    }

    #[test]
    fn a_sprite_redrawn_and_drawn_every_frame_keeps_one_frame() {
        // The double-buffering pattern: an offscreen canvas redrawn each frame, then drawn
        // into the visible one, which was cleared first.
        let (visible, sprite) = (id(0), id(1));
        let mut log = CanvasLog::default();
        log.create(visible, SIZE);
        log.create(sprite, SIZE);
        let mut sizes = Vec::new();
        for at in 0..50 {
            frame(&mut log, sprite, at as f32);
            log.draw(visible, &CanvasItem::ClearRect(rect(0.0, 0.0, 200.0, 100.0)));
            log.draw(
                visible,
                &CanvasItem::DrawImage {
                    source: CanvasImageSource::Buffer(sprite),
                    rect: rect(5.0, 5.0, 50.0, 50.0),
                },
            );
            sizes.push(log.records().count());
        }
        // Two creations, the sprite's last epoch (a prologue and three items), the visible
        // canvas's clear and draw.
        assert_eq!(sizes[2..], [8; 48], "{sizes:?}");
    }

    /// What a buffer's pixels come from, as far as canvas items tell: the marks drawn since
    /// it was last wholly cleared, each with the whole drawing state it was drawn with (an
    /// image of another buffer is that buffer's marks then). Two histories that leave the
    /// same marks leave the same pixels.
    #[derive(Default)]
    struct Model {
        buffers: BTreeMap<ImageBufferId, (DeviceIntSize, String, Vec<String>)>,
        contexts: BTreeMap<ImageBufferId, CanvasContext>,
    }

    impl Model {
        fn apply(&mut self, record: &CanvasRecord) {
            match record {
                CanvasRecord::Create { id, size } => {
                    self.buffers.insert(*id, (*size, String::new(), Vec::new()));
                    self.contexts.insert(*id, CanvasContext::default());
                }
                CanvasRecord::Destroy(id) => {
                    self.buffers.remove(id);
                    self.contexts.remove(id);
                }
                CanvasRecord::Draw { buffer, item } => {
                    let image = match item {
                        CanvasItem::DrawImage { source: CanvasImageSource::Buffer(source), .. }
                            if source != buffer =>
                        {
                            Some(self.buffers[source].2.join(", "))
                        }
                        _ => None,
                    };
                    let context = self.contexts.get_mut(buffer).expect("drawn buffers exist");
                    let (size, state, marks) = self.buffers.get_mut(buffer).expect("drawn buffers exist");
                    if !context.apply(item) {
                        let drawn = context.state;
                        match item {
                            CanvasItem::ClearRect(rect)
                                if finite_rect(rect) && {
                                    let cleared = drawn.rect(rect);
                                    cleared.min_x() <= 0.0
                                        && cleared.min_y() <= 0.0
                                        && cleared.max_x() >= size.width as f32
                                        && cleared.max_y() >= size.height as f32
                                } =>
                            {
                                marks.clear()
                            }
                            CanvasItem::DrawImage { source: CanvasImageSource::Buffer(source), .. }
                                if source == buffer => {}
                            _ => {
                                marks.push(format!("{item:?} with {drawn:?} [{}]", image.unwrap_or_default()))
                            }
                        }
                    }
                    *state = format!("{:?} saved {}", context.state, context.saved());
                }
            }
        }
    }

    /// A small deterministic generator (xorshift64).
    struct Random(u64);

    impl Random {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// A random canvas item for `buffer`, drawing only buffers that exist (the GPU process
    /// ends a stream that draws a missing one).
    fn random_item(random: &mut Random, buffer: ImageBufferId, model: &Model) -> CanvasItem {
        let colours = [ColorF::new(1.0, 0.0, 0.0, 1.0), ColorF::new(0.0, 0.0, 1.0, 0.5), ColorF::BLACK];
        let at = random.below(60) as f32 - 10.0;
        match random.below(16) {
            0 => CanvasItem::SetFillColor(colours[random.below(3) as usize]),
            1 => CanvasItem::SetStrokeColor(colours[random.below(3) as usize]),
            2 => CanvasItem::SetLineWidth([1.0, 3.0, -1.0][random.below(3) as usize]),
            3 if model.contexts[&buffer].saved() < 4 => CanvasItem::Save,
            3 | 4 => CanvasItem::Restore,
            5 => CanvasItem::Translate { x: at / 4.0, y: 0.0 },
            6 => CanvasItem::Scale { x: [2.0, 0.5][random.below(2) as usize], y: 1.0 },
            7 | 8 => CanvasItem::FillRect(rect(at, at, 20.0, 10.0)),
            9 => CanvasItem::StrokeRect(rect(at, 5.0, 20.0, 10.0)),
            10 => CanvasItem::ClearRect(rect(at, 0.0, 30.0, 30.0)),
            11 => CanvasItem::ClearRect(rect(f32::NAN, 0.0, 300.0, 300.0)),
            12 | 13 => CanvasItem::ClearRect(rect(-5.0, -5.0, 300.0, 300.0)),
            _ => {
                let sources: Vec<_> = model.buffers.keys().copied().collect();
                let source = sources[random.below(sources.len() as u64) as usize];
                CanvasItem::DrawImage {
                    source: CanvasImageSource::Buffer(source),
                    rect: rect(at, 0.0, 9.0, 9.0),
                }
            }
        }
    }

    #[test]
    fn replaying_the_log_as_a_scene_leaves_what_the_whole_stream_left() {
        let sizes = [SIZE, DeviceIntSize::new(50, 50)];
        for seed in 1..=200u64 {
            let mut random = Random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let (mut log, mut stream) = (CanvasLog::default(), Model::default());
            for step in 0..250 {
                let record = match random.below(20) {
                    0 | 1 => {
                        let buffer = id(random.below(4) as u32);
                        if stream.buffers.contains_key(&buffer) {
                            continue;
                        }
                        CanvasRecord::Create { id: buffer, size: sizes[random.below(2) as usize] }
                    }
                    2 if !stream.buffers.is_empty() => {
                        let live: Vec<_> = stream.buffers.keys().copied().collect();
                        CanvasRecord::Destroy(live[random.below(live.len() as u64) as usize])
                    }
                    _ if !stream.buffers.is_empty() => {
                        let live: Vec<_> = stream.buffers.keys().copied().collect();
                        let buffer = live[random.below(live.len() as u64) as usize];
                        CanvasRecord::Draw { buffer, item: random_item(&mut random, buffer, &stream) }
                    }
                    _ => continue,
                };
                stream.apply(&record);
                match &record {
                    CanvasRecord::Create { id, size } => log.create(*id, *size),
                    CanvasRecord::Destroy(id) => log.destroy(*id),
                    CanvasRecord::Draw { buffer, item } => log.draw(*buffer, item),
                }
                // A scene: the live buffers with the resources, then the log's records.
                let mut scene = Model::default();
                for (id, (size, ..)) in &stream.buffers {
                    scene.apply(&CanvasRecord::Create { id: *id, size: *size });
                }
                for record in &log.scene_records() {
                    scene.apply(record);
                }
                assert_eq!(scene.buffers, stream.buffers, "seed {seed}, step {step}, after {record:?}");
            }
        }
    }
}
