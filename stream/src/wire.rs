//! Items on the wire, and the rules for what may go inline. Two encodings, told apart by the
//! record's kind: canvas drawing, the bulk of a busy stream, in [`canvas`]'s fixed layout;
//! everything else (resources, display lists, presents) in postcard, the compact serde
//! format ipc-channel uses itself. Decoding is the GPU process's first contact with
//! untrusted bytes: it is bounded by the input (postcard never preallocates more than the
//! bytes can hold; the canvas layout checks lengths first) and refuses trailing garbage.

pub mod canvas;

use armature_api::ResourceUpdate;
use armature_api::messages::ContentToGpu;

use crate::ring::RecordKind;

/// The largest out-of-line encoded item the server accepts.
pub const MAX_OUT_OF_LINE: usize = 256 << 20;

/// Why bytes are not an item.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// The bytes do not decode.
    #[error("undecodable item ({0})")]
    Undecodable(String),
    /// An item decoded, but bytes are left over.
    #[error("{0} bytes of garbage after an item")]
    Trailing(usize),
    /// An item that must travel out of line (it carries shared memory) came inline.
    #[error("an image upload came inline; it must travel out of line")]
    AttachmentInline,
    /// A canvas record names an operation there is none of.
    #[error("unknown canvas operation {0}")]
    UnknownCanvasOp(u32),
    /// A canvas record's length does not fit its operation.
    #[error("canvas record of {len} bytes does not fit operation {op}")]
    CanvasLength {
        /// The operation.
        op: u32,
        /// The record's payload length.
        len: usize,
    },
    /// A canvas record ends before its operation and buffer.
    #[error("canvas record shorter than its header")]
    CanvasTruncated,
    /// A canvas `DrawImage` names a kind of source there is none of.
    #[error("unknown canvas image source kind {0}")]
    UnknownImageSource(u32),
}

/// Decodes an inline record of `kind` (`Inline` or `Canvas`).
#[inline]
pub fn decode_record(kind: RecordKind, bytes: &[u8]) -> Result<ContentToGpu, WireError> {
    match kind {
        RecordKind::Canvas => canvas::decode(bytes),
        _ => decode(bytes),
    }
}

/// Encodes an item in postcard, using `scratch` (kept at least 64 KiB long, so
/// small items are written straight into it by postcard's slice flavour, the fast one; a
/// larger item grows it). Returns the encoded bytes.
pub fn encode<'a>(command: &ContentToGpu, scratch: &'a mut Vec<u8>) -> Result<&'a [u8], WireError> {
    debug_assert!(!has_attachments(command), "items with shared memory go out of line");
    const SLAB: usize = 64 * 1024;
    if scratch.len() < SLAB {
        scratch.resize(SLAB, 0);
    }
    let len = match postcard::to_slice(command, scratch) {
        Ok(written) => written.len(),
        Err(postcard::Error::SerializeBufferFull) => {
            let bytes =
                postcard::to_stdvec(command).map_err(|error| WireError::Undecodable(error.to_string()))?;
            let len = bytes.len();
            *scratch = bytes;
            len
        }
        Err(error) => return Err(WireError::Undecodable(error.to_string())),
    };
    Ok(&scratch[..len])
}

/// Decodes a postcard item (an `Inline` record, or an out-of-line encoded item).
pub fn decode(bytes: &[u8]) -> Result<ContentToGpu, WireError> {
    let (command, rest) = postcard::take_from_bytes::<ContentToGpu>(bytes)
        .map_err(|error| WireError::Undecodable(error.to_string()))?;
    if !rest.is_empty() {
        return Err(WireError::Trailing(rest.len()));
    }
    if has_attachments(&command) {
        return Err(WireError::AttachmentInline);
    }
    Ok(command)
}

/// Whether an item carries shared memory (an image upload), which only a message can.
pub fn has_attachments(command: &ContentToGpu) -> bool {
    match command {
        ContentToGpu::UpdateResources(updates) => {
            updates.iter().any(|update| matches!(update, ResourceUpdate::AddImage { .. }))
        }
        _ => false,
    }
}
