//! The GPU process's stream decoder on hostile input: a client offset and a ring's data as a
//! content process could leave them. Every record is framed, bounded and decoded; the
//! decoder may refuse the input (a named violation) but must never panic, hang or read
//! outside the ring.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let _ = armature_stream::heap::decode_ring(input);
});
