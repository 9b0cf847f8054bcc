//! Script VMs, JavaScriptCore's VMManager design.
//!
//! This crate will hold: VM threads running WebAssembly page scripts (wasmtime), each with a
//! run loop; the VMManager world modes (RunAll, Stopping, Stopped, RunOne) that stop every VM
//! — active ones at traps, idle ones through their run loop — for a debugger; and the DAP
//! debugger server. It is plugged into content behind the launcher's `vm` feature.
//!
//! Architecture invariant: vm knows nothing about pages, DOM or rendering.
