//! The reader (launcher side): pulls a process's annotations out of its memory.
//!
//! pid → `/proc/PID/auxv` (`AT_PHDR`, `AT_PHNUM`, `AT_PHENT`) → program headers (goblin) →
//! load bias → each `PT_NOTE` segment's notes (goblin) → our note → its relative pointer →
//! the table, read with `process_vm_readv`.
//!
//! Architecture invariant: everything read from the other process is untrusted. Sizes are
//! bounded before anything is allocated, offsets are checked, and a table that does not
//! parse is an [`ReadError`] naming what is wrong, never a panic.

use std::path::PathBuf;

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::note::NoteDataIterator;
use goblin::elf::program_header::{PT_NOTE, PT_PHDR, ProgramHeader};

use crate::annotations::{KEY_MAX, MAGIC, VALUE_MAX, VERSION, layout};
use crate::note::{NOTE_DESC_SIZE, NOTE_NAME, NOTE_TYPE};

/// Most program headers we accept (real binaries have about a dozen).
const MAX_PROGRAM_HEADERS: usize = 256;
/// Largest note segment we read.
const MAX_NOTE_SEGMENT: u64 = 1 << 20;
/// Largest table capacity we accept.
const MAX_CAPACITY: u32 = 4096;

/// Why a process's annotations could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// `/proc/PID/auxv` could not be read (no such process, or no permission).
    #[error("cannot read {}: {source} (is pid {pid} alive, and ours to inspect?)", path.display())]
    Proc {
        /// The pid.
        pid: u32,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The auxiliary vector lacks what locates the program headers.
    #[error("pid {pid}: the auxiliary vector has no {what}")]
    Auxv {
        /// The pid.
        pid: u32,
        /// What is missing.
        what: &'static str,
    },
    /// Reading the other process's memory failed.
    #[error("pid {pid}: cannot read {len} bytes at {address:#x}: {source}")]
    Memory {
        /// The pid.
        pid: u32,
        /// Where.
        address: u64,
        /// How much.
        len: usize,
        /// Why.
        source: std::io::Error,
    },
    /// The program headers do not parse or make no sense.
    #[error("pid {pid}: bad program headers: {reason}")]
    ProgramHeaders {
        /// The pid.
        pid: u32,
        /// Why.
        reason: String,
    },
    /// The executable carries no Armature note.
    #[error(
        "pid {pid}: no '{NOTE_NAME}' ELF note in its program headers (not an armature process, or a build that lost the note)"
    )]
    NoNote {
        /// The pid.
        pid: u32,
    },
    /// The table is damaged or not ours.
    #[error("pid {pid}: corrupt annotation table at {address:#x}: {reason}")]
    Corrupt {
        /// The pid.
        pid: u32,
        /// Where the table is.
        address: u64,
        /// What is wrong with it.
        reason: String,
    },
}

/// A process's annotations as read from outside.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Annotations {
    /// Key and value, in the order the keys were first set.
    pub entries: Vec<(String, String)>,
    /// Keys whose value was being rewritten when the process stopped (a torn value).
    pub torn: Vec<String>,
}

impl Annotations {
    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Something that can read another address space: a live process, or a buffer in tests.
pub trait Memory {
    /// Fills `buf` from `address`, entirely or not at all.
    fn read(&self, address: u64, buf: &mut [u8]) -> std::io::Result<()>;
}

/// Another process's memory, read with `process_vm_readv` (needs ptrace rights over it;
/// a parent has them over its children).
pub struct ProcessMemory {
    pid: u32,
}

impl ProcessMemory {
    /// The memory of `pid`.
    pub fn new(pid: u32) -> ProcessMemory {
        ProcessMemory { pid }
    }
}

impl Memory for ProcessMemory {
    fn read(&self, address: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let Ok(remote_base) = usize::try_from(address) else {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "address out of range"));
        };
        let local = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
        let remote = libc::iovec { iov_base: remote_base as *mut libc::c_void, iov_len: buf.len() };
        // SAFETY: `local` describes `buf`, which we borrow mutably for the call; the kernel
        // checks `remote` against the other process's mappings and fails with EFAULT rather
        // than touching anything of ours.
        let read = unsafe { libc::process_vm_readv(self.pid as libc::pid_t, &local, 1, &remote, 1, 0) };
        match read {
            -1 => Err(std::io::Error::last_os_error()),
            n if n as usize == buf.len() => Ok(()),
            n => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("read {n} of {} bytes (partly unmapped)", buf.len()),
            )),
        }
    }
}

