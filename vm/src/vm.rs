//! The VMs: each on its own thread with a wasmtime store and a run loop (a crossbeam channel
//! of [`Task`]s), all sharing one engine, one epoch and one [`VmManager`].
//!
//! Every task enters through one entry path, which is where an idle VM notices a pending stop
//! (the stop task is an empty [`Task::Enter`]). Running wasm notices it at epoch checks: the
//! engine's epoch is bumped on a stop request and then every 100 µs until every VM has
//! arrived, because a bump that lands between a VM's last check and its new deadline is
//! absorbed. A ticker bumps it every 10 ms otherwise, which also enforces the script budget.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use wasmtime::{
    AsContextMut, Caller, Config, DebugEvent, DebugHandler, Engine, Extern, Instance, Linker, Module,
    ModulePC, Store, StoreContextMut, Trap, UpdateDeadline, Val, WasmBacktrace,
};

use crate::host::{CanvasCall, Host};
use crate::inspect::{Frame, Local};
use crate::manager::{HookPoint, Inspect, Mode, StopReason, StopSignal, StopSite, VmId, VmManager, VmState};
use crate::script::{Script, ScriptError};

/// How often the ticker bumps the epoch while the world runs.
const TICK: Duration = Duration::from_millis(10);
/// How often it re-bumps while a stop or step waits for a VM.
const FAST_TICK: Duration = Duration::from_micros(100);
/// The import module of the host API.
pub const HOST_MODULE: &str = "armature";

/// How the VMs are set up.
#[derive(Clone, Debug)]
pub struct VmConfig {
    /// Guest debugging (locals, breakpoints, single steps). It costs about 3× in speed, so it
    /// is on only when a debugger can attach.
    pub debug: bool,
    /// How long one task may run before it is stopped as an infinite loop.
    pub script_timeout: Duration,
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig { debug: false, script_timeout: Duration::from_secs(5) }
    }
}

/// Setting up the engine failed.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// wasmtime refused the configuration.
    #[error("cannot create the wasm engine: {0}")]
    Engine(String),
}

/// A unit of work on a VM's run loop.
#[derive(Debug)]
pub enum Task {
    /// Enter and leave: the stop task. The entry path notices a pending stop.
    Enter,
    /// Compile, instantiate and run a script's `main` export.
    Run(Script),
    /// Call `on_frame(time_ms)` in the instances that asked for a frame.
    AnimationFrame(f64),
    /// Call `on_timer(token)` in the instances whose timers are due.
    Timer,
    /// Call `on_message(from, value)` in every instance.
    Message { from: VmId, value: i32 },
    /// Call `on_context_restored()` in every instance: the canvases were made again, blank,
    /// in a relaunched GPU process (Canvas 2D's `contextrestored` event).
    ContextRestored,
    /// Leave the run loop.
    Exit,
}

struct Entry {
    name: String,
    tasks: Sender<Task>,
}

struct Shared {
    engine: Engine,
    manager: Arc<VmManager>,
    host: Arc<dyn Host>,
    config: VmConfig,
    directory: RwLock<BTreeMap<VmId, Entry>>,
    /// Tasks queued or running, for [`VmGroup::wait_idle`].
    pending: Mutex<usize>,
    settled: Condvar,
    /// VMs that asked for an animation frame.
    frame_wanted: Mutex<BTreeSet<VmId>>,
    /// Instruction breakpoints (module offsets) and a generation VMs compare with theirs.
    breakpoints: Mutex<Vec<u32>>,
    breakpoints_generation: AtomicU64,
    closing: AtomicBool,
    /// Set once every VM thread is joined: the ticker must outlive them, since a VM
    /// spinning in wasm leaves only at an epoch check, and only a bump makes one fire.
    ticker_done: AtomicBool,
    wake_ticker: Sender<()>,
}

impl Shared {
    fn send(&self, vm: VmId, task: Task) -> bool {
        let directory = self.directory.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(entry) = directory.get(&vm) else { return false };
        *self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) += 1;
        if entry.tasks.send(task).is_err() {
            self.done_one();
            return false;
        }
        true
    }

    fn done_one(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *pending = pending.saturating_sub(1);
        if *pending == 0 {
            self.settled.notify_all();
        }
    }
}

/// How the manager's stop requests reach the VMs.
struct Signal(Weak<Shared>);

