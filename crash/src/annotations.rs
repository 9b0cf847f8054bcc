//! The client side: this process's crash annotations, kept in its own memory for the
//! launcher to pull out after a crash (Firefox's pull model, bug 1776197).
//!
//! The table is a `#[repr(C)]` layout of our own, made only of atomics, so that setting an
//! annotation never takes a lock or allocates and a reader in another process can parse it
//! without knowing anything about Rust's private layouts. [`crate::note`] publishes its
//! address through an ELF note.
//!
//! Layout (version 1, little-endian, every field naturally aligned):
//!
//! ```text
//! Table  { magic: u64 = "ARMNOTES", version: u32, capacity: u32, count: u32,
//!          entry_size: u32, entries: [Entry; capacity] }
//! Entry  { sequence: u32 (odd while its value is being written), key_len: u32 (0 = slot
//!          being claimed), value_len: u32, reserved: u32, key: [u8; KEY_MAX],
//!          value: [u8; VALUE_MAX] }
//! ```
//! A key is written once, when its slot is claimed; a value is rewritten under the entry's
//! sequence counter (a seqlock), so a reader can tell a torn value from a whole one.

use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

/// `b"ARMNOTES"` read as a little-endian u64.
pub const MAGIC: u64 = u64::from_le_bytes(*b"ARMNOTES");
/// The layout version this crate writes and reads.
pub const VERSION: u32 = 1;
/// How many annotations a process can hold.
pub const CAPACITY: usize = 32;
/// Longest key, in bytes.
pub const KEY_MAX: usize = 32;
/// Longest value, in bytes; longer values are truncated at a character boundary.
pub const VALUE_MAX: usize = 224;

/// Byte offsets of the table's fields, shared with the reader.
pub mod layout {
    /// `magic`.
    pub const MAGIC: usize = 0;
    /// `version`.
    pub const VERSION: usize = 8;
    /// `capacity`.
    pub const CAPACITY: usize = 12;
    /// `count`.
    pub const COUNT: usize = 16;
    /// `entry_size`.
    pub const ENTRY_SIZE: usize = 20;
    /// The first entry.
    pub const ENTRIES: usize = 24;
    /// Within an entry: `sequence`.
    pub const ENTRY_SEQUENCE: usize = 0;
    /// Within an entry: `key_len`.
    pub const ENTRY_KEY_LEN: usize = 4;
    /// Within an entry: `value_len`.
    pub const ENTRY_VALUE_LEN: usize = 8;
    /// Within an entry: the key bytes.
    pub const ENTRY_KEY: usize = 16;
    /// Within an entry: the value bytes.
    pub const ENTRY_VALUE: usize = ENTRY_KEY + super::KEY_MAX;
    /// Size of one entry.
    pub const ENTRY_SIZE_V1: usize = ENTRY_VALUE + super::VALUE_MAX;
}

/// Keys the crash crate itself looks at (the children's other keys are theirs to choose;
/// Armature's are listed in `armature_api::probe::annotation`).
pub mod keys {
    /// The process's role (`gpu`, `content`); names the report.
    pub const PROCESS_TYPE: &str = "ProcessType";
}

/// One annotation slot.
#[repr(C)]
pub struct Entry {
    sequence: AtomicU32,
    key_len: AtomicU32,
    value_len: AtomicU32,
    reserved: AtomicU32,
    key: [AtomicU8; KEY_MAX],
    value: [AtomicU8; VALUE_MAX],
}

impl Entry {
    const fn new() -> Entry {
        Entry {
            sequence: AtomicU32::new(0),
            key_len: AtomicU32::new(0),
            value_len: AtomicU32::new(0),
            reserved: AtomicU32::new(0),
            key: [const { AtomicU8::new(0) }; KEY_MAX],
            value: [const { AtomicU8::new(0) }; VALUE_MAX],
        }
    }

    fn has_key(&self, key: &[u8]) -> bool {
        // Acquire pairs with the Release that published the key bytes.
        self.key_len.load(Ordering::Acquire) as usize == key.len()
            && self.key.iter().zip(key).all(|(stored, &byte)| stored.load(Ordering::Relaxed) == byte)
    }

    fn write_value(&self, value: &[u8]) {
        // Writers of one entry take turns: make the sequence odd (ours), write, make it even.
        let mut sequence = self.sequence.load(Ordering::Relaxed);
        loop {
            if sequence % 2 == 1 {
                std::hint::spin_loop();
                sequence = self.sequence.load(Ordering::Relaxed);
                continue;
            }
            match self.sequence.compare_exchange_weak(
                sequence,
                sequence.wrapping_add(1),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(current) => sequence = current,
            }
        }
        for (slot, &byte) in self.value.iter().zip(value) {
            slot.store(byte, Ordering::Relaxed);
        }
        self.value_len.store(value.len() as u32, Ordering::Relaxed);
        self.sequence.store(sequence.wrapping_add(2), Ordering::Release);
    }