/// Reads the annotations of process `pid`.
pub fn read_annotations(pid: u32) -> Result<Annotations, ReadError> {
    let memory = ProcessMemory::new(pid);
    let table = locate_table(pid, &memory)?;
    read_table(pid, &memory, table)
}

/// Finds the table's address through the program headers and our note.
pub fn locate_table(pid: u32, memory: &dyn Memory) -> Result<u64, ReadError> {
    let auxv = read_auxv(pid)?;
    let phdr = auxv.phdr.ok_or(ReadError::Auxv { pid, what: "AT_PHDR" })?;
    let phnum = auxv.phnum.ok_or(ReadError::Auxv { pid, what: "AT_PHNUM" })? as usize;
    let phent = auxv.phent.ok_or(ReadError::Auxv { pid, what: "AT_PHENT" })? as usize;
    let bad = |reason: String| ReadError::ProgramHeaders { pid, reason };
    let ctx = Ctx::new(
        if cfg!(target_pointer_width = "64") { Container::Big } else { Container::Little },
        Endian::Little,
    );
    if phnum == 0 || phnum > MAX_PROGRAM_HEADERS || phent != ProgramHeader::size(ctx) {
        return Err(bad(format!("{phnum} headers of {phent} bytes")));
    }
    let mut bytes = vec![0; phnum * phent];
    read(pid, memory, phdr, &mut bytes)?;
    let headers = ProgramHeader::parse(&bytes, 0, phnum, ctx).map_err(|error| bad(error.to_string()))?;
    // The load bias: where the headers are now minus where the file says they are.
    let bias = headers
        .iter()
        .find(|header| header.p_type == PT_PHDR)
        .map(|header| phdr.wrapping_sub(header.p_vaddr))
        .ok_or_else(|| bad("no PT_PHDR header (a static non-PIE binary is not supported)".into()))?;
    for header in headers.iter().filter(|header| header.p_type == PT_NOTE) {
        if header.p_memsz == 0 || header.p_memsz > MAX_NOTE_SEGMENT {
            continue;
        }
        let start = bias.wrapping_add(header.p_vaddr);
        let mut data = vec![0; header.p_memsz as usize];
        read(pid, memory, start, &mut data)?;
        let notes = NoteDataIterator {
            data: &data,
            size: data.len(),
            offset: 0,
            ctx: (header.p_align.clamp(4, 8) as usize, ctx),
        };
        // A malformed note ends this segment's walk; others may still hold ours.
        for note in notes.map_while(Result::ok) {
            if note.name != NOTE_NAME || note.n_type != NOTE_TYPE || note.desc.len() != NOTE_DESC_SIZE {
                continue;
            }
            let Ok(desc) = <[u8; NOTE_DESC_SIZE]>::try_from(note.desc) else { continue };
            let relative = i64::from_le_bytes(desc);
            // The descriptor's own address: the segment's start plus its offset in `data`.
            let offset = note.desc.as_ptr() as usize - data.as_ptr() as usize;
            let desc_address = start.wrapping_add(offset as u64);
            return Ok(desc_address.wrapping_add_signed(relative));
        }
    }
    Err(ReadError::NoNote { pid })
}

fn read(pid: u32, memory: &dyn Memory, address: u64, buf: &mut [u8]) -> Result<(), ReadError> {
    memory.read(address, buf).map_err(|source| ReadError::Memory { pid, address, len: buf.len(), source })
}