impl StopSignal for Signal {
    fn signal(&self, targets: &[VmId]) {
        let Some(shared) = self.0.upgrade() else { return };
        shared.engine.increment_epoch();
        for &vm in targets {
            shared.send(vm, Task::Enter);
        }
        let _ = shared.wake_ticker.try_send(());
    }
}

/// Every VM of a process.
pub struct VmGroup {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    ticker: Option<JoinHandle<()>>,
}

impl VmGroup {
    /// Makes the engine and the ticker; no VMs yet.
    pub fn new(host: Arc<dyn Host>, config: VmConfig) -> Result<VmGroup, VmError> {
        let mut engine_config = Config::new();
        engine_config.epoch_interruption(true);
        if config.debug {
            engine_config.guest_debug(true);
        }
        let engine = Engine::new(&engine_config).map_err(|error| VmError::Engine(format!("{error:#}")))?;
        let manager = Arc::new(VmManager::new());
        let (wake_ticker, woken) = crossbeam_channel::bounded(1);
        let shared = Arc::new(Shared {
            engine,
            manager: manager.clone(),
            host,
            config,
            directory: RwLock::new(BTreeMap::new()),
            pending: Mutex::new(0),
            settled: Condvar::new(),
            frame_wanted: Mutex::new(BTreeSet::new()),
            breakpoints: Mutex::new(Vec::new()),
            breakpoints_generation: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            ticker_done: AtomicBool::new(false),
            wake_ticker,
        });
        manager.set_signal(Arc::new(Signal(Arc::downgrade(&shared))));
        let ticker_shared = shared.clone();
        let ticker = std::thread::Builder::new()
            .name("vm-ticker".into())
            .spawn(move || ticker(&ticker_shared, &woken))
            .map_err(|error| VmError::Engine(format!("cannot start the epoch ticker: {error}")))?;
        Ok(VmGroup { shared, threads: Mutex::new(Vec::new()), ticker: Some(ticker) })
    }

    /// Starts a VM thread named `name` ("main", or a worker script's name).
    pub fn spawn(&self, name: &str) -> VmId {
        let id = self.shared.manager.register(name);
        let (tasks, receiver) = crossbeam_channel::unbounded();
        self.shared
            .directory
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id, Entry { name: name.to_owned(), tasks });
        let shared = self.shared.clone();
        let name = name.to_owned();
        let thread = std::thread::Builder::new()
            .name(format!("vm-{name}"))
            .spawn(move || run_loop(&shared, id, &receiver));
        match thread {
            Ok(thread) => self.threads.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(thread),
            Err(error) => {
                tracing::error!(target: "armature::vm", "cannot start VM thread {name}: {error}");
                self.shared.directory.write().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&id);
                self.shared.manager.unregister(id);
            }
        }
        id
    }

    /// Queues a task on `vm`'s run loop; `false` if there is no such VM.
    pub fn send(&self, vm: VmId, task: Task) -> bool {
        self.shared.send(vm, task)
    }

    /// Queues a script on `vm`.
    pub fn run_script(&self, vm: VmId, script: Script) -> bool {
        self.send(vm, Task::Run(script))
    }

    /// Sends an animation frame to every VM that asked for one; returns how many.
    pub fn animation_frame(&self, time_ms: f64) -> usize {
        let wanted = std::mem::take(
            &mut *self.shared.frame_wanted.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        wanted.into_iter().filter(|&vm| self.send(vm, Task::AnimationFrame(time_ms))).count()
    }

    /// Tells every VM that the canvases were made again, blank (see
    /// [`Task::ContextRestored`]); returns how many VMs were told.
    pub fn context_restored(&self) -> usize {
        let vms: Vec<VmId> = {
            let directory = self.shared.directory.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            directory.keys().copied().collect()
        };
        vms.into_iter().filter(|&vm| self.send(vm, Task::ContextRestored)).count()
    }

    /// Whether some VM waits for an animation frame.
    pub fn wants_animation_frame(&self) -> bool {
        !self.shared.frame_wanted.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).is_empty()
    }

    /// Waits until no task is queued or running, at most `timeout`. `true` if settled.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut pending = self.shared.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while *pending > 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { return false };
            pending = self
                .shared
                .settled
                .wait_timeout(pending, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        true
    }

    /// The world's coordinator.
    pub fn manager(&self) -> &Arc<VmManager> {
        &self.shared.manager
    }

    /// A handle for a debugger: it does not keep the VM threads alive.
    pub fn handle(&self) -> VmHandle {
        VmHandle(self.shared.clone())
    }

    /// Every VM's id and name, in id order.
    pub fn vms(&self) -> Vec<(VmId, String)> {
        self.handle().vms()
    }
}

