//! A Debug Adapter Protocol server for the VMs, on TCP, loopback only.
//!
//! One client at a time. Each VM is a DAP thread (id = VM id + 1, named after the VM).
//! `pause` stops the world and the `stopped` event says `allThreadsStopped`; `continue`
//! resumes every VM; `next`/`stepIn` let one VM advance (RunOne) while the others stay
//! stopped. Requests that need a VM's store (stack traces, locals) are served by that VM at
//! its stop point. docs/guides/debugger.md shows a session.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::inspect::{Frame, Local};
use crate::manager::{Mode, StopEvent, StopReason, VmId};
use crate::vm::VmHandle;

/// How long a request waits for a stopped VM to answer.
const INSPECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Frame ids encode the VM: `vm * FRAMES_PER_VM + index + 1`.
const FRAMES_PER_VM: i64 = 100_000;
/// A message larger than this is refused (and the client dropped).
const MAX_MESSAGE: usize = 1 << 20;

/// Starting the debugger server failed.
#[derive(Debug, thiserror::Error)]
pub enum DapError {
    /// Only loopback addresses are served: a debugger can read and stop every script.
    #[error("the debugger listens on 127.0.0.1 only, not on {0}: pass --debug-port PORT (or 127.0.0.1:PORT)")]
    NotLoopback(SocketAddr),
    /// The port is taken or not allowed.
    #[error("cannot listen for a debugger on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A bound, not yet serving, debugger server.
pub struct DapServer {
    listener: TcpListener,
}

impl DapServer {
    /// Binds to `addr`, which must be a loopback address.
    pub fn bind(addr: SocketAddr) -> Result<DapServer, DapError> {
        if !addr.ip().is_loopback() {
            return Err(DapError::NotLoopback(addr));
        }
        let listener = TcpListener::bind(addr).map_err(|source| DapError::Bind { addr, source })?;
        Ok(DapServer { listener })
    }

    /// The address it listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves clients, one after another, on a thread of its own; `on_detach` runs after
    /// each client leaves.
    pub fn serve(self, vms: VmHandle, on_detach: Box<dyn Fn() + Send>) -> std::io::Result<()> {
        let route: Arc<Mutex<Option<Arc<Writer>>>> = Arc::new(Mutex::new(None));
        let events = route.clone();
        vms.manager().set_callback(Box::new(move |event| {
            let writer = events.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
            if let Some(writer) = writer {
                writer.stopped(event);
            }
        }));
        std::thread::Builder::new().name("dap-server".into()).spawn(move || {
            for stream in self.listener.incoming() {
                let Ok(stream) = stream else { continue };
                let peer = stream.peer_addr().map(|addr| addr.to_string()).unwrap_or_default();
                tracing::info!(target: "armature::vm", "debugger attached from {peer}");
                if let Err(error) = session(stream, &vms, &route) {
                    tracing::warn!(target: "armature::vm", "debugger session ended: {error}");
                }
                *route.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
                // A client that goes away must not leave the page stopped.
                vms.manager().resume();
                tracing::info!(target: "armature::vm", "debugger detached");
                on_detach();
            }
        })?;
        Ok(())
    }
}

/// The outgoing half of a session: responses and events, numbered.
struct Writer {
    stream: Mutex<(TcpStream, i64)>,
}

impl Writer {
    fn send(&self, mut message: Value) {
        let mut guard = self.stream.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        guard.1 += 1;
        message["seq"] = json!(guard.1);
        let body = message.to_string();
        let framed = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        if let Err(error) = guard.0.write_all(framed.as_bytes()) {
            tracing::debug!(target: "armature::vm", "cannot write to the debugger: {error}");
        }
    }

    fn event(&self, event: &str, body: Value) {
        self.send(json!({ "type": "event", "event": event, "body": body }));
    }

