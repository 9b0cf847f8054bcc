//! The ELF note that tells a reader in another process where the annotation table is
//! (Crashpad's technique): an allocated `.note.armature` section, hence a `PT_NOTE`
//! program header, whose descriptor holds the table's address *relative to the descriptor
//! itself*, so it is right wherever the loader put the executable (PIE) and needs no
//! relocation at run time.
//!
//! ```text
//! n_namesz = 9   n_descsz = 8   n_type = NOTE_TYPE   "Armature\0" + pad   desc: i64 (table - desc)
//! ```
//!
//! Measured pitfall: in a debug build, `global_asm!` can land alone in an object file of the
//! rlib that nothing references; the linker then never pulls it in (or `--gc-sections` drops
//! the section) and the note silently disappears. [`keep_linked`] takes the note's address
//! from code every child runs, so the section is always referenced.

/// The note's owner name.
pub const NOTE_NAME: &str = "Armature";
/// The note's type: "ARM" and layout generation 1.
pub const NOTE_TYPE: u32 = 0x4152_4d01;
/// Size of the descriptor: one little-endian i64.
pub const NOTE_DESC_SIZE: usize = 8;

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
std::arch::global_asm!(
    ".pushsection .note.armature,\"a\",%note",
    ".balign 4",
    ".globl armature_annotations_note",
    ".hidden armature_annotations_note",
    "armature_annotations_note:",
    ".long 9",          // n_namesz: "Armature\0"
    ".long 8",          // n_descsz
    ".long 0x41524d01", // n_type (NOTE_TYPE)
    ".asciz \"Armature\"",
    ".balign 4",
    "armature_annotations_desc:",
    ".quad {table} - armature_annotations_desc",
    ".popsection",
    table = sym crate::annotations::ANNOTATIONS,
);

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
unsafe extern "C" {
    /// The note's first byte, defined by the assembly above.
    safe static armature_annotations_note: u8;
}

/// References the note from always-linked code (see the module docs). Free after inlining.
#[inline]
pub fn keep_linked() {
    #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
    std::hint::black_box(&raw const armature_annotations_note);
}
