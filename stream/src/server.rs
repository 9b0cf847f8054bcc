//! The GPU process's end of a stream (WebKit's StreamServerConnection): reads items in order
//! and treats every byte as hostile.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use armature_api::messages::{ContentToGpu, OutOfLineItem, StreamServerEnd};
use ipc_channel::TryRecvError;
use ipc_channel::ipc::IpcReceiver;

use crate::ring::{RecordKind, RingReader, RingStats, RingViolation};
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
    out_of_line: IpcReceiver<OutOfLineItem>,
    /// Out-of-line items that arrived before their markers were read.
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
            out_of_line: end.out_of_line,
            early: VecDeque::new(),
            client_gone: false,
            next_sequence: 0,
        };
        Ok((server, end.replies))
    }

    /// The next item, waiting for it. `Ok(None)`: the client is gone (or `stop` was set) and
    /// everything it published has been read.
    pub fn next(&mut self, stop: &AtomicBool) -> Result<Option<ContentToGpu>, StreamViolation> {
        let (out_of_line, early, client_gone) = (&self.out_of_line, &mut self.early, &mut self.client_gone);
        let mut keep_waiting = || {
            if !*client_gone {
                *client_gone = !drain(out_of_line, early);
            }
            !*client_gone && !stop.load(Ordering::Relaxed)
        };
        let Some(record) = self.reader.read(&mut keep_waiting)? else {
            return Ok(None);
        };
        // Matched here and in `try_next`, not in a shared helper: passing the decoded item
        // through one more `Option` made the stream bench 40 % slower (more 64-byte moves
        // through memory on the hottest path).
        match record.kind {
            RecordKind::Inline | RecordKind::Canvas => {
                Ok(Some(wire::decode_record(record.kind, record.payload)?))
            }
            RecordKind::OutOfLine => {
                let sequence = marker(record.payload)?;
                self.out_of_line_item(sequence).map(Some)
            }
            // The reader consumes wraps itself.
            RecordKind::Wrap => Ok(None),
        }
    }

    /// The next item if one is published, without waiting (`Ok(None)`: nothing yet).
    pub fn try_next(&mut self) -> Result<Option<ContentToGpu>, StreamViolation> {
        let Some(record) = self.reader.try_read()? else {
            return Ok(None);
        };
        match record.kind {
            RecordKind::Inline | RecordKind::Canvas => {
                Ok(Some(wire::decode_record(record.kind, record.payload)?))
            }
            RecordKind::OutOfLine => {
                let sequence = marker(record.payload)?;
                self.out_of_line_item(sequence).map(Some)
            }
            RecordKind::Wrap => Ok(None),
        }
    }

    fn out_of_line_item(&mut self, sequence: u64) -> Result<ContentToGpu, StreamViolation> {
        if sequence != self.next_sequence {
            return Err(StreamViolation::Sequence { got: sequence, expected: self.next_sequence });
        }
        self.next_sequence += 1;
        let item = match self.early.pop_front() {
            Some(item) => item,
            None => self
                .out_of_line
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
