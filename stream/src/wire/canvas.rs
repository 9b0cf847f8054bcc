//! Canvas drawing items in a fixed layout (WebKit's stream encoder: plain little-endian
//! words, no varints, no tags to walk), the stream's hot path. A serde round trip costs an
//! allocation and a walk per field; these are a handful of loads, and the decoder checks each
//! record's length against its op before reading anything.
//!
//! ```text
//! op u32 | buffer namespace u32 | buffer index u32 | operands (per op, below)
//! ```
//! | op | operands |
//! |---|---|
//! | 1 SetFillColor, 2 SetStrokeColor | r g b a: f32 ×4 |
//! | 3 SetLineWidth | f32 |
//! | 4 Save, 5 Restore | — |
//! | 6 Translate, 7 Scale | x y: f32 ×2 |
//! | 8 FillRect, 9 StrokeRect, 10 ClearRect | x y width height: f32 ×4 |
//! | 11 FillText | font namespace u32, font index u32, size f32, origin x y f32 ×2, then glyphs: (index u32, x f32, y f32) × n |
//! | 12 DrawImage | source kind u32 (1 image, 2 buffer), namespace u32, index u32, rect f32 ×4 |
//!
//! Values are not judged here (a NaN width is the renderer's business, an unknown buffer the
//! backend's); only the shape of the bytes is.

use armature_api::messages::ContentToGpu;
use armature_api::{
    CanvasImageSource, CanvasItem, ColorF, FontKey, GlyphInstance, IdNamespace, ImageBufferId, ImageKey,
    LayoutPoint, LayoutRect, LayoutSize,
};

use super::WireError;

/// Bytes before the operands: op, buffer namespace, buffer index.
const HEAD: usize = 12;
/// Bytes of one glyph: index, x, y.
const GLYPH: usize = 12;
/// Bytes of `FillText`'s operands before its glyphs.
const TEXT_HEAD: usize = 20;

const SET_FILL_COLOR: u32 = 1;
const SET_STROKE_COLOR: u32 = 2;
const SET_LINE_WIDTH: u32 = 3;
const SAVE: u32 = 4;
const RESTORE: u32 = 5;
const TRANSLATE: u32 = 6;
const SCALE: u32 = 7;
const FILL_RECT: u32 = 8;
const STROKE_RECT: u32 = 9;
const CLEAR_RECT: u32 = 10;
const FILL_TEXT: u32 = 11;
const DRAW_IMAGE: u32 = 12;

/// The encoder's panic message (its caller sized the buffer wrongly).
const WRONG_LENGTH: &str = "a canvas record's buffer must be encoded_len long";

const SOURCE_IMAGE: u32 = 1;
const SOURCE_BUFFER: u32 = 2;

/// The length of `item`'s record: what [`encode_into`] needs.
pub fn encoded_len(item: &CanvasItem) -> usize {
    HEAD + match item {
        CanvasItem::FillText { glyphs, .. } => TEXT_HEAD + glyphs.len() * GLYPH,
        _ => fixed_operands(op(item)).unwrap_or(0),
    }
}

/// `item`'s operation.
#[inline(always)]
fn op(item: &CanvasItem) -> u32 {
    match item {
        CanvasItem::SetFillColor(_) => SET_FILL_COLOR,
        CanvasItem::SetStrokeColor(_) => SET_STROKE_COLOR,
        CanvasItem::SetLineWidth(_) => SET_LINE_WIDTH,
        CanvasItem::Save => SAVE,
        CanvasItem::Restore => RESTORE,
        CanvasItem::Translate { .. } => TRANSLATE,
        CanvasItem::Scale { .. } => SCALE,
        CanvasItem::FillRect(_) => FILL_RECT,
        CanvasItem::StrokeRect(_) => STROKE_RECT,
        CanvasItem::ClearRect(_) => CLEAR_RECT,
        CanvasItem::FillText { .. } => FILL_TEXT,
        CanvasItem::DrawImage { .. } => DRAW_IMAGE,
    }
}