/// What a debugger needs of a [`VmGroup`]: its manager, its VMs' names, breakpoints.
#[derive(Clone)]
pub struct VmHandle(Arc<Shared>);

impl VmHandle {
    /// The world's coordinator.
    pub fn manager(&self) -> &Arc<VmManager> {
        &self.0.manager
    }

    /// Every VM's id and name, in id order.
    pub fn vms(&self) -> Vec<(VmId, String)> {
        let directory = self.0.directory.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        directory.iter().map(|(&id, entry)| (id, entry.name.clone())).collect()
    }

    /// Queues a task on `vm`'s run loop; `false` if there is no such VM.
    pub fn send(&self, vm: VmId, task: Task) -> bool {
        self.0.send(vm, task)
    }

    /// Whether guest debugging is on (locals, breakpoints, instruction steps).
    pub fn debug(&self) -> bool {
        self.0.config.debug
    }

    /// Replaces the instruction breakpoints (module offsets, applied to every module).
    pub fn set_instruction_breakpoints(&self, offsets: Vec<u32>) {
        *self.0.breakpoints.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = offsets;
        self.0.breakpoints_generation.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for VmGroup {
    /// Resumes a stopped world, tells every VM to leave, and joins the threads. A VM stuck
    /// in a host call is not waited for beyond its script budget (the ticker interrupts it).
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        self.shared.manager.resume();
        let ids: Vec<VmId> = self.vms().into_iter().map(|(id, _)| id).collect();
        for id in ids {
            self.shared.send(id, Task::Exit);
        }
        let _ = self.shared.wake_ticker.try_send(());
        for thread in self.threads.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).drain(..) {
            let _ = thread.join();
        }
        self.shared.ticker_done.store(true, Ordering::SeqCst);
        let _ = self.shared.wake_ticker.try_send(());
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

fn ticker(shared: &Shared, woken: &Receiver<()>) {
    while !shared.ticker_done.load(Ordering::SeqCst) {
        // Fast while stopping (a bump can be absorbed) and while closing (spinning VMs
        // leave at their next check).
        let fast = shared.closing.load(Ordering::SeqCst)
            || matches!(shared.manager.mode(), Mode::Stopping | Mode::RunOne(_));
        let _ = woken.recv_timeout(if fast { FAST_TICK } else { TICK });
        shared.engine.increment_epoch();
    }
}

/// A loaded script: its name and instance.
struct Loaded {
    name: String,
    instance: Instance,
}

/// The store's data: what host calls and the epoch callback need.
struct VmData {
    id: VmId,
    shared: Arc<Shared>,
    /// The script and export running now, for errors.
    script: String,
    export: String,
    task_started: Instant,
    stopped_for: Duration,
    timed_out: bool,
    /// Instances (by index into `loaded`) that asked for a frame.
    frame_requests: BTreeSet<usize>,
    current: usize,
    modules: Vec<(Module, String)>,
    single_stepping: bool,
    /// `set_timeout` timers: (due, sequence, instance, token), earliest first.
    timers: std::collections::BinaryHeap<std::cmp::Reverse<(Instant, u64, usize, i32)>>,
    timer_sequence: u64,
    breakpoints_seen: u64,
    applied_breakpoints: Vec<u32>,
}

impl VmData {
    fn over_budget(&self) -> bool {
        self.task_started.elapsed().saturating_sub(self.stopped_for) > self.shared.config.script_timeout
    }
}

fn run_loop(shared: &Arc<Shared>, id: VmId, tasks: &Receiver<Task>) {
    let manager = shared.manager.clone();
    let mut store = Store::new(
        &shared.engine,
        VmData {
            id,
            shared: shared.clone(),
            script: String::new(),
            export: String::new(),
            task_started: Instant::now(),
            stopped_for: Duration::ZERO,
            timed_out: false,
            frame_requests: BTreeSet::new(),
            current: 0,
            modules: Vec::new(),
            single_stepping: false,
            timers: std::collections::BinaryHeap::new(),
            timer_sequence: 0,
            breakpoints_seen: 0,
            applied_breakpoints: Vec::new(),
        },
    );
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut ctx| on_epoch(&mut ctx));
    if shared.config.debug {
        store.set_debug_handler(Debugger);
    }
    let linker = host_linker(&shared.engine);
    let mut loaded: Vec<Loaded> = Vec::new();
    loop {
        manager.set_state(id, VmState::Idle);
        let next_timer = store.data().timers.peek().map(|timer| timer.0.0);
        let task = match next_timer {
            Some(due) => crossbeam_channel::select! {
                recv(tasks) -> task => task,
                recv(crossbeam_channel::at(due)) -> _ => {
                    // Timers are not queued work: count this one as it starts.
                    *shared.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) += 1;
                    Ok(Task::Timer)
                }
            },
            None => tasks.recv(),
        };
        let Ok(task) = task else { break };
        manager.set_state(id, VmState::Active);
        manager.hook(HookPoint::BeforeEntry, id);
        // The one entry path: the stop task and real work both come through here.
        if manager.should_stop() {
            manager.stop_point(id, StopSite::Entry, &mut NoWasm);
            after_stop(&mut store.as_context_mut());
        }
        let exit = matches!(task, Task::Exit);
        match task {
            Task::Enter | Task::Exit => {}
            Task::Run(script) => load(&mut store, &linker, &mut loaded, script),
            Task::AnimationFrame(time) => {
                let asked = std::mem::take(&mut store.data_mut().frame_requests);
                for index in asked {
                    call(&mut store, &loaded, index, "on_frame", &[Val::F64(time.to_bits())]);
                }
            }
            Task::Timer => {
                let now = Instant::now();
                while let Some(timer) = store.data().timers.peek().copied()
                    && timer.0.0 <= now
                {
                    store.data_mut().timers.pop();
                    let (_, _, index, token) = timer.0;
                    call(&mut store, &loaded, index, "on_timer", &[Val::I32(token)]);
                }
            }
            Task::ContextRestored => {
                for index in 0..loaded.len() {
                    call(&mut store, &loaded, index, "on_context_restored", &[]);
                }
            }
            Task::Message { from, value } => {
                for index in 0..loaded.len() {
                    call(
                        &mut store,
                        &loaded,
                        index,
                        "on_message",
                        &[Val::I32(from.0 as i32), Val::I32(value)],
                    );
                }
            }
        }
        // A step that ends with the task ends here, at the run loop.
        if manager.mode() == Mode::RunOne(id) {
            manager.stop_point(id, StopSite::Entry, &mut NoWasm);
            after_stop(&mut store.as_context_mut());
        }
        shared.host.task_done(id);
        shared.done_one();
        if exit {
            break;
        }
    }
    shared.directory.write().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&id);
    // Tasks still queued will never run.
    while tasks.try_recv().is_ok() {
        shared.done_one();
    }
    manager.unregister(id);
}

