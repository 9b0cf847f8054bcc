//! Stop-the-world latency (request → all stopped, announced) for 2 idle + 3 active VMs and
//! for 64 VMs, and the cost of epoch checks on a hot loop. Prints a table:
//! `cargo bench -p armature-vm --bench stop`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use armature_vm::{CanvasCall, Host, Script, ScriptError, ScriptSource, StopReason, VmConfig, VmGroup, VmId};

struct Quiet;

impl Host for Quiet {
    fn console(&self, _: VmId, _: &str, _: &str) {}
    fn canvas_count(&self) -> u32 {
        0
    }
    fn canvas(&self, _: VmId, _: CanvasCall) {}
    fn animation_frame_requested(&self, _: VmId) {}
    fn script_error(&self, _: VmId, error: &ScriptError) {
        eprintln!("{error}");
    }
    fn task_done(&self, _: VmId) {}
}

const SPIN: &str = r#"(module (func (export "main") (local $i i32)
  (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l))))"#;

fn latency(active: usize, idle: usize, rounds: usize) -> (Duration, Duration) {
    let group =
        VmGroup::new(Arc::new(Quiet), VmConfig { debug: false, script_timeout: Duration::from_secs(3600) })
            .expect("engine");
    let (tx, rx) = crossbeam_channel::unbounded();
    group.manager().set_callback(Box::new(move |_| {
        let _ = tx.send(Instant::now());
    }));
    for i in 0..active {
        let vm = group.spawn(&format!("active{i}"));
        group.run_script(vm, Script { name: "spin".into(), source: ScriptSource::Wat(SPIN.into()) });
    }
    for i in 0..idle {
        group.spawn(&format!("idle{i}"));
    }
    std::thread::sleep(Duration::from_millis(200));
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let asked = Instant::now();
        group.manager().request_stop(StopReason::Pause);
        let stopped = rx.recv_timeout(Duration::from_secs(10)).expect("stopped");
        samples.push(stopped - asked);
        group.manager().resume();
        std::thread::sleep(Duration::from_millis(1));
    }
    samples.sort();
    (samples[samples.len() / 2], samples[samples.len() * 99 / 100])
}

/// Runs a counted hot loop to completion, with or without epoch checks compiled in.
fn hot_loop(epochs: bool) -> Duration {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(epochs);
    let engine = wasmtime::Engine::new(&config).expect("engine");
    let module = wasmtime::Module::new(
        &engine,
        r#"(module (func (export "run") (param $n i32) (result i32) (local $i i32) (local $acc i32)
            (loop $l
              (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (i32.const 3))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_s (local.get $i) (local.get $n))))
            (local.get $acc)))"#,
    )
    .expect("module");
    let mut store = wasmtime::Store::new(&engine, ());
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).expect("instance");
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run").expect("run");
    let mut best = Duration::MAX;
    for _ in 0..7 {
        let started = Instant::now();
        std::hint::black_box(run.call(&mut store, 200_000_000).expect("call"));
        best = best.min(started.elapsed());
    }
    best
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    println!("| measurement | p50 | p99 |");
    println!("|---|---|---|");
    for (active, idle, rounds) in [(3, 2, 1000), (32, 32, 300)] {
        let (p50, p99) = latency(active, idle, rounds);
        println!(
            "| stop latency, {active} active + {idle} idle VMs ({rounds} stops) | {p50:.2?} | {p99:.2?} |"
        );
    }
    let without = hot_loop(false);
    let with = hot_loop(true);
    let overhead = (with.as_secs_f64() / without.as_secs_f64() - 1.0) * 100.0;
    println!();
    println!("| hot loop, 200M iterations (best of 7) | time |");
    println!("|---|---|");
    println!("| no epoch checks | {without:.2?} |");
    println!("| epoch checks | {with:.2?} ({overhead:+.1}%) |");
}