/// The operand bytes of a fixed-size operation; `None` for `FillText` (it grows with its
/// glyphs) and for numbers that are no operation.
fn fixed_operands(op: u32) -> Option<usize> {
    match op {
        SET_FILL_COLOR | SET_STROKE_COLOR => Some(16),
        SET_LINE_WIDTH => Some(4),
        SAVE | RESTORE => Some(0),
        TRANSLATE | SCALE => Some(8),
        FILL_RECT | STROKE_RECT | CLEAR_RECT => Some(16),
        DRAW_IMAGE => Some(28),
        _ => None,
    }
}

/// Replaces `out` with `buffer`'s `item`.
pub fn encode(buffer: ImageBufferId, item: &CanvasItem, out: &mut Vec<u8>) {
    out.clear();
    out.resize(encoded_len(item), 0);
    encode_into(buffer, item, out);
}

/// Writes `buffer`'s `item` into `out`, which is [`encoded_len`] bytes long: the stream
/// client encodes straight into the ring this way. Each operand list is one fixed-size
/// array and each glyph one 12-byte chunk, so the compiler emits plain stores (this runs
/// once per drawing call a script makes).
///
/// # Panics
/// If `out` has another length (the caller's bug; the bytes are ours, not a peer's).
#[inline]
pub fn encode_into(buffer: ImageBufferId, item: &CanvasItem, out: &mut [u8]) {
    let (head, operands) = out.split_first_chunk_mut::<HEAD>().expect(WRONG_LENGTH);
    put(head, [op(item), buffer.0.0, buffer.1]);
    match item {
        CanvasItem::SetFillColor(color) | CanvasItem::SetStrokeColor(color) => {
            put(operands, [color.r, color.g, color.b, color.a].map(f32::to_bits));
        }
        CanvasItem::SetLineWidth(width) => put(operands, [width.to_bits()]),
        CanvasItem::Save | CanvasItem::Restore => put::<0>(operands, []),
        CanvasItem::Translate { x, y } | CanvasItem::Scale { x, y } => {
            put(operands, [x.to_bits(), y.to_bits()]);
        }
        CanvasItem::FillRect(rect) | CanvasItem::StrokeRect(rect) | CanvasItem::ClearRect(rect) => {
            put(operands, rect_words(rect));
        }
        CanvasItem::FillText { font, size, origin, glyphs } => {
            let (text_head, glyph_bytes) = operands.split_first_chunk_mut::<TEXT_HEAD>().expect(WRONG_LENGTH);
            put(text_head, [font.0.0, font.1, size.to_bits(), origin.x.to_bits(), origin.y.to_bits()]);
            assert!(glyph_bytes.len() == glyphs.len() * GLYPH, "{WRONG_LENGTH}");
            if cfg!(target_endian = "little") {
                // The glyphs' own bytes are their words (see `GlyphInstance`): one copy.
                glyph_bytes.copy_from_slice(bytemuck::cast_slice(glyphs));
            } else {
                for (chunk, glyph) in glyph_bytes.as_chunks_mut::<GLYPH>().0.iter_mut().zip(glyphs) {
                    put(chunk, [glyph.index, glyph.point.x.to_bits(), glyph.point.y.to_bits()]);
                }
            }
        }
        CanvasItem::DrawImage { source, rect } => {
            let (kind, namespace, index) = match source {
                CanvasImageSource::Image(ImageKey(namespace, index)) => (SOURCE_IMAGE, namespace, index),
                CanvasImageSource::Buffer(ImageBufferId(namespace, index)) => {
                    (SOURCE_BUFFER, namespace, index)
                }
            };
            let [x, y, width, height] = rect_words(rect);
            put(operands, [kind, namespace.0, *index, x, y, width, height]);
        }
    }
}

/// Writes `N` little-endian words over all of `out`.
///
/// # Panics
/// If `out` is not `4 * N` bytes long (the encoder's bug).
#[inline(always)]
fn put<const N: usize>(out: &mut [u8], values: [u32; N]) {
    let (words, rest) = out.as_chunks_mut::<4>();
    assert!(rest.is_empty() && words.len() == N, "{WRONG_LENGTH}");
    for (word, value) in words.iter_mut().zip(values) {
        *word = value.to_le_bytes();
    }
}