fn load(store: &mut Store<VmData>, linker: &Linker<VmData>, loaded: &mut Vec<Loaded>, script: Script) {
    let shared = store.data().shared.clone();
    let id = store.data().id;
    let module = match Module::new(&shared.engine, script.bytes()) {
        Ok(module) => module,
        Err(error) => {
            let error = ScriptError::Compile { script: script.name, message: format!("{error:#}") };
            shared.host.script_error(id, &error);
            return;
        }
    };
    store.data_mut().modules.push((module.clone(), script.name.clone()));
    store.data_mut().breakpoints_seen = u64::MAX; // apply breakpoints to the new module too
    begin(store, &script.name, "instantiation", loaded.len());
    let instance = if shared.config.debug {
        pollster::block_on(linker.instantiate_async(&mut *store, &module))
    } else {
        linker.instantiate(&mut *store, &module)
    };
    let instance = match instance {
        Ok(instance) => instance,
        Err(error) => {
            let error = ScriptError::Instantiate { script: script.name, message: format!("{error:#}") };
            shared.host.script_error(id, &error);
            return;
        }
    };
    loaded.push(Loaded { name: script.name, instance });
    call(store, loaded, loaded.len() - 1, "main", &[]);
}

fn begin(store: &mut Store<VmData>, script: &str, export: &str, index: usize) {
    let data = store.data_mut();
    data.script = script.to_owned();
    data.export = export.to_owned();
    data.task_started = Instant::now();
    data.stopped_for = Duration::ZERO;
    data.timed_out = false;
    data.current = index;
}

