//! Stop-the-world latency (request → all stopped, announced) for 2 idle + 3 active VMs and
//! for 64 VMs, and the cost of epoch checks on a hot loop. Prints a table:
//! `cargo bench -p armature-vm --bench stop`.
//!
//! The epoch check is wasmtime's own code, a load, a compare and a branch at every function
//! entry and loop header; nothing an embedder configures makes it cheaper. wasmtime measures
//! it at 14.4 % on SpiderMonkey; its replacement, a load from a page unmapped to interrupt
//! (about 2.8 % there), is unmerged as of wasmtime 48 (bytecodealliance/wasmtime#1749, #12990).

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

/// Hot loops, from the worst case for a per-back-edge check to loops that do work. Each
/// exports `run(n) -> i32`.
const KERNELS: [(&str, i32, &str); 3] = [
    // Two adds and a compare per iteration: the check (two loads, a compare, a branch at
    // the loop header) is as large as the body. The worst case, not a typical one.
    (
        "counter: acc += i*3 (200M iterations)",
        200_000_000,
        r#"(module (func (export "run") (param $n i32) (result i32) (local $i i32) (local $acc i32)
            (loop $l
              (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (i32.const 3))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_s (local.get $i) (local.get $n))))
            (local.get $acc)))"#,
    ),
    // FNV-1a over 64 KiB of linear memory, n times: a byte-processing loop (hashing,
    // parsing, decoding), one load and a multiply per iteration.
    (
        "FNV-1a over 64 KiB of memory (3,000 passes)",
        3_000,
        r#"(module (memory 1)
            (func (export "run") (param $n i32) (result i32) (local $i i32) (local $h i32) (local $pass i32)
            (local.set $h (i32.const 0x811c9dc5))
            (loop $passes
              (local.set $i (i32.const 0))
              (loop $bytes
                (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u (local.get $i)))
                                       (i32.const 0x01000193)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $bytes (i32.lt_u (local.get $i) (i32.const 65536))))
              (local.set $pass (i32.add (local.get $pass) (i32.const 1)))
              (br_if $passes (i32.lt_u (local.get $pass) (local.get $n))))
            (local.get $h)))"#,
    ),
    // The Mandelbrot set on an n×n grid, at most 64 iterations a point: the f64 arithmetic
    // an animation script does per pixel or per particle.
    (
        "Mandelbrot 1000×1000, ≤64 iterations a point",
        1_000,
        r#"(module (func (export "run") (param $n i32) (result i32)
            (local $x i32) (local $y i32) (local $k i32) (local $inside i32)
            (local $cr f64) (local $ci f64) (local $zr f64) (local $zi f64) (local $t f64)
            (loop $rows
              (local.set $x (i32.const 0))
              (loop $columns
                (local.set $cr (f64.sub (f64.div (f64.convert_i32_s (local.get $x))
                                                 (f64.mul (f64.convert_i32_s (local.get $n)) (f64.const 0.4)))
                                        (f64.const 2.0)))
                (local.set $ci (f64.sub (f64.div (f64.convert_i32_s (local.get $y))
                                                 (f64.mul (f64.convert_i32_s (local.get $n)) (f64.const 0.5)))
                                        (f64.const 1.0)))
                (local.set $zr (f64.const 0)) (local.set $zi (f64.const 0)) (local.set $k (i32.const 0))
                (block $escaped
                  (loop $iterate
                    (br_if $escaped (f64.gt (f64.add (f64.mul (local.get $zr) (local.get $zr))
                                                     (f64.mul (local.get $zi) (local.get $zi)))
                                            (f64.const 4.0)))
                    (local.set $t (f64.add (f64.sub (f64.mul (local.get $zr) (local.get $zr))
                                                    (f64.mul (local.get $zi) (local.get $zi)))
                                           (local.get $cr)))
                    (local.set $zi (f64.add (f64.mul (f64.mul (local.get $zr) (local.get $zi)) (f64.const 2.0))
                                            (local.get $ci)))
                    (local.set $zr (local.get $t))
                    (local.set $k (i32.add (local.get $k) (i32.const 1)))
                    (br_if $iterate (i32.lt_u (local.get $k) (i32.const 64))))
                  (local.set $inside (i32.add (local.get $inside) (i32.const 1))))
                (local.set $x (i32.add (local.get $x) (i32.const 1)))
                (br_if $columns (i32.lt_s (local.get $x) (local.get $n))))
              (local.set $y (i32.add (local.get $y) (i32.const 1)))
              (br_if $rows (i32.lt_s (local.get $y) (local.get $n))))
            (local.get $inside)))"#,
    ),
];

/// Runs a hot loop to completion, best of 7, with or without epoch checks compiled in.
fn hot_loop(wat: &str, n: i32, epochs: bool) -> (Duration, i32) {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(epochs);
    let engine = wasmtime::Engine::new(&config).expect("engine");
    let module = wasmtime::Module::new(&engine, wat).expect("module");
    let mut store = wasmtime::Store::new(&engine, ());
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).expect("instance");
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run").expect("run");
    let mut best = Duration::MAX;
    let mut result = 0;
    for _ in 0..7 {
        let started = Instant::now();
        result = std::hint::black_box(run.call(&mut store, n).expect("call"));
        best = best.min(started.elapsed());
    }
    (best, result)
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
    println!();
    println!("| hot loop (best of 7) | no epoch checks | epoch checks | overhead |");
    println!("|---|---|---|---|");
    for (name, n, wat) in KERNELS {
        let (without, plain) = hot_loop(wat, n, false);
        let (with, checked) = hot_loop(wat, n, true);
        assert_eq!(plain, checked, "{name}: the checks changed the result");
        let overhead = (with.as_secs_f64() / without.as_secs_f64() - 1.0) * 100.0;
        println!("| {name} | {without:.2?} | {with:.2?} | {overhead:+.1}% |");
    }
}