    fn read(&self) -> Option<(String, String)> {
        // Bounded: a writer that died mid-write leaves the sequence odd for good.
        for _ in 0..10_000 {
            let before = self.sequence.load(Ordering::Acquire);
            let key_len = self.key_len.load(Ordering::Acquire) as usize;
            if key_len == 0 {
                return None;
            }
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let key: Vec<u8> =
                self.key[..key_len.min(KEY_MAX)].iter().map(|b| b.load(Ordering::Relaxed)).collect();
            let value_len = (self.value_len.load(Ordering::Relaxed) as usize).min(VALUE_MAX);
            let value: Vec<u8> = self.value[..value_len].iter().map(|b| b.load(Ordering::Relaxed)).collect();
            std::sync::atomic::fence(Ordering::Acquire);
            if self.sequence.load(Ordering::Relaxed) == before {
                return Some((
                    String::from_utf8_lossy(&key).into_owned(),
                    String::from_utf8_lossy(&value).into_owned(),
                ));
            }
        }
        None
    }
}

/// The annotation table.
#[repr(C)]
pub struct Table {
    magic: AtomicU64,
    version: AtomicU32,
    capacity: AtomicU32,
    count: AtomicU32,
    entry_size: AtomicU32,
    entries: [Entry; CAPACITY],
}

// The reader parses these offsets; keep them and the struct in step.
const _: () = {
    assert!(std::mem::offset_of!(Table, magic) == layout::MAGIC);
    assert!(std::mem::offset_of!(Table, version) == layout::VERSION);
    assert!(std::mem::offset_of!(Table, capacity) == layout::CAPACITY);
    assert!(std::mem::offset_of!(Table, count) == layout::COUNT);
    assert!(std::mem::offset_of!(Table, entry_size) == layout::ENTRY_SIZE);
    assert!(std::mem::offset_of!(Table, entries) == layout::ENTRIES);
    assert!(std::mem::offset_of!(Entry, sequence) == layout::ENTRY_SEQUENCE);
    assert!(std::mem::offset_of!(Entry, key_len) == layout::ENTRY_KEY_LEN);
    assert!(std::mem::offset_of!(Entry, value_len) == layout::ENTRY_VALUE_LEN);
    assert!(std::mem::offset_of!(Entry, key) == layout::ENTRY_KEY);
    assert!(std::mem::offset_of!(Entry, value) == layout::ENTRY_VALUE);
    assert!(std::mem::size_of::<Entry>() == layout::ENTRY_SIZE_V1);
};

/// Why an annotation could not be set.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnnotationError {
    /// Keys are 1..=KEY_MAX bytes.
    #[error("annotation key '{key}' must be 1 to {KEY_MAX} bytes long")]
    BadKey {
        /// The key.
        key: String,
    },
    /// Every slot is taken by another key.
    #[error("no room for annotation '{key}': all {CAPACITY} slots are taken")]
    Full {
        /// The key.
        key: String,
    },
}

impl Table {
    /// An empty table, valid from the moment the process is loaded.
    pub const fn new() -> Table {
        Table {
            magic: AtomicU64::new(MAGIC),
            version: AtomicU32::new(VERSION),
            capacity: AtomicU32::new(CAPACITY as u32),
            count: AtomicU32::new(0),
            entry_size: AtomicU32::new(layout::ENTRY_SIZE_V1 as u32),
            entries: [const { Entry::new() }; CAPACITY],
        }
    }

    /// Sets `key` to `value` (truncated to [`VALUE_MAX`] bytes). No lock, no allocation.
    ///
    /// Two threads that add the *same new* key at the same instant may each claim a slot;
    /// readers then keep the later slot's value.
    pub fn set(&self, key: &str, value: &str) -> Result<(), AnnotationError> {
        let key_bytes = key.as_bytes();
        if key_bytes.is_empty() || key_bytes.len() > KEY_MAX {
            return Err(AnnotationError::BadKey { key: key.to_owned() });
        }
        let value = truncate(value, VALUE_MAX).as_bytes();
        let count = (self.count.load(Ordering::Acquire) as usize).min(CAPACITY);
        if let Some(entry) = self.entries[..count].iter().find(|entry| entry.has_key(key_bytes)) {
            entry.write_value(value);
            return Ok(());
        }
        // Claim the next free slot.
        let mut claimed = self.count.load(Ordering::Relaxed);
        let slot = loop {
            if claimed as usize >= CAPACITY {
                return Err(AnnotationError::Full { key: key.to_owned() });
            }
            match self.count.compare_exchange_weak(claimed, claimed + 1, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break &self.entries[claimed as usize],
                Err(current) => claimed = current,
            }
        };
        slot.write_value(value);
        for (stored, &byte) in slot.key.iter().zip(key_bytes) {
            stored.store(byte, Ordering::Relaxed);
        }
        // Publishing the length publishes the key (and the value written before it).
        slot.key_len.store(key_bytes.len() as u32, Ordering::Release);
        Ok(())
    }

