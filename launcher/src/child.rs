//! The child side of process start-up: what `armature --role=gpu|content` does before it
//! hands over to the GPU or content crate.
//!
//! Chromium/Servo style: the launcher re-executes its own binary with a role flag and the
//! name of a one-shot ipc server; the child connects, sends the two ends of its control
//! channel, and from then on talks only through them.

use std::process::ExitCode;

use armature_api::messages::{ChildBootstrap, ProcessRole};
use armature_api::{ProbePoint, SharedProbe};
use ipc_channel::ipc::{self, IpcSender};
use serde::{Deserialize, Serialize};

/// The hidden arguments a child is started with.
#[derive(Debug, PartialEq)]
pub struct ChildArgs {
    /// Which role.
    pub role: ProcessRole,
    /// The launcher's one-shot bootstrap server.
    pub bootstrap: String,
    /// Whether `--verbose` was given to the launcher.
    pub verbose: bool,
    /// The launcher's crash monitor, if it runs one.
    pub crash_server: Option<String>,
    /// Test switch: crash at this point.
    pub crash_test: Option<ProbePoint>,
}

/// Environment variable naming the launcher's pid, so a child can tell whether it was
/// orphaned before it could ask for the parent-death signal.
pub const LAUNCHER_PID_ENV: &str = "ARMATURE_LAUNCHER_PID";

/// Test switch: `ARMATURE_TEST_EXIT_AT=gpu-startup` (or `content-startup`) makes that child
/// exit with [`TEST_EXIT_STATUS`] before it connects, to exercise the launcher's watchdog.
pub const TEST_EXIT_ENV: &str = "ARMATURE_TEST_EXIT_AT";
/// The exit status used by the test switch.
pub const TEST_EXIT_STATUS: u8 = 42;

/// Parses the child command line; `None` if this is not a child invocation.
pub fn parse_args(args: &[String]) -> Option<Result<ChildArgs, String>> {
    let role = args.get(1)?.strip_prefix("--role=")?;
    let role = match role {
        "gpu" => ProcessRole::Gpu,
        "content" => ProcessRole::Content,
        other => return Some(Err(format!("unknown role '{other}' (expected gpu or content)"))),
    };
    let mut bootstrap = None;
    let mut verbose = false;
    let mut crash_server = None;
    let mut crash_test = None;
    let mut rest = args[2..].iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--bootstrap" => bootstrap = rest.next().cloned(),
            "--verbose" => verbose = true,
            "--crash-server" => crash_server = rest.next().cloned(),
            "--crash-test" => match rest.next().map(|point| point.parse::<ProbePoint>()) {
                Some(Ok(point)) => crash_test = Some(point),
                Some(Err(error)) => return Some(Err(error)),
                None => return Some(Err("--crash-test needs a point".to_owned())),
            },
            other => return Some(Err(format!("unexpected child argument '{other}'"))),
        }
    }
    Some(match bootstrap {
        Some(bootstrap) => Ok(ChildArgs { role, bootstrap, verbose, crash_server, crash_test }),
        None => Err("child started without --bootstrap".to_owned()),
    })
}