/// Reads and validates the table at `address`.
pub fn read_table(pid: u32, memory: &dyn Memory, address: u64) -> Result<Annotations, ReadError> {
    let corrupt = |reason: String| ReadError::Corrupt { pid, address, reason };
    let mut header = [0u8; layout::ENTRIES];
    read(pid, memory, address, &mut header)?;
    let u32_at = |bytes: &[u8], offset: usize| {
        u32::from_le_bytes([bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]])
    };
    let magic = u64::from_le_bytes(header[..8].try_into().unwrap_or_default());
    if magic != MAGIC {
        return Err(corrupt(format!("bad magic {magic:#018x} (expected {MAGIC:#018x}, \"ARMNOTES\")")));
    }
    let version = u32_at(&header, layout::VERSION);
    if version != VERSION {
        return Err(corrupt(format!("layout version {version}, this reader knows {VERSION}")));
    }
    let capacity = u32_at(&header, layout::CAPACITY);
    if capacity == 0 || capacity > MAX_CAPACITY {
        return Err(corrupt(format!("capacity {capacity} is outside 1..={MAX_CAPACITY}")));
    }
    let entry_size = u32_at(&header, layout::ENTRY_SIZE) as usize;
    if entry_size != layout::ENTRY_SIZE_V1 {
        return Err(corrupt(format!(
            "entry size {entry_size}, version {VERSION} has {}",
            layout::ENTRY_SIZE_V1
        )));
    }
    let count = u32_at(&header, layout::COUNT);
    if count > capacity {
        return Err(corrupt(format!("count {count} is larger than the capacity {capacity}")));
    }
    let mut entries_bytes = vec![0u8; count as usize * entry_size];
    let entries_address = address.wrapping_add(layout::ENTRIES as u64);
    read(pid, memory, entries_address, &mut entries_bytes)?;
    let mut annotations = Annotations::default();
    for (index, entry) in entries_bytes.chunks_exact(entry_size).enumerate() {
        let key_len = u32_at(entry, layout::ENTRY_KEY_LEN) as usize;
        let value_len = u32_at(entry, layout::ENTRY_VALUE_LEN) as usize;
        if key_len == 0 {
            continue; // Being claimed: its key is not published yet.
        }
        if key_len > KEY_MAX {
            return Err(corrupt(format!("entry {index}: key length {key_len} exceeds {KEY_MAX}")));
        }
        if value_len > VALUE_MAX {
            return Err(corrupt(format!("entry {index}: value length {value_len} exceeds {VALUE_MAX}")));
        }
        let key_bytes = &entry[layout::ENTRY_KEY..layout::ENTRY_KEY + key_len];
        let key = std::str::from_utf8(key_bytes)
            .map_err(|error| corrupt(format!("entry {index}: key is not UTF-8 ({error})")))?
            .to_owned();
        // A seqlock read from outside: the sequence must be even and unchanged after the copy.
        let sequence = u32_at(entry, layout::ENTRY_SEQUENCE);
        let mut now = [0u8; 4];
        let entry_address = entries_address + (index * entry_size) as u64;
        read(pid, memory, entry_address + layout::ENTRY_SEQUENCE as u64, &mut now)?;
        if sequence % 2 == 1 || u32::from_le_bytes(now) != sequence {
            annotations.torn.push(key);
            continue;
        }
        let value_bytes = &entry[layout::ENTRY_VALUE..layout::ENTRY_VALUE + value_len];
        let value = std::str::from_utf8(value_bytes)
            .map_err(|error| corrupt(format!("entry {index} ('{key}'): value is not UTF-8 ({error})")))?
            .to_owned();
        match annotations.entries.iter_mut().find(|(existing, _)| *existing == key) {
            Some(existing) => existing.1 = value,
            None => annotations.entries.push((key, value)),
        }
    }
    Ok(annotations)
}

/// What the reader needs from the auxiliary vector.
#[derive(Default)]
struct Auxv {
    phdr: Option<u64>,
    phnum: Option<u64>,
    phent: Option<u64>,
}

