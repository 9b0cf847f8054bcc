//! Script VMs, JavaScriptCore's VMManager design.
//!
//! Page scripts are WebAssembly run by wasmtime. Each VM is a thread with its own store and a
//! run loop of tasks ([`vm`]); one [`manager::VmManager`] per process can stop them all for a
//! debugger — active VMs at epoch checks, idle VMs through their run loop — inspect them,
//! step one, and resume. [`dap`] is the Debug Adapter Protocol server in front of it.
//!
//! Architecture invariant: vm knows nothing about pages, DOM or rendering; the embedder gives
//! it a [`host::Host`].

pub mod dap;
pub mod host;
pub mod inspect;
pub mod manager;
pub mod script;
pub mod vm;

pub use host::{CanvasCall, Host, no_such_canvas};
pub use manager::{Mode, StopReason, StopSite, VmId, VmManager, VmState};
pub use script::{Script, ScriptError, ScriptSource};
pub use vm::{Task, VmConfig, VmGroup, VmHandle};
