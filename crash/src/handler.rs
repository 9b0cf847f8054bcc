//! The client's crash handler: on SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT or SIGTRAP, ask
//! the launcher's monitor for a dump and wait for it, then let the signal kill the process.
//!
//! The handler runs in a compromised process, so it does as little as it can: one message
//! on a socket opened at start-up and one blocking read. Annotations are not sent: the
//! monitor pulls them out of our memory while we wait.

use crash_handler::{CrashEventResult, CrashHandler, make_crash_event};
use minidumper::{Client, SocketName};

/// Why the handler could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The launcher's monitor socket cannot be reached.
    #[error("cannot connect to the crash monitor '{name}': {source}")]
    Connect {
        /// The socket name.
        name: String,
        /// Why.
        source: minidumper::Error,
    },
    /// The signal handlers cannot be installed.
    #[error("cannot install the crash handler: {0}")]
    Attach(#[from] crash_handler::Error),
}

/// The installed handler; crashes are reported for as long as it lives.
pub struct CrashGuard {
    _handler: CrashHandler,
}

/// Connects to the monitor named `socket_name` and installs the signal handlers.
pub fn install(socket_name: &str) -> Result<CrashGuard, InstallError> {
    crate::note::keep_linked();
    let client = Client::with_name(SocketName::abstract_namespace(socket_name))
        .map_err(|source| InstallError::Connect { name: socket_name.to_owned(), source })?;
    // SAFETY: the closure only calls `request_dump`, which minidumper designs for the
    // signal context: it writes the crash context to an already-connected socket and blocks
    // on a read for the acknowledgement, without allocating.
    let event = unsafe {
        make_crash_event(move |context| CrashEventResult::Handled(client.request_dump(context).is_ok()))
    };
    let handler = CrashHandler::attach(event)?;
    // Under Yama's restricted ptrace the launcher (our parent) must be named as our tracer.
    let parent = std::os::unix::process::parent_id();
    handler.set_ptracer(Some(parent));
    Ok(CrashGuard { _handler: handler })
}

/// Crashes this process now with a real invalid memory write (SIGSEGV), for tests.
pub fn crash_now() -> ! {
    let address = std::hint::black_box(0x10usize) as *mut u64;
    // SAFETY: deliberately not safe — this is the crash. The first page is never mapped
    // (vm.mmap_min_addr), so the write faults before it changes anything; the kernel raises
    // SIGSEGV and the handler above reports it.
    unsafe { address.write_volatile(0xdead) };
    // Only reached if page zero was somehow mapped.
    std::process::abort()
}