/// Calls `export` of loaded script `index` if it has it; reports a failure with the
/// script's name.
fn call(store: &mut Store<VmData>, loaded: &[Loaded], index: usize, export: &str, args: &[Val]) {
    let Some(script) = loaded.get(index) else { return };
    let Some(func) = script.instance.get_func(&mut *store, export) else { return };
    begin(store, &script.name, export, index);
    let mut results = vec![Val::I32(0); func.ty(&*store).results().len()];
    let result = if store.data().shared.config.debug {
        pollster::block_on(func.call_async(&mut *store, args, &mut results))
    } else {
        func.call(&mut *store, args, &mut results)
    };
    if let Err(error) = result {
        let data = store.data();
        if data.shared.closing.load(Ordering::SeqCst) {
            // Interrupted because the page is going away: not the script's fault.
            return;
        }
        let error = if data.timed_out && error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            ScriptError::Timeout {
                script: script.name.clone(),
                export: export.to_owned(),
                seconds: data.shared.config.script_timeout.as_secs_f64(),
            }
        } else {
            ScriptError::Trap {
                script: script.name.clone(),
                export: export.to_owned(),
                message: format!("{error:?}"),
            }
        };
        data.shared.host.script_error(data.id, &error);
    }
}

/// The epoch callback: the budget, then the stop point for active VMs.
fn on_epoch(ctx: &mut StoreContextMut<'_, VmData>) -> wasmtime::Result<UpdateDeadline> {
    if ctx.data().shared.closing.load(Ordering::SeqCst) {
        return Ok(UpdateDeadline::Interrupt);
    }
    if ctx.data().over_budget() {
        ctx.data_mut().timed_out = true;
        return Ok(UpdateDeadline::Interrupt);
    }
    let manager = ctx.data().shared.manager.clone();
    if manager.should_stop() {
        let id = ctx.data().id;
        let started = Instant::now();
        manager.stop_point(id, StopSite::Trap, &mut InStore { ctx: &mut *ctx });
        after_stop(ctx);
        ctx.data_mut().stopped_for += started.elapsed();
    }
    sync_breakpoints(ctx);
    Ok(UpdateDeadline::Continue(1))
}

/// Leaving a stop point: single-step only while this VM is the one stepping.
fn after_stop(ctx: &mut StoreContextMut<'_, VmData>) {
    if !ctx.data().shared.config.debug {
        return;
    }
    let stepping = ctx.data().shared.manager.mode() == Mode::RunOne(ctx.data().id);
    if stepping != ctx.data().single_stepping {
        if let Some(mut edit) = ctx.as_context_mut().edit_breakpoints()
            && let Err(error) = edit.single_step(stepping)
        {
            tracing::warn!(target: "armature::vm", "cannot change single-stepping: {error:#}");
        }
        ctx.data_mut().single_stepping = stepping;
    }
    sync_breakpoints(ctx);
}

fn sync_breakpoints(ctx: &mut StoreContextMut<'_, VmData>) {
    let shared = ctx.data().shared.clone();
    if !shared.config.debug {
        return;
    }
    let generation = shared.breakpoints_generation.load(Ordering::SeqCst);
    if ctx.data().breakpoints_seen == generation {
        return;
    }
    let wanted = shared.breakpoints.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    let old = std::mem::take(&mut ctx.data_mut().applied_breakpoints);
    let modules: Vec<Module> = ctx.data().modules.iter().map(|(module, _)| module.clone()).collect();
    if let Some(mut edit) = ctx.as_context_mut().edit_breakpoints() {
        for module in &modules {
            for &pc in &old {
                let _ = edit.remove_breakpoint(module, ModulePC::new(pc));
            }
            for &pc in &wanted {
                if let Err(error) = edit.add_breakpoint(module, ModulePC::new(pc)) {
                    tracing::warn!(target: "armature::vm", "cannot set a breakpoint at {pc:#x}: {error:#}");
                }
            }
        }
    }
    let data = ctx.data_mut();
    data.applied_breakpoints = wanted;
    data.breakpoints_seen = generation;
}

