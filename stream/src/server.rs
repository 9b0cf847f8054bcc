//! The GPU process's end of a stream (WebKit's StreamServerConnection): reads items in order
//! and treats every byte as hostile.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use armature_api::messages::{ContentToGpu, OutOfLineItem, StreamServerEnd};
use ipc_channel::TryRecvError;
use ipc_channel::ipc::IpcReceiver;

use crate::ring::{Record, RecordKind, RingReader, RingStats, RingViolation};
use crate::shm::{RingSetupError, SharedRing};
use crate::wire::{self, MAX_OUT_OF_LINE, WireError};

/// How long a marker's out-of-line item may lag behind it (it is sent first; only a hostile
/// client leaves it out).
const OUT_OF_LINE_WAIT: Duration = Duration::from_secs(2);

/// What was wrong with a stream; the GPU process stops reading it and asks the launcher to
/// terminate the content process.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StreamViolation {
    /// The ring's offsets or records are wrong.
    #[error(transparent)]
    Ring(#[from] RingViolation),
    /// An item's bytes are wrong.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A marker's payload is not a sequence number.
    #[error("out-of-line marker of {0} bytes (expected 8)")]
    BadMarker(usize),
    /// Markers out of order.
    #[error("out-of-line item {got} where {expected} was due")]
    Sequence {
        /// The marker's number.
        got: u64,
        /// The number due.
        expected: u64,
    },
    /// A marker whose item never came.
    #[error("out-of-line item {0} announced but never sent")]
    MissingOutOfLine(u64),
    /// An out-of-line item larger than allowed.
    #[error("out-of-line item of {len} bytes (at most {MAX_OUT_OF_LINE})")]
    OutOfLineSize {
        /// Its size.
        len: usize,
    },
}

/// Reads one content process's stream.
pub struct StreamServer {
    reader: RingReader<SharedRing>,
    out_of_line: OutOfLine,
}

/// The channel beside the ring, for items that travel out of line.
struct OutOfLine {
    receiver: IpcReceiver<OutOfLineItem>,
    /// Items that arrived before their markers were read.
    early: VecDeque<OutOfLineItem>,
    client_gone: bool,
    next_sequence: u64,
}

impl StreamServer {
    /// Maps the ring and takes the channel beside it; the replies sender is returned to the
    /// caller, which answers from its own thread.
    pub fn accept(
        end: StreamServerEnd,
    ) -> Result<
        (StreamServer, ipc_channel::ipc::IpcSender<armature_api::messages::GpuToContent>),
        RingSetupError,
    > {
        let server = StreamServer {
            reader: RingReader::new(SharedRing::map(end.ring)?),
            out_of_line: OutOfLine {
                receiver: end.out_of_line,
                early: VecDeque::new(),
                client_gone: false,
                next_sequence: 0,
            },
        };
        Ok((server, end.replies))
    }

    /// Appends the next items to `items`: waits until something is published, then decodes
    /// what is (about one read span, [`READ_SPAN`](crate::ring::READ_SPAN), of records; at
    /// least one item). The GPU process's stream thread hands each batch to its main thread
    /// whole. `Ok(false)`: the client is gone (or `stop` was set) and everything it
    /// published has been read. On a violation the items before it are in `items`.
    pub fn next_batch(
        &mut self,
        stop: &AtomicBool,
        items: &mut Vec<ContentToGpu>,
    ) -> Result<bool, StreamViolation> {
        let (reader, out_of_line) = (&mut self.reader, &mut self.out_of_line);
        loop {
            if !reader.wait(&mut || out_of_line.keep_waiting(stop))? {
                return Ok(false);
            }
            // Zero records: the span held only a wrap.
            let records = reader.read_published(|record| {
                // Decoded straight into the batch's next slot. `items.push(item)` would
                // build each item in a temporary with narrow stores and copy it with wide
                // loads: a failed store-to-load forwarding per record, a quarter of the
                // reader's time.
                items.reserve(1);
                let slot = &mut items.spare_capacity_mut()[0];
                item(record, out_of_line, |item| slot.write(item))?;
                // SAFETY: the slot at `len` is initialized: `item` returned `Ok`, and being
                // generic over what `emit` returns, it can only have made that by calling
                // `emit`, which wrote the slot.
                unsafe { items.set_len(items.len() + 1) };
                Ok::<_, StreamViolation>(())
            })?;
            if records > 0 {
                return Ok(true);
            }
        }
    }

