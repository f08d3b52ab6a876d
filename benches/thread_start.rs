//! What a second thread costs a call on this machine: starting and
//! joining a scoped thread per call (what `src/parallel.rs` does) against
//! waking a parked persistent thread and waiting for its answer (what a
//! pool of sleeping workers would do). Wall time per round trip, median
//! and deciles of 2000. `cargo bench --bench thread_start`.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

const ROUNDS: usize = 2000;

fn report(what: &str, mut ns: Vec<f64>) {
    ns.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q) as usize] / 1e3;
    println!(
        "{what:<44} median {:6.1} us  (p10 {:.1}, p90 {:.1})",
        at(0.5),
        at(0.1),
        at(0.9)
    );
}

fn main() {
    let data = vec![1u64; 1000];
    let spawned = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            std::thread::scope(|s| {
                let other = s.spawn(|| data.iter().sum::<u64>());
                let mine: u64 = data.iter().sum();
                std::hint::black_box(mine + other.join().unwrap());
            });
            t.elapsed().as_nanos() as f64
        })
        .collect();
    report("scoped thread started and joined per call", spawned);

    // A persistent worker parked on a condition variable: the caller posts
    // an odd count, the worker answers with the next even one.
    let shared = Arc::new((Mutex::new(0u64), Condvar::new()));
    let worker = Arc::clone(&shared);
    std::thread::spawn(move || {
        let (count, signal) = &*worker;
        let mut n = count.lock().unwrap();
        loop {
            while *n % 2 == 0 {
                n = signal.wait(n).unwrap();
            }
            *n += 1;
            signal.notify_all();
        }
    });
    let (count, signal) = &*shared;
    let woken = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            let mut n = count.lock().unwrap();
            *n += 1;
            signal.notify_all();
            while *n % 2 == 1 {
                n = signal.wait(n).unwrap();
            }
            drop(n);
            t.elapsed().as_nanos() as f64
        })
        .collect();
    report("parked persistent thread woken and answered", woken);
}