/// Guest-debugging events (breakpoints and single steps) lead to the same stop point.
#[derive(Clone)]
struct Debugger;

impl DebugHandler for Debugger {
    type Data = VmData;

    fn handle(
        &self,
        mut store: StoreContextMut<'_, VmData>,
        event: DebugEvent<'_>,
    ) -> impl Future<Output = ()> + Send {
        if matches!(event, DebugEvent::Breakpoint) {
            let manager = store.data().shared.manager.clone();
            let id = store.data().id;
            let mode = manager.mode();
            let stepping = store.data().single_stepping;
            if !stepping && mode == Mode::RunAll {
                manager.request_stop(StopReason::Breakpoint(id));
            }
            if manager.should_stop() {
                let started = Instant::now();
                manager.stop_point(id, StopSite::Breakpoint, &mut InStore { ctx: &mut store });
                store.data_mut().stopped_for += started.elapsed();
            }
            after_stop(&mut store);
        }
        std::future::ready(())
    }
}

/// A VM stopped in its entry path has no wasm on its stack.
struct NoWasm;

impl Inspect for NoWasm {
    fn frames(&mut self) -> Vec<Frame> {
        Vec::new()
    }
    fn locals(&mut self, _index: usize) -> Vec<Local> {
        Vec::new()
    }
}

/// A VM stopped inside wasm: frames from a wasm backtrace, locals from guest debugging.
struct InStore<'a, 'b> {
    ctx: &'a mut StoreContextMut<'b, VmData>,
}

impl Inspect for InStore<'_, '_> {
    fn frames(&mut self) -> Vec<Frame> {
        let backtrace = WasmBacktrace::force_capture(&*self.ctx);
        let data = self.ctx.data();
        backtrace
            .frames()
            .iter()
            .map(|frame| Frame {
                function: frame
                    .func_name()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("func[{}]", frame.func_index())),
                script: data
                    .modules
                    .iter()
                    .find(|(module, _)| Module::same(module, frame.module()))
                    .map(|(_, name)| name.clone())
                    .unwrap_or_else(|| data.script.clone()),
                offset: frame.module_offset(),
            })
            .collect()
    }

    fn locals(&mut self, index: usize) -> Vec<Local> {
        if !self.ctx.data().shared.config.debug {
            return Vec::new();
        }
        let Some(frame) = self.ctx.debug_exit_frames().nth(index) else { return Vec::new() };
        let count = frame.num_locals(&mut *self.ctx).unwrap_or(0);
        (0..count)
            .filter_map(|local| {
                frame.local(&mut *self.ctx, local).ok().map(|value| Local::from_val(local as usize, &value))
            })
            .collect()
    }
}