#[inline(always)]
fn rect_words(rect: &LayoutRect) -> [u32; 4] {
    [rect.origin.x, rect.origin.y, rect.size.width, rect.size.height].map(f32::to_bits)
}

/// Decodes one record written by [`encode`]; any other shape is a [`WireError`].
pub fn decode(bytes: &[u8]) -> Result<ContentToGpu, WireError> {
    decode_with(bytes, |item| item)
}

/// Decodes one record written by [`encode`] and hands the item to `emit` (a batch's
/// `Vec::push`): each operation builds its item where `emit` puts it, not in a temporary
/// that is then copied (a 64-byte copy through the stack that stalled the stream's reader
/// on every record).
#[inline(always)]
pub fn decode_with<R>(bytes: &[u8], emit: impl FnOnce(ContentToGpu) -> R) -> Result<R, WireError> {
    let (op, buffer, operands) = shape(bytes)?;
    let floats = |bytes| Ok::<_, WireError>(words::<4>(bytes)?.map(f32::from_bits));
    let rect = |[x, y, width, height]: [f32; 4]| {
        LayoutRect::new(LayoutPoint::new(x, y), LayoutSize::new(width, height))
    };
    let emit = |item| Ok(emit(ContentToGpu::DrawToImageBuffer { buffer, item }));
    match op {
        SET_FILL_COLOR | SET_STROKE_COLOR => {
            let [r, g, b, a] = floats(operands)?;
            let color = ColorF { r, g, b, a };
            if op == SET_FILL_COLOR {
                emit(CanvasItem::SetFillColor(color))
            } else {
                emit(CanvasItem::SetStrokeColor(color))
            }
        }
        SET_LINE_WIDTH => {
            let [width] = words(operands)?;
            emit(CanvasItem::SetLineWidth(f32::from_bits(width)))
        }
        SAVE => emit(CanvasItem::Save),
        RESTORE => emit(CanvasItem::Restore),
        TRANSLATE | SCALE => {
            let [x, y] = words(operands)?.map(f32::from_bits);
            if op == TRANSLATE {
                emit(CanvasItem::Translate { x, y })
            } else {
                emit(CanvasItem::Scale { x, y })
            }
        }
        FILL_RECT => emit(CanvasItem::FillRect(rect(floats(operands)?))),
        STROKE_RECT => emit(CanvasItem::StrokeRect(rect(floats(operands)?))),
        CLEAR_RECT => emit(CanvasItem::ClearRect(rect(floats(operands)?))),
        FILL_TEXT => {
            let (text_head, glyph_bytes) =
                operands.split_first_chunk::<TEXT_HEAD>().ok_or(WireError::CanvasTruncated)?;
            let [font_namespace, font_index, size, x, y] = words(text_head)?;
            // Whole glyphs only: the length check above left no remainder.
            let aligned = bytemuck::try_cast_slice::<u8, GlyphInstance>(glyph_bytes);
            let glyphs = if let (true, Ok(glyphs)) = (cfg!(target_endian = "little"), aligned) {
                // Any bytes are a glyph (see `GlyphInstance`), and the reader's records are
                // 8-aligned, so the glyphs are aligned too: one copy.
                glyphs.to_vec()
            } else {
                glyph_bytes
                    .as_chunks::<GLYPH>()
                    .0
                    .iter()
                    .map(|glyph| {
                        let [index, x, y] = split_words(glyph);
                        GlyphInstance { index, point: LayoutPoint::new(f32::from_bits(x), f32::from_bits(y)) }
                    })
                    .collect()
            };
            emit(CanvasItem::FillText {
                font: FontKey(IdNamespace(font_namespace), font_index),
                size: f32::from_bits(size),
                origin: LayoutPoint::new(f32::from_bits(x), f32::from_bits(y)),
                glyphs,
            })
        }
        DRAW_IMAGE => {
            let [kind, namespace, index, x, y, width, height] = words(operands)?;
            let source = match kind {
                SOURCE_IMAGE => CanvasImageSource::Image(ImageKey(IdNamespace(namespace), index)),
                SOURCE_BUFFER => CanvasImageSource::Buffer(ImageBufferId(IdNamespace(namespace), index)),
                _ => return Err(WireError::UnknownImageSource(kind)),
            };
            emit(CanvasItem::DrawImage { source, rect: rect([x, y, width, height].map(f32::from_bits)) })
        }
        _ => Err(WireError::UnknownCanvasOp(op)),
    }
}