    fn stopped(&self, event: StopEvent) {
        let (reason, thread) = match event.reason {
            StopReason::Pause => ("pause", None),
            StopReason::Breakpoint(vm) => ("instruction breakpoint", Some(vm)),
            StopReason::Step(vm) => ("step", Some(vm)),
        };
        let mut body = json!({
            "reason": reason,
            "allThreadsStopped": true,
            "description": format!("{} VMs stopped (stop {})", event.stopped, event.generation),
        });
        if let Some(vm) = thread {
            body["threadId"] = json!(thread_id(vm));
        }
        self.event("stopped", body);
    }
}

fn thread_id(vm: VmId) -> i64 {
    i64::from(vm.0) + 1
}

fn vm_of_thread(thread: i64) -> Option<VmId> {
    u32::try_from(thread - 1).ok().map(VmId)
}

/// Reads one framed message; `None` at the end of the stream.
fn read_message(reader: &mut impl BufRead) -> std::io::Result<Option<Value>> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let length = length.ok_or_else(|| invalid("a message without a Content-Length header"))?;
    if length > MAX_MESSAGE {
        return Err(invalid(&format!("a message of {length} bytes (at most {MAX_MESSAGE})")));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|error| invalid(&format!("a message that is not JSON: {error}")))
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("the debugger sent {what}"))
}

fn session(stream: TcpStream, vms: &VmHandle, route: &Mutex<Option<Arc<Writer>>>) -> std::io::Result<()> {
    let writer = Arc::new(Writer { stream: Mutex::new((stream.try_clone()?, 0)) });
    *route.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(writer.clone());
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_message(&mut reader)? {
        let command = request["command"].as_str().unwrap_or("").to_owned();
        let seq = request["seq"].as_i64().unwrap_or(0);
        let arguments = &request["arguments"];
        let reply = |result: Result<Value, String>| {
            let mut response = json!({
                "type": "response", "request_seq": seq, "command": command, "success": result.is_ok(),
            });
            match result {
                Ok(body) => response["body"] = body,
                Err(message) => response["message"] = json!(message),
            }
            writer.send(response);
        };
        match command.as_str() {
            "initialize" => {
                reply(Ok(json!({
                    "supportsConfigurationDoneRequest": true,
                    "supportsInstructionBreakpoints": vms.debug(),
                    "supportsSteppingGranularity": false,
                    "supportsTerminateRequest": false,
                })));
                writer.event("initialized", json!({}));
            }
            "attach" | "launch" | "configurationDone" => reply(Ok(json!({}))),
            "threads" => {
                let threads: Vec<Value> = vms
                    .vms()
                    .into_iter()
                    .map(|(id, name)| json!({ "id": thread_id(id), "name": name }))
                    .collect();
                reply(Ok(json!({ "threads": threads })));
            }
            "pause" => {
                vms.manager().request_stop(StopReason::Pause);
                reply(Ok(json!({})));
            }
            "continue" => {
                vms.manager().resume();
                reply(Ok(json!({ "allThreadsContinued": true })));
                writer.event(
                    "continued",
                    json!({ "threadId": arguments["threadId"], "allThreadsContinued": true }),
                );
            }
            "next" | "stepIn" | "stepOut" => {
                let result = match thread_arg(arguments) {
                    Some(vm) if vms.manager().step(vm) => Ok(json!({})),
                    Some(vm) => Err(format!(
                        "cannot step thread {}: the world is {:?}; pause first",
                        thread_id(vm),
                        vms.manager().mode()
                    )),
                    None => Err("a step needs a threadId".to_owned()),
                };
                reply(result);
            }
            "stackTrace" => reply(stack_trace(vms, arguments)),
            "scopes" => {
                let frame = arguments["frameId"].as_i64().unwrap_or(0);
                reply(Ok(json!({ "scopes": [
                    { "name": "Locals", "presentationHint": "locals", "variablesReference": frame, "expensive": false }
                ] })));
            }
            "variables" => reply(variables(vms, arguments)),
            "setInstructionBreakpoints" => reply(set_breakpoints(vms, arguments)),
            "disconnect" => {
                vms.manager().resume();
                reply(Ok(json!({})));
                return Ok(());
            }
            other => reply(Err(format!("armature's debugger does not support '{other}'"))),
        }
    }
    Ok(())
}