/// Runs a child process to completion.
pub fn main(args: ChildArgs) -> ExitCode {
    // The lifeline, part one: the kernel kills us when the launcher dies, even by SIGKILL.
    // (It fires when the *thread* that forked us exits; the launcher forks from main.)
    if let Err(error) = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
    {
        eprintln!("armature {}: cannot set the parent-death signal: {error}", args.role);
    }
    if launcher_already_gone() {
        return ExitCode::FAILURE;
    }
    crate::logging::init(args.role.as_str(), args.verbose);
    if std::env::var(TEST_EXIT_ENV).is_ok_and(|point| point == format!("{}-startup", args.role)) {
        return ExitCode::from(TEST_EXIT_STATUS);
    }
    #[cfg(feature = "crash")]
    if args.crash_test == Some(ProbePoint::BeforeConnect) {
        armature_crash::crash_now();
    }
    // Crash reporting starts only once connected: until then the launcher watches this
    // process with `waitpid`, which must never overlap a dump (see `supervise`).
    let result = match args.role {
        ProcessRole::Gpu => connect(&args.bootstrap).and_then(|(to_launcher, from_launcher)| {
            let (_crash, probe) = crash_reporting(&args);
            armature_gpu::run(to_launcher, from_launcher, probe).map_err(|error| error.to_string())
        }),
        ProcessRole::Content => connect(&args.bootstrap).and_then(|(to_launcher, from_launcher)| {
            let (_crash, probe) = crash_reporting(&args);
            armature_content::run(to_launcher, from_launcher, probe).map_err(|error| error.to_string())
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Installs crash reporting (with the `crash` feature) and returns what keeps it alive and
/// the probe the role's main loop reports to.
#[cfg(feature = "crash")]
fn crash_reporting(args: &ChildArgs) -> (crate::crash::ChildCrash, SharedProbe) {
    let crash = crate::crash::ChildCrash::install(args.role, args.crash_server.as_deref());
    (crash, crate::crash::ChildProbe::shared(args.crash_test))
}

/// Without the `crash` feature there is nothing to report to.
#[cfg(not(feature = "crash"))]
fn crash_reporting(_args: &ChildArgs) -> ((), SharedProbe) {
    ((), armature_api::probe::no_probe())
}

/// Whether we were orphaned before the parent-death signal was armed.
fn launcher_already_gone() -> bool {
    let expected = std::env::var(LAUNCHER_PID_ENV).ok().and_then(|pid| pid.parse::<i32>().ok());
    let actual = rustix::process::getppid().map(|pid| pid.as_raw_nonzero().get());
    expected.is_some() && expected != actual
}

/// Connects to the launcher's bootstrap server and hands it our control channel.
fn connect<ToChild, FromChild>(
    server: &str,
) -> Result<(IpcSender<FromChild>, ipc::IpcReceiver<ToChild>), String>
where
    ToChild: Serialize + for<'de> Deserialize<'de>,
    FromChild: Serialize + for<'de> Deserialize<'de>,
{
    let failed = |error: &dyn std::fmt::Display| format!("cannot connect to the launcher: {error}");
    let bootstrap = IpcSender::<ChildBootstrap<ToChild, FromChild>>::connect(server.to_owned())
        .map_err(|error| failed(&error))?;
    let (to_child, from_launcher) = ipc::channel().map_err(|error| failed(&error))?;
    let (to_launcher, from_child) = ipc::channel().map_err(|error| failed(&error))?;
    bootstrap
        .send(ChildBootstrap { pid: std::process::id(), to_child, from_child })
        .map_err(|error| failed(&error))?;
    Ok((to_launcher, from_launcher))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| arg.to_string()).collect()
    }

    #[test]
    fn child_arguments() {
        assert_eq!(parse_args(&args(&["armature", "page.html"])), None);
        assert_eq!(
            parse_args(&args(&["armature", "--role=gpu", "--bootstrap", "x", "--verbose"])),
            Some(Ok(ChildArgs {
                role: ProcessRole::Gpu,
                bootstrap: "x".into(),
                verbose: true,
                crash_server: None,
                crash_test: None
            }))
        );
        assert!(matches!(parse_args(&args(&["armature", "--role=nope"])), Some(Err(_))));
        assert!(matches!(parse_args(&args(&["armature", "--role=content"])), Some(Err(_))));
        let parsed = parse_args(&args(&[
            "armature",
            "--role=content",
            "--bootstrap",
            "x",
            "--crash-server",
            "sock",
            "--crash-test",
            "mid-frame",
        ]));
        let parsed = parsed.expect("a child").expect("valid");
        assert_eq!(parsed.crash_server.as_deref(), Some("sock"));
        assert_eq!(parsed.crash_test, Some(ProbePoint::MidFrame));
        let bad =
            parse_args(&args(&["armature", "--role=gpu", "--bootstrap", "x", "--crash-test", "nowhere"]));
        assert!(matches!(bad, Some(Err(_))));
    }
}