/// Checks that `bytes` have the shape of a record written by [`encode`] (a known operation,
/// exactly its length, a known image source) without building the item: what a reader that
/// replays records in place would check as it reads them. The stream bench's ceiling row
/// uses it.
#[inline(always)]
pub fn check(bytes: &[u8]) -> Result<(), WireError> {
    let (op, _, operands) = shape(bytes)?;
    if op == DRAW_IMAGE {
        let [kind] = words(operands)?;
        if !matches!(kind, SOURCE_IMAGE | SOURCE_BUFFER) {
            return Err(WireError::UnknownImageSource(kind));
        }
    }
    Ok(())
}

/// A record's operation, buffer and operands, once its operation is known and its length
/// fits that operation exactly (so a short or padded record is named as such).
#[inline(always)]
fn shape(bytes: &[u8]) -> Result<(u32, ImageBufferId, &[u8]), WireError> {
    let (head, operands) = bytes.split_first_chunk::<HEAD>().ok_or(WireError::CanvasTruncated)?;
    let [op, namespace, index] = words(head)?;
    let well_sized = match (op, fixed_operands(op)) {
        (FILL_TEXT, _) => operands.len() >= TEXT_HEAD && (operands.len() - TEXT_HEAD).is_multiple_of(GLYPH),
        (_, Some(len)) => operands.len() == len,
        (_, None) => return Err(WireError::UnknownCanvasOp(op)),
    };
    if !well_sized {
        return Err(WireError::CanvasLength { op, len: bytes.len() });
    }
    Ok((op, ImageBufferId(IdNamespace(namespace), index), operands))
}

/// The first `N` little-endian words of untrusted `bytes`.
#[inline(always)]
fn words<const N: usize>(bytes: &[u8]) -> Result<[u32; N], WireError> {
    let words = bytes.as_chunks::<4>().0.get(..N).ok_or(WireError::CanvasTruncated)?;
    Ok(std::array::from_fn(|at| u32::from_le_bytes(words[at])))
}

