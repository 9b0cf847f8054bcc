//! The VMManager: one world mode for every VM of a process, JavaScriptCore style.
//!
//! Modes: `RunAll` → (`request_stop`) → `Stopping` → (last VM arrives) → `Stopped` →
//! (`step(vm)`) → `RunOne(vm)` → (that VM arrives again) → `Stopped` → (`resume`) → `RunAll`.
//!
//! Three rules make it correct against the races WebKit fixed in 629632da:
//! 1. Each VM writes only its own [`VmState`]: `Stopped` when it really reaches its stop point,
//!    cleared when it leaves. The debugger callback never marks anyone.
//! 2. There is one way in: a VM stops only in [`VmManager::stop_point`], reached from an epoch
//!    check (active VMs) or from the run loop's entry path (idle VMs are sent an empty task
//!    that just enters). No second, hand-written sequence duplicates it.
//! 3. Counting happens only at the stop point, under the lock, at most once per stop
//!    generation, and never in `RunAll`: a VM that saw the stop, then lost the race with a
//!    resume, simply leaves uncounted.
//!
//! The manager is generic over its lock and condition variable ([`SyncFamily`]) so that
//! `tests/loom_manager.rs` model-checks this very code with loom's primitives.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A VM's id within its process (its DAP thread id is this plus one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VmId(pub u32);

impl fmt::Display for VmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vm{}", self.0)
    }
}

/// The world mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every VM runs.
    RunAll,
    /// A stop was requested; VMs are arriving at their stop points.
    Stopping,
    /// Every VM is at its stop point.
    Stopped,
    /// One VM advances by one step; the others stay stopped.
    RunOne(VmId),
}

/// What a VM is doing, as the VM itself last recorded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmState {
    /// Blocked on its run loop.
    Idle,
    /// Running a task (wasm may be on its stack).
    Active,
    /// At its stop point.
    Stopped(StopSite),
}

/// Where a VM stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSite {
    /// In its run loop's entry path, with no wasm on its stack.
    Entry,
    /// At an epoch check inside running wasm.
    Trap,
    /// At a breakpoint or after a single step (guest debugging).
    Breakpoint,
}

/// Why the world stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The debugger asked.
    Pause,
    /// A VM hit a breakpoint.
    Breakpoint(VmId),
    /// A step of this VM finished.
    Step(VmId),
}

/// Told to the debugger callback, once per stop (on the last VM to arrive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopEvent {
    /// Counts stops since the manager was made.
    pub generation: u64,
    /// Why.
    pub reason: StopReason,
    /// How many VMs stopped.
    pub stopped: usize,
}

/// Points where tests may hold a VM to force an interleaving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookPoint {
    /// At the stop point, before taking the manager's lock to count.
    BeforeCount,
    /// In the run loop, after a task was received and before it enters.
    BeforeEntry,
}

/// What the manager asks of the VMs' host when a stop or a step is requested.
pub trait StopSignal: Send + Sync {
    /// Wake active VMs (bump the engine's epoch) and dispatch an entry task to idle ones.
    fn signal(&self, targets: &[VmId]);
}

/// A request served by a VM while it waits at its stop point (it owns its store).
pub type Inspection = Box<dyn FnOnce(&mut dyn Inspect) + Send>;

/// What a stopped VM can show of itself.
pub trait Inspect {
    /// Its wasm frames, innermost first.
    fn frames(&mut self) -> Vec<crate::inspect::Frame>;
    /// The locals of frame `index` (innermost is 0).
    fn locals(&mut self, index: usize) -> Vec<crate::inspect::Local>;
}

/// A lock and a condition variable: std's, or loom's in the model.
pub trait SyncFamily: 'static {
    /// The lock.
    type Mutex<T: Send>: Send + Sync;
    /// Its guard.
    type Guard<'a, T: Send + 'a>: std::ops::DerefMut<Target = T>;
    /// The condition variable.
    type Condvar: Send + Sync;
    /// A new lock.
    fn mutex<T: Send>(value: T) -> Self::Mutex<T>;
    /// A new condition variable.
    fn condvar() -> Self::Condvar;
    /// Locks (a poisoned lock is taken anyway: the state stays consistent at every unlock).
    fn lock<T: Send>(mutex: &Self::Mutex<T>) -> Self::Guard<'_, T>;
    /// Waits, at most `timeout` where the family supports it.
    fn wait<'a, T: Send>(
        condvar: &Self::Condvar,
        guard: Self::Guard<'a, T>,
        timeout: Option<Duration>,
    ) -> Self::Guard<'a, T>;
    /// Wakes every waiter.
    fn notify_all(condvar: &Self::Condvar);
}