/// The host API (see docs/host-api.md).
fn host_linker(engine: &Engine) -> Linker<VmData> {
    let mut linker = Linker::new(engine);
    let define = |result: wasmtime::Result<&mut Linker<VmData>>| {
        if let Err(error) = result {
            tracing::error!(target: "armature::vm", "host API definition failed: {error:#}");
        }
    };
    define(linker.func_wrap(HOST_MODULE, "log", |mut caller: Caller<'_, VmData>, ptr: i32, len: i32| {
        let text = read_string(&mut caller, ptr, len)?;
        let data = caller.data();
        data.shared.host.console(data.id, &data.script, &text);
        Ok(())
    }));
    define(linker.func_wrap(HOST_MODULE, "log_i32", |caller: Caller<'_, VmData>, value: i32| {
        let data = caller.data();
        data.shared.host.console(data.id, &data.script, &value.to_string());
    }));
    define(linker.func_wrap(HOST_MODULE, "vm_id", |caller: Caller<'_, VmData>| caller.data().id.0 as i32));
    define(linker.func_wrap(HOST_MODULE, "device_pixel_ratio", |caller: Caller<'_, VmData>| {
        caller.data().shared.host.device_pixel_ratio()
    }));
    define(linker.func_wrap(HOST_MODULE, "canvas_count", |caller: Caller<'_, VmData>| {
        caller.data().shared.host.canvas_count() as i32
    }));
    define(linker.func_wrap(HOST_MODULE, "request_animation_frame", |mut caller: Caller<'_, VmData>| {
        let data = caller.data_mut();
        let current = data.current;
        data.frame_requests.insert(current);
        let (id, shared) = (data.id, data.shared.clone());
        shared.frame_wanted.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(id);
        shared.host.animation_frame_requested(id);
    }));
    define(linker.func_wrap(
        HOST_MODULE,
        "set_timeout",
        |mut caller: Caller<'_, VmData>, ms: i32, token: i32| {
            let data = caller.data_mut();
            let due = Instant::now() + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
            data.timer_sequence += 1;
            let entry = (due, data.timer_sequence, data.current, token);
            data.timers.push(std::cmp::Reverse(entry));
        },
    ));
    define(linker.func_wrap(
        HOST_MODULE,
        "post_message",
        |caller: Caller<'_, VmData>, target: i32, value: i32| {
            let data = caller.data();
            let target = VmId(u32::try_from(target).map_err(|_| wasmtime::format_err!("no VM {target}"))?);
            if !data.shared.send(target, Task::Message { from: data.id, value }) {
                wasmtime::bail!("post_message: there is no VM {}", target.0);
            }
            Ok(())
        },
    ));
    define(linker.func_wrap(HOST_MODULE, "fill_color", |c: Caller<'_, VmData>, canvas: i32, rgba: i32| {
        draw(&c, canvas, |canvas| CanvasCall::FillColor { canvas, rgba: rgba as u32 })
    }));
    define(linker.func_wrap(HOST_MODULE, "stroke_color", |c: Caller<'_, VmData>, canvas: i32, rgba: i32| {
        draw(&c, canvas, |canvas| CanvasCall::StrokeColor { canvas, rgba: rgba as u32 })
    }));
    define(linker.func_wrap(HOST_MODULE, "line_width", |c: Caller<'_, VmData>, canvas: i32, width: f32| {
        draw(&c, canvas, |canvas| CanvasCall::LineWidth { canvas, width })
    }));
    // The three rect calls differ only in the call they make.
    let rect_calls: [(&str, RectCall); 3] = [
        ("fill_rect", |canvas, rect| CanvasCall::FillRect { canvas, rect }),
        ("stroke_rect", |canvas, rect| CanvasCall::StrokeRect { canvas, rect }),
        ("clear_rect", |canvas, rect| CanvasCall::ClearRect { canvas, rect }),
    ];
    for (name, make) in rect_calls {
        define(linker.func_wrap(
            HOST_MODULE,
            name,
            move |c: Caller<'_, VmData>, canvas: i32, x: f32, y: f32, w: f32, h: f32| {
                draw(&c, canvas, |canvas| make(canvas, [x, y, w, h]))
            },
        ));
    }
    define(linker.func_wrap(
        HOST_MODULE,
        "fill_text",
        |mut c: Caller<'_, VmData>, canvas: i32, ptr: i32, len: i32, x: f32, y: f32, size: f32| {
            let text = read_string(&mut c, ptr, len)?;
            draw(&c, canvas, |canvas| CanvasCall::FillText { canvas, text, x, y, size })
        },
    ));
    define(linker.func_wrap(HOST_MODULE, "save", |c: Caller<'_, VmData>, canvas: i32| {
        draw(&c, canvas, |canvas| CanvasCall::Save { canvas })
    }));
    define(linker.func_wrap(HOST_MODULE, "restore", |c: Caller<'_, VmData>, canvas: i32| {
        draw(&c, canvas, |canvas| CanvasCall::Restore { canvas })
    }));
    define(linker.func_wrap(
        HOST_MODULE,
        "translate",
        |c: Caller<'_, VmData>, canvas: i32, x: f32, y: f32| {
            draw(&c, canvas, |canvas| CanvasCall::Translate { canvas, x, y })
        },
    ));
    define(linker.func_wrap(HOST_MODULE, "scale", |c: Caller<'_, VmData>, canvas: i32, x: f32, y: f32| {
        draw(&c, canvas, |canvas| CanvasCall::Scale { canvas, x, y })
    }));
    define(linker.func_wrap(
        HOST_MODULE,
        "draw_canvas",
        |c: Caller<'_, VmData>, canvas: i32, source: i32, x: f32, y: f32, w: f32, h: f32| {
            let source = checked_canvas(&c, source, |host, index| host.check_source(index))?;
            draw(&c, canvas, |canvas| CanvasCall::DrawCanvas { canvas, source, rect: [x, y, w, h] })
        },
    ));
    define(linker.func_wrap(HOST_MODULE, "image_count", |caller: Caller<'_, VmData>| {
        caller.data().shared.host.image_count() as i32
    }));
    define(linker.func_wrap(
        HOST_MODULE,
        "draw_image",
        |c: Caller<'_, VmData>, canvas: i32, image: i32, x: f32, y: f32, w: f32, h: f32| {
            let host = &c.data().shared.host;
            let image = match u32::try_from(image) {
                Ok(index) => host.check_image(index).map(|()| index),
                Err(_) => {
                    Err(format!("there is no image {image} on the page (it has {})", host.image_count()))
                }
            }
            .map_err(wasmtime::Error::msg)?;
            draw(&c, canvas, |canvas| CanvasCall::DrawImage { canvas, image, rect: [x, y, w, h] })
        },
    ));
    define(linker.func_wrap(
        HOST_MODULE,
        "create_canvas",
        |c: Caller<'_, VmData>, width: i32, height: i32| -> wasmtime::Result<i32> {
            let data = c.data();
            let (Ok(w), Ok(h)) = (u32::try_from(width), u32::try_from(height)) else {
                wasmtime::bail!("create_canvas({width}, {height}): a canvas cannot have a negative size");
            };
            let canvas = data.shared.host.create_canvas(data.id, w, h).map_err(wasmtime::Error::msg)?;
            i32::try_from(canvas).map_err(|_| wasmtime::format_err!("create_canvas: canvas indices ran out"))
        },
    ));
    define(linker.func_wrap(HOST_MODULE, "drop_canvas", |c: Caller<'_, VmData>, canvas: i32| {
        let index = canvas_index(&c, canvas)?;
        let data = c.data();
        data.shared.host.drop_canvas(data.id, index).map_err(wasmtime::Error::msg)
    }));
    linker
}