fn thread_arg(arguments: &Value) -> Option<VmId> {
    arguments["threadId"].as_i64().and_then(vm_of_thread)
}

/// Runs `job` on `vm` at its stop point and waits for its answer.
fn ask<T: Send + 'static>(
    vms: &VmHandle,
    vm: VmId,
    job: impl FnOnce(&mut dyn crate::manager::Inspect) -> T + Send + 'static,
) -> Result<T, String> {
    let (answer, answered) = crossbeam_channel::bounded(1);
    let queued = vms.manager().inspect(
        vm,
        Box::new(move |inspect| {
            let _ = answer.send(job(inspect));
        }),
    );
    if !queued {
        return Err(match vms.manager().mode() {
            Mode::Stopped => format!("there is no thread {}", thread_id(vm)),
            mode => format!("the VMs are not stopped ({mode:?}): pause first"),
        });
    }
    answered.recv_timeout(INSPECT_TIMEOUT).map_err(|_| format!("thread {} did not answer", thread_id(vm)))
}

fn stack_trace(vms: &VmHandle, arguments: &Value) -> Result<Value, String> {
    let vm = thread_arg(arguments).ok_or("stackTrace needs a threadId")?;
    let frames: Vec<Frame> = ask(vms, vm, |inspect| inspect.frames())?;
    let base = i64::from(vm.0) * FRAMES_PER_VM;
    let frames: Vec<Value> = frames
        .iter()
        .enumerate()
        .map(|(index, frame)| {
            let mut value = json!({
                "id": base + index as i64 + 1,
                "name": frame.function,
                "line": 0,
                "column": 0,
                "source": { "name": frame.script },
            });
            if let Some(offset) = frame.offset {
                value["instructionPointerReference"] = json!(format!("{offset:#x}"));
            }
            value
        })
        .collect();
    Ok(json!({ "stackFrames": frames, "totalFrames": frames.len() }))
}

fn variables(vms: &VmHandle, arguments: &Value) -> Result<Value, String> {
    let reference = arguments["variablesReference"].as_i64().unwrap_or(0);
    if reference <= 0 {
        return Err(format!("no variables with reference {reference}"));
    }
    let vm = VmId(u32::try_from((reference - 1) / FRAMES_PER_VM).map_err(|_| "a bad variablesReference")?);
    let index = ((reference - 1) % FRAMES_PER_VM) as usize;
    let locals: Vec<Local> = ask(vms, vm, move |inspect| inspect.locals(index))?;
    let variables: Vec<Value> = locals
        .iter()
        .map(|local| json!({ "name": local.name, "value": local.value, "type": local.kind, "variablesReference": 0 }))
        .collect();
    Ok(json!({ "variables": variables }))
}

fn set_breakpoints(vms: &VmHandle, arguments: &Value) -> Result<Value, String> {
    if !vms.debug() {
        return Err("instruction breakpoints need guest debugging, which is on only with --debug-port".into());
    }
    let requested = arguments["breakpoints"].as_array().cloned().unwrap_or_default();
    let mut offsets = Vec::new();
    let mut answers = Vec::new();
    for breakpoint in &requested {
        let reference = breakpoint["instructionReference"].as_str().unwrap_or("");
        let parsed = parse_offset(reference)
            .map(|base| base + breakpoint["offset"].as_i64().unwrap_or(0))
            .and_then(|offset| u32::try_from(offset).ok());
        match parsed {
            Some(offset) => {
                offsets.push(offset);
                answers.push(json!({ "verified": true, "instructionReference": format!("{offset:#x}") }));
            }
            None => answers.push(json!({
                "verified": false,
                "message": format!("'{reference}' is not a wasm module offset (like 0x2a)"),
            })),
        }
    }
    vms.set_instruction_breakpoints(offsets);
    Ok(json!({ "breakpoints": answers }))
}

fn parse_offset(reference: &str) -> Option<i64> {
    match reference.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => reference.parse().ok(),
    }
}