/// std's primitives.
pub struct StdSync;

impl SyncFamily for StdSync {
    type Mutex<T: Send> = std::sync::Mutex<T>;
    type Guard<'a, T: Send + 'a> = std::sync::MutexGuard<'a, T>;
    type Condvar = std::sync::Condvar;
    fn mutex<T: Send>(value: T) -> Self::Mutex<T> {
        std::sync::Mutex::new(value)
    }
    fn condvar() -> Self::Condvar {
        std::sync::Condvar::new()
    }
    fn lock<T: Send>(mutex: &Self::Mutex<T>) -> Self::Guard<'_, T> {
        mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
    fn wait<'a, T: Send>(
        condvar: &Self::Condvar,
        guard: Self::Guard<'a, T>,
        timeout: Option<Duration>,
    ) -> Self::Guard<'a, T> {
        match timeout {
            None => condvar.wait(guard).unwrap_or_else(|poisoned| poisoned.into_inner()),
            Some(timeout) => {
                condvar.wait_timeout(guard, timeout).unwrap_or_else(|poisoned| poisoned.into_inner()).0
            }
        }
    }
    fn notify_all(condvar: &Self::Condvar) {
        condvar.notify_all();
    }
}

struct Slot {
    id: VmId,
    name: String,
    state: VmState,
    /// The generation this VM was last counted in (0: never).
    counted_in: u64,
    /// How many stops counted this VM, for tests and stats.
    times_counted: u64,
    /// Inspections waiting for this VM at its stop point.
    inspections: VecDeque<Inspection>,
}

struct World {
    mode: Mode,
    generation: u64,
    reason: StopReason,
    stopped: usize,
    /// The generation whose callback ran (exactly once per generation).
    announced: u64,
    slots: Vec<Slot>,
    next_id: u32,
}

impl World {
    fn slot_mut(&mut self, vm: VmId) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|slot| slot.id == vm)
    }

    /// `Stopping` with everyone counted becomes `Stopped`; returns the event to announce.
    fn settle(&mut self) -> Option<StopEvent> {
        if self.mode == Mode::Stopping && self.stopped == self.slots.len() {
            self.mode = Mode::Stopped;
            if self.announced != self.generation {
                self.announced = self.generation;
                return Some(self.event());
            }
        }
        None
    }

    fn event(&self) -> StopEvent {
        StopEvent { generation: self.generation, reason: self.reason, stopped: self.stopped }
    }
}

/// Called by the last VM to stop (and after each step), outside the lock.
pub type StopCallback = Box<dyn Fn(StopEvent) + Send + Sync>;
/// A test hook: called with the VM and the point; may block to force an interleaving.
pub type Hook = Arc<dyn Fn(HookPoint, VmId) + Send + Sync>;

/// One world for every VM of a process. See the module docs for its rules.
pub struct VmManager<S: SyncFamily = StdSync> {
    world: S::Mutex<World>,
    changed: S::Condvar,
    signal: S::Mutex<Option<Arc<dyn StopSignal>>>,
    callback: S::Mutex<Option<Arc<StopCallback>>>,
    hook: S::Mutex<Option<Hook>>,
}

impl<S: SyncFamily> Default for VmManager<S> {
    fn default() -> Self {
        VmManager::new()
    }
}

impl<S: SyncFamily> VmManager<S> {
    /// A world with no VMs, running.
    pub fn new() -> VmManager<S> {
        VmManager {
            world: S::mutex(World {
                mode: Mode::RunAll,
                generation: 0,
                reason: StopReason::Pause,
                stopped: 0,
                announced: 0,
                slots: Vec::new(),
                next_id: 0,
            }),
            changed: S::condvar(),
            signal: S::mutex(None),
            callback: S::mutex(None),
            hook: S::mutex(None),
        }
    }

