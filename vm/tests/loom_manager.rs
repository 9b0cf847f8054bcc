//! Loom model of the VMManager state machine: the real `VmManager` over loom's lock and
//! condition variable. VM threads arrive at their stop points (as an epoch check or a stop
//! task would bring them) while a debugger thread stops, steps and resumes the world.
//! Checked: exactly one announcement per stop and per step, every VM counted exactly once
//! per generation, nobody stopped after the resume, no deadlock, and a resume racing a stop
//! (race 3) never corrupts the count.

use std::time::Duration;

use armature_vm::inspect::{Frame, Local};
use armature_vm::manager::{Inspect, Mode, StopReason, StopSite, SyncFamily, VmManager, VmState};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};

struct LoomSync;

impl SyncFamily for LoomSync {
    type Mutex<T: Send> = loom::sync::Mutex<T>;
    type Guard<'a, T: Send + 'a> = loom::sync::MutexGuard<'a, T>;
    type Condvar = loom::sync::Condvar;
    fn mutex<T: Send>(value: T) -> Self::Mutex<T> {
        loom::sync::Mutex::new(value)
    }
    fn condvar() -> Self::Condvar {
        loom::sync::Condvar::new()
    }
    fn lock<T: Send>(mutex: &Self::Mutex<T>) -> Self::Guard<'_, T> {
        mutex.lock().unwrap()
    }
    fn wait<'a, T: Send>(
        condvar: &Self::Condvar,
        guard: Self::Guard<'a, T>,
        _timeout: Option<Duration>,
    ) -> Self::Guard<'a, T> {
        // loom has no timed waits; the model never relies on a timeout.
        condvar.wait(guard).unwrap()
    }
    fn notify_all(condvar: &Self::Condvar) {
        condvar.notify_all();
    }
}

/// The announcement runs just after the mode turns `Stopped` (outside the lock): wait for it.
fn wait_announced(announced: &AtomicUsize, count: usize) {
    while announced.load(Ordering::SeqCst) < count {
        loom::thread::yield_now();
    }
}

struct Nothing;

impl Inspect for Nothing {
    fn frames(&mut self) -> Vec<Frame> {
        Vec::new()
    }
    fn locals(&mut self, _index: usize) -> Vec<Local> {
        Vec::new()
    }
}

/// A manager whose callback counts announcements (and checks how many VMs each one saw
/// stopped, where given).
fn counted_manager(stopped: Option<usize>) -> (Arc<VmManager<LoomSync>>, Arc<AtomicUsize>) {
    let manager = Arc::new(VmManager::<LoomSync>::new());
    let announced = Arc::new(AtomicUsize::new(0));
    let seen = announced.clone();
    manager.set_callback(Box::new(move |event| {
        if let Some(stopped) = stopped {
            assert_eq!(event.stopped, stopped, "announced before everyone stopped");
        }
        seen.fetch_add(1, Ordering::SeqCst);
    }));
    (manager, announced)
}

/// A VM: the stop signal reaches it (an epoch check or a stop task; modelled as waiting for
/// the mode to leave `RunAll`, since loom cannot explore a spinning check), then it arrives.
fn vm_thread(manager: Arc<VmManager<LoomSync>>, vm: armature_vm::VmId, site: StopSite) {
    manager.wait_for(|mode| mode != Mode::RunAll, None);
    manager.stop_point(vm, site, &mut Nothing);
}

#[test]
fn stop_announce_resume() {
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(3);
    model.check(|| {
        let (manager, announced) = counted_manager(Some(2));
        let a = manager.register("active");
        let b = manager.register("idle");
        let threads = [(a, StopSite::Trap), (b, StopSite::Entry)].map(|(vm, site)| {
            let manager = manager.clone();
            loom::thread::spawn(move || vm_thread(manager, vm, site))
        });
        let generation = manager.request_stop(StopReason::Pause);
        manager.wait_for(|mode| mode == Mode::Stopped, None);
        wait_announced(&announced, 1);
        let snapshot = manager.snapshot();
        assert!(snapshot.iter().all(|slot| slot.counted_in == generation && slot.times_counted == 1));
        assert!(snapshot.iter().all(|slot| matches!(slot.state, VmState::Stopped(_))), "{snapshot:?}");
        assert_eq!(announced.load(Ordering::SeqCst), 1);
        manager.resume();
        for thread in threads {
            thread.join().unwrap();
        }
        assert!(manager.snapshot().iter().all(|slot| slot.state == VmState::Active));
        assert_eq!(announced.load(Ordering::SeqCst), 1, "exactly one announcement");
    });
}

#[test]
fn step_one_while_the_other_stays_stopped() {
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(2);
    model.check(|| {
        let (manager, announced) = counted_manager(None);
        let a = manager.register("a");
        let b = manager.register("b");
        manager.request_stop(StopReason::Pause);
        let stepper = {
            let manager = manager.clone();
            // `a` stops, is granted a step, and arrives again to finish it.
            loom::thread::spawn(move || {
                manager.stop_point(a, StopSite::Trap, &mut Nothing);
                manager.stop_point(a, StopSite::Trap, &mut Nothing);
            })
        };
        let other = {
            let manager = manager.clone();
            loom::thread::spawn(move || manager.stop_point(b, StopSite::Entry, &mut Nothing))
        };
        manager.wait_for(|mode| mode == Mode::Stopped, None);
        wait_announced(&announced, 1);
        assert!(manager.step(a));
        manager.wait_for(|mode| mode == Mode::Stopped, None);
        wait_announced(&announced, 2);
        // b never left its stop point during a's step.
        let b_state = manager.snapshot().iter().find(|slot| slot.id == b).unwrap().state;
        assert_eq!(b_state, VmState::Stopped(StopSite::Entry));
        assert_eq!(announced.load(Ordering::SeqCst), 2, "the stop and the step, once each");
        manager.resume();
        stepper.join().unwrap();
        other.join().unwrap();
    });
}

/// Race 3: a resume lands while a VM is on its way to count itself.
#[test]
fn resume_racing_a_stop_keeps_the_count_exact() {
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(3);
    model.check(|| {
        let (manager, announced) = counted_manager(Some(1));
        let a = manager.register("a");
        let first = manager.request_stop(StopReason::Pause);
        let vm = {
            let manager = manager.clone();
            // One arrival, racing the resume below.
            loom::thread::spawn(move || manager.stop_point(a, StopSite::Trap, &mut Nothing))
        };
        manager.resume();
        vm.join().unwrap();
        let slot = manager.snapshot().pop().unwrap();
        // Either it counted before the resume (and was announced) or it left uncounted.
        assert_eq!(slot.times_counted as usize, announced.load(Ordering::SeqCst));
        assert!(slot.times_counted <= 1 && (slot.times_counted == 0 || slot.counted_in == first));
        assert_eq!(manager.mode(), Mode::RunAll);
    });
}
