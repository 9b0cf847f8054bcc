//! Process spawning and supervision: re-executes this binary in a role, bootstraps it over a
//! one-shot ipc server with a watchdog, reaps it, and cleans up on SIGTERM/SIGINT.
//!
//! `IpcOneShotServer::accept()` blocks forever if the child dies before connecting
//! (ipc-channel #201), so accept runs on its own thread while the launcher watches the
//! child; if the child dies first, the launcher connects to its own server to unblock it.

use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use armature_api::messages::{ChildBootstrap, ProcessRole};
use ipc_channel::ipc::{IpcOneShotServer, IpcReceiver, IpcSender};
use rustix::process::{Pid, Signal, WaitOptions};
use serde::{Deserialize, Serialize};

use crate::child::LAUNCHER_PID_ENV;
use crate::error::LauncherError;

/// How long a child may take to connect before the launcher gives up on it.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a child may take to exit after `Shutdown` before it is killed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How often the watchdog looks at a child that has not connected yet.
const WATCHDOG_TICK: Duration = Duration::from_millis(10);

/// The SIGTERM/SIGINT being handled, 0 if none. Set before any child is touched, so that
/// the main thread (which sees the children go away) exits with 128+signal, never 0.
static TERMINATING_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The termination signal being handled, if the launcher is shutting down because of one.
pub fn terminating_signal() -> Option<i32> {
    Some(TERMINATING_SIGNAL.load(Ordering::SeqCst)).filter(|&signal| signal != 0)
}

/// Pids of live children, for the signal handler thread to kill and reap.
static LIVE_CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn track(pid: u32) {
    LIVE_CHILDREN.lock().unwrap_or_else(|poison| poison.into_inner()).push(pid);
}

fn untrack(pid: u32) {
    LIVE_CHILDREN.lock().unwrap_or_else(|poison| poison.into_inner()).retain(|&live| live != pid);
}

/// Options a child is started with.
#[derive(Clone, Debug, Default)]
pub struct ChildOptions {
    /// Pass `--verbose` on.
    pub verbose: bool,
    /// The launcher's crash monitor socket, for the child's crash handler.
    pub crash_server: Option<String>,
    /// Test switch: make this child crash at this point (`--crash-test`).
    pub crash_test: Option<armature_api::ProbePoint>,
}

type Bootstrap<ToChild, FromChild> = ChildBootstrap<ToChild, FromChild>;
type AcceptResult<ToChild, FromChild> = Result<Bootstrap<ToChild, FromChild>, String>;

/// A child that was started but has not connected yet.
pub struct PendingChild<ToChild, FromChild> {
    role: ProcessRole,
    /// `None` once handed over to a [`ChildProcess`] or reaped.
    child: Option<Child>,
    server_name: String,
    accepted: crossbeam_channel::Receiver<AcceptResult<ToChild, FromChild>>,
}

/// A connected child: its process and its control channel.
pub struct ChildProcess<ToChild, FromChild> {
    /// What it is.
    pub role: ProcessRole,
    /// Its pid.
    pub pid: u32,
    child: Option<Child>,
    /// Control messages to the child.
    pub sender: IpcSender<ToChild>,
    /// The child's messages (taken by [`ChildProcess::route`] or by a caller reading them).
    pub receiver: Option<IpcReceiver<FromChild>>,
    /// Disconnects when the router sees the child's channel close (see [`ChildProcess::route`]).
    closed: Option<crossbeam_channel::Receiver<()>>,
}

