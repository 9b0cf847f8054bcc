//! Crash reporting, Firefox's pull model (bug 1776197).
//!
//! This crate will hold: the annotation table every child publishes through an ELF note
//! (client), the reader that pulls it out of a crashed child's memory with
//! process_vm_readv (launcher side), out-of-process minidump writing, and the report store
//! (`<id>.dmp` + `<id>.extra`). It is plugged into the launcher behind the `crash` feature.
//!
//! Architecture invariant: crash knows nothing about the launcher, pages or rendering.