fn read_auxv(pid: u32) -> Result<Auxv, ReadError> {
    let path = PathBuf::from(format!("/proc/{pid}/auxv"));
    let bytes = std::fs::read(&path).map_err(|source| ReadError::Proc { pid, path, source })?;
    let word = std::mem::size_of::<usize>();
    let mut auxv = Auxv::default();
    for pair in bytes.chunks_exact(2 * word) {
        let value_of = |bytes: &[u8]| {
            let mut buf = [0u8; 8];
            buf[..word].copy_from_slice(bytes);
            u64::from_le_bytes(buf)
        };
        let (kind, value) = (value_of(&pair[..word]), value_of(&pair[word..]));
        match kind {
            libc::AT_NULL => break,
            libc::AT_PHDR => auxv.phdr = Some(value),
            libc::AT_PHNUM => auxv.phnum = Some(value),
            libc::AT_PHENT => auxv.phent = Some(value),
            _ => {}
        }
    }
    Ok(auxv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annotations::Table;

    /// A fake address space: one buffer at one base address.
    struct Buffer {
        base: u64,
        bytes: Vec<u8>,
    }

    impl Memory for Buffer {
        fn read(&self, address: u64, buf: &mut [u8]) -> std::io::Result<()> {
            let start = address.checked_sub(self.base).map(|offset| offset as usize);
            match start.and_then(|start| self.bytes.get(start..start + buf.len())) {
                Some(bytes) => {
                    buf.copy_from_slice(bytes);
                    Ok(())
                }
                None => Err(std::io::Error::from_raw_os_error(libc::EFAULT)),
            }
        }
    }

    fn table_bytes(table: &Table) -> Vec<u8> {
        let size = std::mem::size_of::<Table>();
        // SAFETY: `Table` is `repr(C)` atomics of plain integers; viewing it as bytes reads
        // initialised memory, and nothing writes to `table` meanwhile.
        unsafe { std::slice::from_raw_parts((table as *const Table).cast::<u8>(), size) }.to_vec()
    }

    fn buffer(table: &Table) -> Buffer {
        Buffer { base: 0x10_0000, bytes: table_bytes(table) }
    }

    #[test]
    fn reads_a_whole_table() {
        let table = Table::new();
        table.set("ProcessType", "gpu").unwrap();
        table.set("GpuAdapter", "llvmpipe").unwrap();
        let memory = buffer(&table);
        let annotations = read_table(1, &memory, memory.base).unwrap();
        assert_eq!(annotations.get("ProcessType"), Some("gpu"));
        assert_eq!(annotations.get("GpuAdapter"), Some("llvmpipe"));
        assert!(annotations.torn.is_empty());
    }

    /// Every kind of damage is an error naming it; none panics.
    #[test]
    fn hostile_tables_are_errors() {
        type Damage<'a> = &'a dyn Fn(&mut Vec<u8>);
        let cases: [(Damage, &str); 8] = [
            (&|bytes| bytes[0] ^= 0xff, "bad magic"),
            (&|bytes| bytes[layout::VERSION] = 9, "layout version 9"),
            (
                &|bytes| {
                    bytes[layout::CAPACITY..layout::CAPACITY + 4].copy_from_slice(&u32::MAX.to_le_bytes())
                },
                "capacity",
            ),
            (
                &|bytes| bytes[layout::COUNT..layout::COUNT + 4].copy_from_slice(&1000u32.to_le_bytes()),
                "count 1000",
            ),
            (&|bytes| bytes[layout::ENTRY_SIZE + 1] = 0, "entry size 16"),
            (
                &|bytes| {
                    let at = layout::ENTRIES + layout::ENTRY_KEY_LEN;
                    bytes[at..at + 4].copy_from_slice(&4000u32.to_le_bytes())
                },
                "key length 4000",
            ),
            (
                &|bytes| {
                    let at = layout::ENTRIES + layout::ENTRY_VALUE_LEN;
                    bytes[at..at + 4].copy_from_slice(&4000u32.to_le_bytes())
                },
                "value length 4000",
            ),
            (&|bytes| bytes[layout::ENTRIES + layout::ENTRY_KEY] = 0xff, "not UTF-8"),
        ];
        for (damage, expected) in cases {
            let table = Table::new();
            table.set("ProcessType", "content").unwrap();
            let mut memory = buffer(&table);
            damage(&mut memory.bytes);
            let error = read_table(1, &memory, memory.base).expect_err(expected).to_string();
            assert!(error.contains(expected), "'{error}' should say '{expected}'");
        }
    }

    #[test]
    fn a_table_past_the_end_of_memory_is_an_error() {
        let table = Table::new();
        table.set("a", "b").unwrap();
        let mut memory = buffer(&table);
        memory.bytes.truncate(layout::ENTRIES + 10);
        assert!(matches!(read_table(1, &memory, memory.base), Err(ReadError::Memory { .. })));
    }

    #[test]
    fn a_torn_value_is_reported_not_trusted() {
        let table = Table::new();
        table.set("Busy", "half-written").unwrap();
        let mut memory = buffer(&table);
        let at = layout::ENTRIES + layout::ENTRY_SEQUENCE;
        memory.bytes[at..at + 4].copy_from_slice(&3u32.to_le_bytes());
        let annotations = read_table(1, &memory, memory.base).unwrap();
        assert_eq!(annotations.torn, vec!["Busy".to_owned()]);
        assert!(annotations.entries.is_empty());
    }

    /// The whole path on a real process: this test binary, which links the note.
    #[test]
    fn reads_this_process_through_its_note() {
        crate::annotate("ReaderSelfTest", "yes").unwrap();
        let pid = std::process::id();
        let address = locate_table(pid, &ProcessMemory::new(pid)).unwrap();
        assert_eq!(address, crate::annotations::table_address() as u64);
        let annotations = read_annotations(pid).unwrap();
        assert_eq!(annotations.get("ReaderSelfTest"), Some("yes"));
    }

    #[test]
    fn a_missing_process_is_a_clear_error() {
        let error = read_annotations(u32::MAX / 2).unwrap_err().to_string();
        assert!(error.contains("is pid"), "{error}");
    }
}