    /// The current annotations, in the order their keys were first set (a later duplicate
    /// of a key replaces the earlier one).
    pub fn snapshot(&self) -> Vec<(String, String)> {
        let count = (self.count.load(Ordering::Acquire) as usize).min(CAPACITY);
        let mut entries: Vec<(String, String)> = Vec::with_capacity(count);
        for entry in self.entries[..count].iter().filter_map(Entry::read) {
            match entries.iter_mut().find(|(key, _)| *key == entry.0) {
                Some(existing) => *existing = entry,
                None => entries.push(entry),
            }
        }
        entries
    }

    /// Test switch: damages the table the way a memory-corrupting bug might, so the reader's
    /// validation can be exercised on a real process.
    pub fn corrupt_for_test(&self, damage: Damage) {
        match damage {
            Damage::Magic => self.magic.store(0xdead_beef, Ordering::Relaxed),
            Damage::Count => self.count.store(u32::MAX, Ordering::Relaxed),
            Damage::Length => {
                self.count.store(self.count.load(Ordering::Relaxed).max(1), Ordering::Relaxed);
                self.entries[0].key_len.store(u32::MAX / 2, Ordering::Relaxed);
            }
            Damage::Utf8 => {
                self.count.store(self.count.load(Ordering::Relaxed).max(1), Ordering::Relaxed);
                let entry = &self.entries[0];
                entry.key[0].store(0xff, Ordering::Relaxed);
                entry.key_len.store(entry.key_len.load(Ordering::Relaxed).max(1), Ordering::Relaxed);
            }
        }
    }
}

impl Default for Table {
    fn default() -> Table {
        Table::new()
    }
}

/// How [`Table::corrupt_for_test`] damages a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage {
    /// Overwrites the magic number.
    Magic,
    /// Claims more entries than the table holds.
    Count,
    /// Gives an entry a key longer than a key can be.
    Length,
    /// Puts a byte that is not UTF-8 into a key.
    Utf8,
}

impl std::str::FromStr for Damage {
    type Err = String;

    fn from_str(text: &str) -> Result<Damage, String> {
        match text {
            "magic" => Ok(Damage::Magic),
            "count" => Ok(Damage::Count),
            "length" => Ok(Damage::Length),
            "utf8" => Ok(Damage::Utf8),
            other => Err(format!("unknown table damage '{other}' (expected magic, count, length or utf8)")),
        }
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// This process's table. The ELF note points at it; `#[used]` and the note's reference keep
/// it in every build.
#[used]
pub(crate) static ANNOTATIONS: Table = Table::new();

/// Sets an annotation on this process's table. Cheap: no lock, no allocation.
pub fn annotate(key: &str, value: &str) -> Result<(), AnnotationError> {
    crate::note::keep_linked();
    ANNOTATIONS.set(key, value)
}

/// Test switch: damages this process's table (see [`Table::corrupt_for_test`]).
pub fn corrupt_for_test(damage: Damage) {
    ANNOTATIONS.corrupt_for_test(damage)
}

/// The address of this process's table (for tests that read it back from outside).
pub fn table_address() -> usize {
    &raw const ANNOTATIONS as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replace_and_snapshot() {
        let table = Table::new();
        table.set("ProcessType", "gpu").unwrap();
        table.set("Url", "file:///a.html").unwrap();
        table.set("ProcessType", "content").unwrap();
        assert_eq!(
            table.snapshot(),
            vec![("ProcessType".into(), "content".into()), ("Url".into(), "file:///a.html".into())]
        );
    }

    #[test]
    fn bounds() {
        let table = Table::new();
        assert!(matches!(table.set("", "x"), Err(AnnotationError::BadKey { .. })));
        assert!(matches!(table.set(&"k".repeat(KEY_MAX + 1), "x"), Err(AnnotationError::BadKey { .. })));
        // A long value is cut at a character boundary, never mid-character.
        let long = "é".repeat(VALUE_MAX);
        table.set("Long", &long).unwrap();
        let value = &table.snapshot()[0].1;
        assert!(value.len() <= VALUE_MAX && value.chars().all(|c| c == 'é'));
        for i in 1..CAPACITY {
            table.set(&format!("k{i}"), "v").unwrap();
        }
        assert_eq!(table.set("one-too-many", "v"), Err(AnnotationError::Full { key: "one-too-many".into() }));
        // Existing keys can still be updated when full.
        table.set("k1", "updated").unwrap();
    }

    #[test]
    fn concurrent_writers_never_tear() {
        let table = std::sync::Arc::new(Table::new());
        let writers: Vec<_> = (0..4)
            .map(|thread| {
                let table = table.clone();
                std::thread::spawn(move || {
                    for round in 0..2000 {
                        let value = format!("{thread}-{round}").repeat(8);
                        table.set("Shared", &value).unwrap();
                        table.set(&format!("Own{thread}"), &value).unwrap();
                    }
                })
            })
            .collect();
        for _ in 0..2000 {
            for (_, value) in table.snapshot() {
                // A whole value is one "t-r" token repeated; a torn one mixes two.
                let token = value.get(..value.len() / 8).unwrap_or_default();
                assert_eq!(value, token.repeat(8), "torn value");
            }
        }
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(table.snapshot().len(), 5);
    }
}