    /// The next item, waiting for it. `Ok(None)`: the client is gone (or `stop` was set) and
    /// everything it published has been read. (One at a time; a busy reader takes
    /// [`next_batch`](Self::next_batch).)
    pub fn next(&mut self, stop: &AtomicBool) -> Result<Option<ContentToGpu>, StreamViolation> {
        let out_of_line = &mut self.out_of_line;
        let Some(record) = self.reader.read(&mut || out_of_line.keep_waiting(stop))? else {
            return Ok(None);
        };
        item(record, out_of_line, Some)
    }

    /// The next item if one is published, without waiting (`Ok(None)`: nothing yet).
    pub fn try_next(&mut self) -> Result<Option<ContentToGpu>, StreamViolation> {
        let Some(record) = self.reader.try_read()? else {
            return Ok(None);
        };
        item(record, &mut self.out_of_line, Some)
    }

    /// The ring's counters.
    pub fn stats(&self) -> RingStats {
        self.reader.stats()
    }

    /// Benchmark support: the raw ring reader.
    #[doc(hidden)]
    pub fn raw_reader(&mut self) -> &mut RingReader<SharedRing> {
        &mut self.reader
    }
}

/// The item a record holds, handed to `emit`: the one place records become items.
#[inline(always)]
fn item<R>(
    record: Record<'_>,
    out_of_line: &mut OutOfLine,
    emit: impl FnOnce(ContentToGpu) -> R,
) -> Result<R, StreamViolation> {
    Ok(match record.kind {
        RecordKind::Canvas => wire::canvas::decode_with(record.payload, emit)?,
        RecordKind::Inline => emit(wire::decode(record.payload)?),
        RecordKind::OutOfLine => emit(out_of_line.item(marker(record.payload)?)?),
    })
}

impl OutOfLine {
    /// Whether a reader with nothing to read should wait on: not once the client's end is
    /// closed (the channel tells) or `stop` is set. Takes in items that arrived meanwhile.
    fn keep_waiting(&mut self, stop: &AtomicBool) -> bool {
        if !self.client_gone {
            self.client_gone = !drain(&self.receiver, &mut self.early);
        }
        !self.client_gone && !stop.load(Ordering::Relaxed)
    }

    /// The out-of-line item of the marker numbered `sequence`.
    #[cold]
    fn item(&mut self, sequence: u64) -> Result<ContentToGpu, StreamViolation> {
        if sequence != self.next_sequence {
            return Err(StreamViolation::Sequence { got: sequence, expected: self.next_sequence });
        }
        self.next_sequence += 1;
        let item = match self.early.pop_front() {
            Some(item) => item,
            None => self
                .receiver
                .try_recv_timeout(OUT_OF_LINE_WAIT)
                .map_err(|_| StreamViolation::MissingOutOfLine(sequence))?,
        };
        let (got, command) = match item {
            OutOfLineItem::Message { sequence, command } => (sequence, command),
            OutOfLineItem::Encoded { sequence, bytes } => {
                if bytes.len() > MAX_OUT_OF_LINE {
                    return Err(StreamViolation::OutOfLineSize { len: bytes.len() });
                }
                (sequence, wire::decode(&bytes)?)
            }
        };
        if got != sequence {
            return Err(StreamViolation::Sequence { got, expected: sequence });
        }
        Ok(command)
    }
}

/// A marker's sequence number.
fn marker(payload: &[u8]) -> Result<u64, StreamViolation> {
    <[u8; 8]>::try_from(payload)
        .map(u64::from_le_bytes)
        .map_err(|_| StreamViolation::BadMarker(payload.len()))
}

/// Moves arrived out-of-line items into `early`; `false` once the client's end is closed.
fn drain(out_of_line: &IpcReceiver<OutOfLineItem>, early: &mut VecDeque<OutOfLineItem>) -> bool {
    loop {
        match out_of_line.try_recv() {
            Ok(item) => early.push_back(item),
            Err(TryRecvError::Empty) => return true,
            Err(TryRecvError::IpcError(_)) => return false,
        }
    }
}
