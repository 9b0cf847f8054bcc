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
/// Most shared-memory regions one out-of-line message carries. ipc-channel passes each as a
/// file descriptor and panics on more than 64 in one message (its `MAX_FDS_IN_CMSG`): a
/// page with 65 images would take its content process down with it.
pub const MAX_ATTACHMENTS: usize = 32;

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

/// `command` as items that carry at most [`MAX_ATTACHMENTS`] shared-memory regions each,
/// in order: a resource update with more images is cut into several, each with at least one
/// image (resources take effect in stream order, so the cut changes nothing the GPU process
/// does). Any other item is itself.
pub fn split_attachments(command: ContentToGpu) -> Vec<ContentToGpu> {
    let ContentToGpu::UpdateResources(updates) = command else { return vec![command] };
    let mut parts = Vec::new();
    let (mut part, mut images) = (Vec::new(), 0);
    for update in updates {
        if matches!(update, ResourceUpdate::AddImage { .. }) {
            if images == MAX_ATTACHMENTS {
                parts.push(ContentToGpu::UpdateResources(std::mem::take(&mut part)));
                images = 0;
            }
            images += 1;
        }
        part.push(update);
    }
    parts.push(ContentToGpu::UpdateResources(part));
    parts
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

#[cfg(test)]
mod tests {
    use armature_api::{DeviceIntSize, IdNamespace, ImageBufferId, ImageKey};
    use ipc_channel::ipc::IpcSharedMemory;

    use super::*;

    fn image(index: u32) -> ResourceUpdate {
        ResourceUpdate::AddImage {
            key: ImageKey(IdNamespace(1), index),
            size: DeviceIntSize::new(1, 1),
            rgba: IpcSharedMemory::from_bytes(&[0; 4]),
        }
    }

    fn shape(parts: &[ContentToGpu]) -> Vec<Vec<String>> {
        parts
            .iter()
            .map(|part| match part {
                ContentToGpu::UpdateResources(updates) => updates
                    .iter()
                    .map(|update| match update {
                        ResourceUpdate::AddImage { key, .. } => format!("i{}", key.1),
                        ResourceUpdate::CreateImageBuffer { id, .. } => format!("b{}", id.1),
                        other => format!("{other:?}"),
                    })
                    .collect(),
                other => vec![format!("{other:?}")],
            })
            .collect()
    }

    #[test]
    fn resource_updates_are_cut_into_parts_of_at_most_max_attachments_images_in_order() {
        let buffer = |index| ResourceUpdate::CreateImageBuffer {
            id: ImageBufferId(IdNamespace(1), index),
            size: DeviceIntSize::new(1, 1),
        };
        let mut updates = vec![buffer(0)];
        updates.extend((0..2 * MAX_ATTACHMENTS as u32 + 1).map(image));
        updates.push(buffer(1));
        let parts = split_attachments(ContentToGpu::UpdateResources(updates));
        let shape = shape(&parts);
        assert_eq!(shape.len(), 3, "{shape:?}");
        let images = |part: &Vec<String>| part.iter().filter(|name| name.starts_with('i')).count();
        assert_eq!(shape.iter().map(images).collect::<Vec<_>>(), [MAX_ATTACHMENTS, MAX_ATTACHMENTS, 1]);
        let flat: Vec<String> = shape.concat();
        let mut expected = vec!["b0".to_owned()];
        expected.extend((0..2 * MAX_ATTACHMENTS + 1).map(|index| format!("i{index}")));
        expected.push("b1".to_owned());
        assert_eq!(flat, expected, "nothing lost or moved");
        // Within the limit, or with no images, an item is itself.
        assert_eq!(split_attachments(ContentToGpu::UpdateResources(vec![image(0), buffer(2)])).len(), 1);
        assert_eq!(split_attachments(ContentToGpu::Present(armature_api::Epoch(1))).len(), 1);
    }
}