/// Starts `armature --role=<role>`; call [`PendingChild::connect`] to finish the handshake.
pub fn spawn<ToChild, FromChild>(
    role: ProcessRole,
    options: ChildOptions,
) -> Result<PendingChild<ToChild, FromChild>, LauncherError>
where
    ToChild: Serialize + for<'de> Deserialize<'de> + Send + 'static,
    FromChild: Serialize + for<'de> Deserialize<'de> + Send + 'static,
{
    let spawn_error = |source: std::io::Error| LauncherError::Spawn { role, source };
    let (server, server_name) =
        IpcOneShotServer::<Bootstrap<ToChild, FromChild>>::new().map_err(spawn_error)?;
    let exe = std::env::current_exe().map_err(spawn_error)?;
    let mut command = Command::new(exe);
    command
        .arg(format!("--role={role}"))
        .arg("--bootstrap")
        .arg(&server_name)
        .env(LAUNCHER_PID_ENV, std::process::id().to_string())
        .stdin(Stdio::null());
    if options.verbose {
        command.arg("--verbose");
    }
    if let Some(server) = &options.crash_server {
        command.arg("--crash-server").arg(server);
    }
    if let Some(point) = options.crash_test {
        command.arg("--crash-test").arg(point.as_str());
    }
    if role == ProcessRole::Gpu {
        quiet_mesa(&mut command);
    }
    let child = command.spawn().map_err(spawn_error)?;
    track(child.id());
    let (sender, accepted) = crossbeam_channel::bounded(1);
    thread::Builder::new()
        .name(format!("accept-{role}"))
        .spawn(move || {
            let result = server.accept().map(|(_, bootstrap)| bootstrap).map_err(|error| error.to_string());
            let _ = sender.send(result);
        })
        .map_err(spawn_error)?;
    Ok(PendingChild { role, child: Some(child), server_name, accepted })
}

/// Mesa's Vulkan device-select layer complains on stderr when XDG_RUNTIME_DIR is unset
/// (it probes for a Wayland/X display); a headless GPU process has no use for that layer.
fn quiet_mesa(command: &mut Command) {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        command.env("NODEVICE_SELECT", "1");
    }
}

impl<ToChild, FromChild> PendingChild<ToChild, FromChild>
where
    ToChild: Serialize + for<'de> Deserialize<'de>,
    FromChild: Serialize + for<'de> Deserialize<'de>,
{
    /// Waits for the child to connect, watching it die or time out meanwhile.
    pub fn connect(mut self) -> Result<ChildProcess<ToChild, FromChild>, LauncherError> {
        let started = Instant::now();
        let role = self.role;
        let Some(mut child) = self.child.take() else {
            return Err(LauncherError::Handshake { role, pid: 0, reason: "no child".into(), status: None });
        };
        let pid = child.id();
        loop {
            match self.accepted.recv_timeout(WATCHDOG_TICK) {
                Ok(Ok(bootstrap)) => {
                    return Ok(ChildProcess {
                        role,
                        pid,
                        child: Some(child),
                        sender: bootstrap.to_child,
                        receiver: Some(bootstrap.from_child),
                        closed: None,
                    });
                }
                Ok(Err(reason)) => {
                    let status = Some(kill_and_reap(&mut child));
                    return Err(LauncherError::Handshake { role, pid, reason, status });
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    let status = Some(kill_and_reap(&mut child));
                    let reason = "the accept thread ended without an answer".to_owned();
                    return Err(LauncherError::Handshake { role, pid, reason, status });
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                untrack(pid);
                self.unblock_accept();
                return Err(LauncherError::ExitedBeforeConnecting { role, pid, status });
            }
            if started.elapsed() > CONNECT_TIMEOUT {
                kill_and_reap(&mut child);
                self.unblock_accept();
                return Err(LauncherError::ConnectTimeout { role, pid, timeout: CONNECT_TIMEOUT });
            }
        }
    }
}

impl<ToChild, FromChild> ChildProcess<ToChild, FromChild> {
    /// Forwards the child's messages into `events` from a thread of its own, ending with
    /// `closed_event` when the channel closes (the child exited or crashed).
    pub fn route<Event: Send + 'static>(
        &mut self,
        events: crossbeam_channel::Sender<Event>,
        wrap: impl Fn(FromChild) -> Event + Send + 'static,
        closed_event: Event,
    ) where
        FromChild: for<'de> Deserialize<'de> + Serialize + Send + 'static,
    {
        let Some(receiver) = self.receiver.take() else { return };
        let (closed_sender, closed) = crossbeam_channel::bounded::<()>(0);
        self.closed = Some(closed);
        let spawned = thread::Builder::new().name(format!("router-{}", self.role)).spawn(move || {
            // Dropped when this thread ends, which tells `wait_or_kill` the channel closed.
            let _closed_sender = closed_sender;
            while let Ok(message) = receiver.recv() {
                if events.send(wrap(message)).is_err() {
                    return;
                }
            }
            let _ = events.send(closed_event);
        });
        if let Err(error) = spawned {
            tracing::error!("cannot start the {} router thread: {error}", self.role);
        }
    }

    /// Waits up to `grace` for the child to exit by itself, then kills it; always reaps.
    ///
    /// A routed child is waited for through its channel closing, never by polling
    /// `waitpid`: while the crash monitor writes a dump it ptrace-attaches to the child, and
    /// a `waitpid` from any launcher thread would steal the stop it waits for and hang it
    /// (minidump-writer #171). The channel closes only once the child is dead, so a
    /// blocking `wait` after that is safe.
    pub fn wait_or_kill(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let deadline = Instant::now() + grace;
        if let Some(closed) = &self.closed {
            let status = match closed.recv_deadline(deadline) {
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => match child.wait() {
                    Ok(status) => status,
                    Err(_) => kill_and_reap(&mut child),
                },
                _ => kill_and_reap(&mut child),
            };
            untrack(self.pid);
            return Some(status);
        }
        while Instant::now() < deadline {
            match child.try_wait() {
                Ok(Some(status)) => {
                    untrack(self.pid);
                    return Some(status);
                }
                Ok(None) => thread::sleep(Duration::from_millis(5)),
                Err(_) => break,
            }
        }
        Some(kill_and_reap(&mut child))
    }

    /// Reaps a child whose channel closed; it is dead or dying, so wait briefly.
    pub fn reap(&mut self) -> Option<ExitStatus> {
        self.wait_or_kill(Duration::from_secs(2))
    }
}