/// Makes a rect call from a canvas index and `[x, y, w, h]`.
type RectCall = fn(u32, [f32; 4]) -> CanvasCall;

/// Checks the canvas index, then hands the call to the host.
fn draw(
    caller: &Caller<'_, VmData>,
    canvas: i32,
    call: impl FnOnce(u32) -> CanvasCall,
) -> wasmtime::Result<()> {
    let index = canvas_index(caller, canvas)?;
    let data = caller.data();
    data.shared.host.canvas(data.id, call(index));
    Ok(())
}

/// `canvas` as a canvas index (the page's, or an offscreen one); a trap naming it if there
/// is no such canvas.
fn canvas_index(caller: &Caller<'_, VmData>, canvas: i32) -> wasmtime::Result<u32> {
    checked_canvas(caller, canvas, |host, index| host.check_canvas(index))
}

/// `canvas` as a canvas index that passes `check` (the host's rule for its use); a trap
/// naming why not.
fn checked_canvas(
    caller: &Caller<'_, VmData>,
    canvas: i32,
    check: impl FnOnce(&dyn Host, u32) -> Result<(), String>,
) -> wasmtime::Result<u32> {
    let host = &*caller.data().shared.host;
    match u32::try_from(canvas) {
        Ok(index) => check(host, index).map(|()| index).map_err(wasmtime::Error::msg),
        Err(_) => wasmtime::bail!("there is no canvas {canvas} on the page (it has {})", host.canvas_count()),
    }
}

/// Text longer than this from a script is refused rather than copied.
const MAX_STRING: usize = 64 * 1024;

fn read_string(caller: &mut Caller<'_, VmData>, ptr: i32, len: i32) -> wasmtime::Result<String> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        wasmtime::bail!("the script exports no memory named \"memory\" to read text from");
    };
    let (Ok(start), Ok(len)) = (usize::try_from(ptr), usize::try_from(len)) else {
        wasmtime::bail!("a negative text pointer or length ({ptr}, {len})");
    };
    if len > MAX_STRING {
        wasmtime::bail!("text of {len} bytes is longer than the {MAX_STRING} allowed");
    }
    let bytes = memory
        .data(&*caller)
        .get(start..start.saturating_add(len))
        .ok_or_else(|| wasmtime::format_err!("text at {start}..{} is outside memory", start + len))?;
    Ok(String::from_utf8_lossy(bytes).into_owned())
}