    /// Sets how stops reach the VMs (the VM group's epoch bump and stop tasks).
    pub fn set_signal(&self, signal: Arc<dyn StopSignal>) {
        *S::lock(&self.signal) = Some(signal);
    }

    /// Sets the debugger callback, run once per stop by the last VM to arrive.
    pub fn set_callback(&self, callback: StopCallback) {
        *S::lock(&self.callback) = Some(Arc::new(callback));
    }

    /// Installs a test hook.
    pub fn set_hook(&self, hook: Hook) {
        *S::lock(&self.hook) = Some(hook);
    }

    /// Adds a VM (idle). A VM that joins a stopped world stops at its first entry.
    pub fn register(&self, name: &str) -> VmId {
        let mut world = S::lock(&self.world);
        let id = VmId(world.next_id);
        world.next_id += 1;
        world.slots.push(Slot {
            id,
            name: name.to_owned(),
            state: VmState::Idle,
            counted_in: 0,
            times_counted: 0,
            inspections: VecDeque::new(),
        });
        id
    }

    /// Removes a VM whose thread ends. If it was the last one a stop waited for, this
    /// thread announces the stop.
    pub fn unregister(&self, vm: VmId) {
        let event = {
            let mut world = S::lock(&self.world);
            let Some(index) = world.slots.iter().position(|slot| slot.id == vm) else { return };
            let slot = world.slots.remove(index);
            if slot.counted_in == world.generation && world.mode != Mode::RunAll {
                world.stopped -= 1;
            }
            if world.mode == Mode::RunOne(vm) {
                world.mode = Mode::Stopped;
            }
            let event = world.settle();
            S::notify_all(&self.changed);
            event
        };
        if let Some(event) = event {
            self.announce(event);
        }
    }

    /// Asks every VM to stop. Returns the stop's generation. A no-op (returning the current
    /// generation) unless the world runs.
    pub fn request_stop(&self, reason: StopReason) -> u64 {
        let (generation, targets) = {
            let mut world = S::lock(&self.world);
            if world.mode != Mode::RunAll {
                return world.generation;
            }
            world.mode = Mode::Stopping;
            world.generation += 1;
            world.reason = reason;
            world.stopped = 0;
            S::notify_all(&self.changed);
            (world.generation, world.slots.iter().map(|slot| slot.id).collect::<Vec<_>>())
        };
        self.signal(&targets);
        generation
    }

    /// Lets every VM run again (also cancels a stop still in progress).
    pub fn resume(&self) {
        let mut world = S::lock(&self.world);
        world.mode = Mode::RunAll;
        S::notify_all(&self.changed);
    }

    /// Lets `vm` advance by one step while the others stay stopped. `false` if the world is
    /// not stopped or there is no such VM.
    pub fn step(&self, vm: VmId) -> bool {
        {
            let mut world = S::lock(&self.world);
            if world.mode != Mode::Stopped || !world.slots.iter().any(|slot| slot.id == vm) {
                return false;
            }
            world.mode = Mode::RunOne(vm);
            world.reason = StopReason::Step(vm);
            S::notify_all(&self.changed);
        }
        self.signal(&[vm]);
        true
    }