impl<ToChild, FromChild> Drop for ChildProcess<ToChild, FromChild> {
    fn drop(&mut self) {
        // Never leave a zombie or an orphan behind, whatever path dropped us.
        if let Some(mut child) = self.child.take() {
            kill_and_reap(&mut child);
        }
    }
}

impl<ToChild, FromChild> PendingChild<ToChild, FromChild> {
    /// Connects to our own one-shot server and hangs up, so the blocked `accept()` returns
    /// (with an error, which nobody is waiting for any more). The message type is irrelevant.
    fn unblock_accept(&self) {
        if let Ok(sender) = IpcSender::<()>::connect(self.server_name.clone()) {
            drop(sender);
        }
    }
}

impl<ToChild, FromChild> Drop for PendingChild<ToChild, FromChild> {
    fn drop(&mut self) {
        // Dropped before connecting (another child failed first): kill, reap, unblock.
        if let Some(mut child) = self.child.take() {
            kill_and_reap(&mut child);
            self.unblock_accept();
        }
    }
}

fn kill_and_reap(child: &mut Child) -> ExitStatus {
    let _ = child.kill();
    untrack(child.id());
    match child.wait() {
        Ok(status) => status,
        // Already reaped elsewhere (the signal thread); report it as killed.
        Err(_) => std::os::unix::process::ExitStatusExt::from_raw(Signal::KILL.as_raw()),
    }
}

/// Installs SIGTERM/SIGINT handling: kill and reap every child, then exit 128+signal, so
/// that stopping the launcher never leaves zombies or orphans.
pub fn install_signal_cleanup() -> Result<(), LauncherError> {
    let mut signals =
        signal_hook::iterator::Signals::new([signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT])
            .map_err(LauncherError::Signals)?;
    thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                TERMINATING_SIGNAL.store(signal, Ordering::SeqCst);
                terminate_all_children();
                std::process::exit(128 + signal);
            }
        })
        .map_err(LauncherError::Signals)?;
    Ok(())
}

fn terminate_all_children() {
    let pids = std::mem::take(&mut *LIVE_CHILDREN.lock().unwrap_or_else(|poison| poison.into_inner()));
    let pids: Vec<Pid> = pids.into_iter().filter_map(|pid| Pid::from_raw(pid as i32)).collect();
    for &pid in &pids {
        let _ = rustix::process::kill_process(pid, Signal::TERM);
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    for &pid in &pids {
        loop {
            match rustix::process::waitpid(Some(pid), WaitOptions::NOHANG) {
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Ok(None) => {
                    let _ = rustix::process::kill_process(pid, Signal::KILL);
                    let _ = rustix::process::waitpid(Some(pid), WaitOptions::empty());
                    break;
                }
                _ => break,
            }
        }
    }
}
