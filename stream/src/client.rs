//! The content process's end of the stream (WebKit's StreamClientConnection).

use std::collections::VecDeque;

use armature_api::messages::{ContentToGpu, GpuToContent, OutOfLineItem, StreamClientEnd};
use armature_api::{CanvasItem, ImageBufferId};
use crossbeam_channel::{Receiver, TryRecvError};
use ipc_channel::ipc::{IpcSender, IpcSharedMemory};

use crate::ring::{RecordKind, RingStats, RingWriter, WriteError};
use crate::shm::{RingSetupError, SharedRing};
use crate::wire::{self, canvas};

/// Why the client could not send.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The GPU process went away (the launcher relaunches it and reconnects us).
    #[error("the GPU process is gone")]
    GpuGone,
    /// The ring handed to us is unusable.
    #[error(transparent)]
    Setup(#[from] RingSetupError),
    /// An item could not be encoded.
    #[error("cannot encode a stream item: {0}")]
    Encode(String),
}

/// Writes items into the ring, in order; large items and image uploads go out of line
/// with a marker in their place.
pub struct StreamClient {
    writer: RingWriter<SharedRing>,
    out_of_line: IpcSender<OutOfLineItem>,
    /// Replies, read off their channel by a thread of their own: the GPU process must never
    /// block on us.
    replies: Receiver<GpuToContent>,
    /// Replies read while waiting for space, not yet handed out.
    received: VecDeque<GpuToContent>,
    sequence: u64,
    /// Postcard's slab, reused from item to item (see [`wire::encode`]).
    slab: Vec<u8>,
    gone: bool,
    out_of_line_items: u64,
}

impl StreamClient {
    /// Maps the ring the launcher made and takes the channels beside it.
    pub fn connect(end: StreamClientEnd) -> Result<StreamClient, ClientError> {
        let writer = RingWriter::new(SharedRing::map(end.ring)?);
        let (forward, replies) = crossbeam_channel::unbounded();
        let from_gpu = end.replies;
        std::thread::Builder::new()
            .name("gpu-replies".into())
            .spawn(move || {
                // Ends when the GPU process's end closes (it died) or we drop `replies`.
                while let Ok(reply) = from_gpu.recv() {
                    if forward.send(reply).is_err() {
                        return;
                    }
                }
            })
            .map_err(|error| ClientError::Encode(format!("cannot start the replies thread: {error}")))?;
        Ok(StreamClient {
            writer,
            out_of_line: end.out_of_line,
            replies,
            received: VecDeque::new(),
            sequence: 0,
            slab: Vec::new(),
            gone: false,
            out_of_line_items: 0,
        })
    }

    /// Appends an item to the stream. It reaches the GPU process at the next
    /// [`flush`](Self::flush) at the latest; a full ring makes this wait (nothing is dropped).
    pub fn send(&mut self, command: ContentToGpu) -> Result<(), ClientError> {
        if self.gone {
            return Err(ClientError::GpuGone);
        }
        if wire::has_attachments(&command) {
            for command in wire::split_attachments(command) {
                self.send_out_of_line(|sequence| OutOfLineItem::Message { sequence, command })?;
            }
            return Ok(());
        }
        if let ContentToGpu::DrawToImageBuffer { buffer, item } = &command {
            return self.draw(*buffer, item);
        }
        let encoded =
            wire::encode(&command, &mut self.slab).map_err(|error| ClientError::Encode(error.to_string()))?;
        if encoded.len() > self.writer.max_payload() {
            return self.send_encoded_out_of_line(&command);
        }
        let (replies, received) = (&self.replies, &mut self.received);
        let written = self.writer.write(RecordKind::Inline, encoded, &mut || gpu_alive(replies, received));
        self.written(written)
    }

    /// Appends a canvas drawing item for `buffer`, the bulk of a busy stream: encoded from
    /// the caller's item straight into the ring (only an item too large for the ring is
    /// copied, to go out of line). As for [`send`](Self::send) otherwise.
    pub fn draw(&mut self, buffer: ImageBufferId, item: &CanvasItem) -> Result<(), ClientError> {
        if self.gone {
            return Err(ClientError::GpuGone);
        }
        let len = canvas::encoded_len(item);
        if len > self.writer.max_payload() {
            let command = ContentToGpu::DrawToImageBuffer { buffer, item: item.clone() };
            return self.send_encoded_out_of_line(&command);
        }
        let (replies, received) = (&self.replies, &mut self.received);
        let written = self.writer.write_with(
            RecordKind::Canvas,
            len,
            |out| canvas::encode_into(buffer, item, out),
            &mut || gpu_alive(replies, received),
        );
        self.written(written)
    }

    /// Sends an item too large for the ring out of line, in postcard whatever its inline
    /// encoding (a huge text run is rare; one encoding there keeps the marker protocol simple).
    fn send_encoded_out_of_line(&mut self, command: &ContentToGpu) -> Result<(), ClientError> {
        let bytes = postcard::to_stdvec(command).map_err(|error| ClientError::Encode(error.to_string()))?;
        let bytes = IpcSharedMemory::from_bytes(&bytes);
        self.send_out_of_line(|sequence| OutOfLineItem::Encoded { sequence, bytes })
    }

    /// Sends the item beside the ring first, then its marker: when the server reads the
    /// marker the item is already in its socket.
    fn send_out_of_line(&mut self, item: impl FnOnce(u64) -> OutOfLineItem) -> Result<(), ClientError> {
        let sequence = self.sequence;
        self.sequence += 1;
        self.out_of_line_items += 1;
        if self.out_of_line.send(item(sequence)).is_err() {
            self.gone = true;
            return Err(ClientError::GpuGone);
        }
        let (replies, received) = (&self.replies, &mut self.received);
        let written = self
            .writer
            .write(RecordKind::OutOfLine, &sequence.to_le_bytes(), &mut || gpu_alive(replies, received));
        self.written(written)
    }

    fn written(&mut self, written: Result<(), WriteError>) -> Result<(), ClientError> {
        match written {
            Ok(()) => Ok(()),
            Err(WriteError::PeerGone) => {
                self.gone = true;
                Err(ClientError::GpuGone)
            }
            Err(error @ WriteError::TooLarge { .. }) => Err(ClientError::Encode(error.to_string())),
        }
    }

    /// Publishes everything sent so far and wakes the GPU process if it sleeps.
    pub fn flush(&mut self) {
        self.writer.flush();
    }

    /// The GPU process's replies so far (acknowledgements, presented frames).
    pub fn replies(&mut self) -> Vec<GpuToContent> {
        gpu_alive(&self.replies, &mut self.received);
        self.received.drain(..).collect()
    }

    /// Whether the GPU process is known to be gone.
    pub fn is_gone(&self) -> bool {
        self.gone
    }

    /// The ring's counters, and how many items went out of line.
    pub fn stats(&self) -> (RingStats, u64) {
        (self.writer.stats(), self.out_of_line_items)
    }

    /// Test support: the raw ring writer, to send what no well-behaved client would.
    #[doc(hidden)]
    pub fn raw_writer(&mut self) -> &mut RingWriter<SharedRing> {
        &mut self.writer
    }
}

/// Drains the reply channel into `received`; `false` once the GPU process's end is closed.
fn gpu_alive(replies: &Receiver<GpuToContent>, received: &mut VecDeque<GpuToContent>) -> bool {
    loop {
        match replies.try_recv() {
            Ok(reply) => received.push_back(reply),
            Err(TryRecvError::Empty) => return true,
            Err(TryRecvError::Disconnected) => return false,
        }
    }
}