    /// The stop point: every VM stops here and nowhere else. Returns at once in `RunAll`.
    /// Otherwise the VM records itself stopped, is counted (once per generation), announces
    /// the stop if it is the last, serves inspections, and waits until it may run.
    pub fn stop_point(&self, vm: VmId, site: StopSite, inspect: &mut dyn Inspect) {
        // Bound first: a guard in the `if let` would stay locked while the hook blocks.
        let hook = S::lock(&self.hook).clone();
        if let Some(hook) = hook {
            hook(HookPoint::BeforeCount, vm);
        }
        let mut world = S::lock(&self.world);
        // Rule 3: a stop seen without the lock may already be over.
        if world.mode == Mode::RunAll {
            return;
        }
        'arrive: loop {
            let generation = world.generation;
            let stepping = world.mode == Mode::RunOne(vm);
            let Some(slot) = world.slot_mut(vm) else { return };
            slot.state = VmState::Stopped(site);
            if slot.counted_in != generation {
                slot.counted_in = generation;
                slot.times_counted += 1;
                world.stopped += 1;
            }
            let announce = if stepping {
                // The step is done: the world is stopped again, announced once per step.
                world.mode = Mode::Stopped;
                Some(world.event())
            } else {
                world.settle()
            };
            S::notify_all(&self.changed);
            if let Some(event) = announce {
                drop(world);
                self.announce(event);
                world = S::lock(&self.world);
            }
            loop {
                match world.mode {
                    Mode::RunAll => break 'arrive,
                    Mode::RunOne(one) if one == vm => break 'arrive,
                    _ => {}
                }
                // The world resumed and stopped again while this VM slept through the
                // resume: it arrives again, in the new generation.
                if world.generation != generation {
                    continue 'arrive;
                }
                let job = world.slot_mut(vm).and_then(|slot| slot.inspections.pop_front());
                if let Some(job) = job {
                    drop(world);
                    job(inspect);
                    world = S::lock(&self.world);
                    continue;
                }
                world = S::wait(&self.changed, world, None);
            }
        }
        // Rule 1: the VM clears its own state as it leaves.
        if let Some(slot) = world.slot_mut(vm) {
            slot.state = VmState::Active;
        }
    }

    /// Records a VM's own state outside the stop point (idle on its run loop, or active).
    pub fn set_state(&self, vm: VmId, state: VmState) {
        let mut world = S::lock(&self.world);
        if let Some(slot) = world.slot_mut(vm) {
            slot.state = state;
        }
    }

    /// Whether a VM should go to its stop point: any mode but `RunAll` (for the VM that is
    /// stepping, arriving ends its step).
    pub fn should_stop(&self) -> bool {
        S::lock(&self.world).mode != Mode::RunAll
    }

    /// Runs the test hook for a point outside the stop point.
    pub fn hook(&self, point: HookPoint, vm: VmId) {
        let hook = S::lock(&self.hook).clone();
        if let Some(hook) = hook {
            hook(point, vm);
        }
    }

    /// Queues `job` for `vm` to run at its stop point. `false` if the world is not stopped.
    pub fn inspect(&self, vm: VmId, job: Inspection) -> bool {
        let mut world = S::lock(&self.world);
        if world.mode != Mode::Stopped {
            return false;
        }
        let Some(slot) = world.slot_mut(vm) else { return false };
        slot.inspections.push_back(job);
        S::notify_all(&self.changed);
        true
    }

    /// The mode now.
    pub fn mode(&self) -> Mode {
        S::lock(&self.world).mode
    }

    /// The current stop generation.
    pub fn generation(&self) -> u64 {
        S::lock(&self.world).generation
    }

    /// Every VM: id, name, state, generation last counted in, times counted.
    pub fn snapshot(&self) -> Vec<VmSnapshot> {
        let world = S::lock(&self.world);
        world
            .slots
            .iter()
            .map(|slot| VmSnapshot {
                id: slot.id,
                name: slot.name.clone(),
                state: slot.state,
                counted_in: slot.counted_in,
                times_counted: slot.times_counted,
            })
            .collect()
    }

    /// Waits until the mode satisfies `done`, at most `timeout` (`None`: forever; loom has no
    /// timed waits). Returns the mode seen last.
    pub fn wait_for(&self, done: impl Fn(Mode) -> bool, timeout: Option<Duration>) -> Mode {
        let deadline = timeout.map(|timeout| std::time::Instant::now() + timeout);
        let mut world = S::lock(&self.world);
        while !done(world.mode) {
            let left = match deadline {
                Some(deadline) => match deadline.checked_duration_since(std::time::Instant::now()) {
                    Some(left) => Some(left),
                    None => break,
                },
                None => None,
            };
            world = S::wait(&self.changed, world, left);
        }
        world.mode
    }

    fn signal(&self, targets: &[VmId]) {
        let signal = S::lock(&self.signal).clone();
        if let Some(signal) = signal {
            signal.signal(targets);
        }
    }

    fn announce(&self, event: StopEvent) {
        let callback = S::lock(&self.callback).clone();
        if let Some(callback) = callback {
            callback(event);
        }
    }
}

/// One VM as the manager sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmSnapshot {
    /// Its id.
    pub id: VmId,
    /// Its name ("main", or the worker script's name).
    pub name: String,
    /// Its own last recorded state.
    pub state: VmState,
    /// The generation it was last counted in.
    pub counted_in: u64,
    /// How many stops counted it.
    pub times_counted: u64,
}