/// A glyph's three words (a 12-byte chunk, so this cannot fail).
#[inline(always)]
fn split_words(glyph: &[u8; GLYPH]) -> [u32; 3] {
    let word = |at: usize| u32::from_le_bytes([glyph[at], glyph[at + 1], glyph[at + 2], glyph[at + 3]]);
    [word(0), word(4), word(8)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer() -> ImageBufferId {
        ImageBufferId(IdNamespace(3), 7)
    }

    fn every_item() -> Vec<CanvasItem> {
        let rect = LayoutRect::new(LayoutPoint::new(1.5, -2.0), LayoutSize::new(30.0, 40.25));
        vec![
            CanvasItem::SetFillColor(ColorF { r: 0.1, g: 0.2, b: 0.3, a: 0.4 }),
            CanvasItem::SetStrokeColor(ColorF { r: 1.0, g: 0.0, b: 0.5, a: 1.0 }),
            CanvasItem::SetLineWidth(2.5),
            CanvasItem::Save,
            CanvasItem::Restore,
            CanvasItem::Translate { x: 3.0, y: -4.0 },
            CanvasItem::Scale { x: 2.0, y: 0.5 },
            CanvasItem::FillRect(rect),
            CanvasItem::StrokeRect(rect),
            CanvasItem::ClearRect(rect),
            CanvasItem::FillText {
                font: FontKey(IdNamespace(3), 1),
                size: 16.0,
                origin: LayoutPoint::new(5.0, 20.0),
                glyphs: (0..5)
                    .map(|index| GlyphInstance {
                        index: 40 + index,
                        point: LayoutPoint::new(index as f32 * 9.0, 0.0),
                    })
                    .collect(),
            },
            CanvasItem::FillText {
                font: FontKey(IdNamespace(3), 1),
                size: 12.0,
                origin: LayoutPoint::new(0.0, 0.0),
                glyphs: Vec::new(),
            },
            CanvasItem::DrawImage { source: CanvasImageSource::Image(ImageKey(IdNamespace(3), 2)), rect },
            CanvasItem::DrawImage {
                source: CanvasImageSource::Buffer(ImageBufferId(IdNamespace(3), 9)),
                rect,
            },
        ]
    }

    #[test]
    fn every_item_round_trips() {
        let mut bytes = Vec::new();
        for item in every_item() {
            encode(buffer(), &item, &mut bytes);
            let Ok(ContentToGpu::DrawToImageBuffer { buffer: decoded_buffer, item: decoded }) =
                decode(&bytes)
            else {
                panic!("{item:?} does not decode to a canvas item");
            };
            assert_eq!((decoded_buffer, decoded), (buffer(), item));
        }
    }

    #[test]
    fn glyphs_decode_the_same_from_any_alignment() {
        let mut bytes = Vec::new();
        for item in every_item() {
            encode(buffer(), &item, &mut bytes);
            // One byte in, the glyphs are not 4-aligned: the word-by-word path decodes them.
            let mut shifted = vec![0u8];
            shifted.extend_from_slice(&bytes);
            let Ok(ContentToGpu::DrawToImageBuffer { item: decoded, .. }) = decode(&shifted[1..]) else {
                panic!("{item:?} does not decode one byte in");
            };
            assert_eq!(decoded, item);
        }
    }

    #[test]
    fn every_cut_and_extension_is_refused_by_name() {
        let mut bytes = Vec::new();
        for item in every_item() {
            encode(buffer(), &item, &mut bytes);
            for len in 0..bytes.len() {
                let cut = decode(&bytes[..len]);
                // A text record cut at a glyph boundary is a shorter text run, still well formed.
                let text_boundary = matches!(item, CanvasItem::FillText { .. })
                    && len >= HEAD + TEXT_HEAD
                    && (len - HEAD - TEXT_HEAD).is_multiple_of(GLYPH);
                if !text_boundary {
                    assert!(
                        matches!(cut, Err(WireError::CanvasLength { .. } | WireError::CanvasTruncated)),
                        "{item:?} cut to {len} bytes: {cut:?}"
                    );
                }
            }
            let mut longer = bytes.clone();
            longer.extend_from_slice(&[0; 4]);
            assert!(matches!(decode(&longer), Err(WireError::CanvasLength { .. })), "{item:?} padded");
        }
    }

    #[test]
    fn check_accepts_and_refuses_what_decode_does() {
        let mut bytes = Vec::new();
        for item in every_item() {
            encode(buffer(), &item, &mut bytes);
            for len in 0..=bytes.len() {
                assert_eq!(check(&bytes[..len]), decode(&bytes[..len]).map(drop), "{item:?} cut to {len}");
            }
        }
        let words = |values: &[u32]| values.iter().flat_map(|value| value.to_le_bytes()).collect::<Vec<u8>>();
        let hostile = words(&[DRAW_IMAGE, 1, 1, 5, 1, 1, 0, 0, 0, 0]);
        assert_eq!(check(&hostile), Err(WireError::UnknownImageSource(5)));
        assert_eq!(check(&words(&[99, 1, 1])), Err(WireError::UnknownCanvasOp(99)));
    }

    #[test]
    fn unknown_ops_and_sources_are_named() {
        let words = |values: &[u32]| values.iter().flat_map(|value| value.to_le_bytes()).collect::<Vec<u8>>();
        assert_eq!(decode(&words(&[0, 1, 1])).err(), Some(WireError::UnknownCanvasOp(0)));
        assert_eq!(decode(&words(&[99, 1, 1])).err(), Some(WireError::UnknownCanvasOp(99)));
        assert_eq!(
            decode(&words(&[DRAW_IMAGE, 1, 1, 5, 1, 1, 0, 0, 0, 0])).err(),
            Some(WireError::UnknownImageSource(5))
        );
    }
}
