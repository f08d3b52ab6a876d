//! Threads: a computation splits its rows (or elements) into contiguous
//! pieces, each a whole number of the computation's blocks; each piece
//! returns its blocks' partial sums, and the caller adds them in block
//! order. The blocks, and so every partial sum and the order of the
//! additions, do not depend on the number of threads or of pieces:
//! results are bitwise identical for every thread count.
//!
//! The pieces go to scoped threads (`std::thread::scope`) from a queue,
//! the calling thread taking the first: a thread that starts late (a
//! spawn took 50-180 us on the 2-core VMs measured) or runs slower takes
//! fewer pieces, instead of the others waiting for its fixed share. A
//! call with one piece (one thread asked for, or less than twice
//! [`MIN_WORK_PER_THREAD`] of work) runs on the calling thread without
//! touching any thread machinery.

use core::ops::Range;
use std::sync::{Mutex, PoisonError};

/// Least work worth a thread of their own, in [`Cost`] units: about 250 us,
/// twice what starting and joining a thread per call cost on the 2-core
/// VMs measured (110-180 us). With less, a second thread made calls slower
/// (f32 sparse CE with its gradient, c = 1000, wall time per element: 128
/// rows 0.75 ns on one thread, 1.25 on two; 512 rows 0.76 and 0.65).
pub(crate) const MIN_WORK_PER_THREAD: usize = 1 << 19;

/// The work of one element, in units of about one element of an f32
/// forward cross-entropy over wide rows (0.5 ns at AVX-512).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cost(usize);

impl Cost {
    /// `f32_units` per element in f32, twice as many in f64 (whose
    /// kernels measured 2-2.6 times slower).
    pub(crate) fn of<T>(f32_units: usize) -> Cost {
        Cost(f32_units * (core::mem::size_of::<T>() / 4).max(1))
    }
}

/// Pieces per thread: enough that the last piece to finish is a small
/// part of a thread's share, few enough that a piece's set-up (its
/// buffers, a lock) stays negligible.
const PIECES_PER_THREAD: usize = 8;

/// Splits `units` units (rows, elements) of `unit_len` elements of `cost`
/// each into contiguous pieces of whole groups of `align` units (the
/// caller's blocks) for at most `threads` threads: one piece unless each
/// thread gets at least [`MIN_WORK_PER_THREAD`] of work, else up to
/// [`PIECES_PER_THREAD`] per thread; none when `units` is 0.
pub(crate) fn segments(
    units: usize,
    unit_len: usize,
    align: usize,
    threads: usize,
    cost: Cost,
) -> Vec<Range<usize>> {
    let align = align.max(1);
    let groups = units.div_ceil(align);
    let work = units.saturating_mul(unit_len).saturating_mul(cost.0);
    let workers = threads.min(groups).min(work / MIN_WORK_PER_THREAD).max(1);
    let count = match workers {
        1 => 1,
        _ => workers.saturating_mul(PIECES_PER_THREAD).min(groups),
    };
    let per = groups.div_ceil(count).max(1) * align;
    (0..units)
        .step_by(per)
        .map(|start| start..(start + per).min(units))
        .collect()
}

/// Runs `f` on every item on up to `threads` threads (the calling thread
/// and scoped threads of their own), each taking the next item from a
/// queue until none is left; returns the results in item order. A panic
/// in `f` propagates to the caller.
pub(crate) fn map<I: Send, R: Send>(
    items: Vec<I>,
    threads: usize,
    f: impl Fn(I) -> R + Sync,
) -> Vec<R> {
    let workers = threads.min(items.len());
    if workers <= 1 {
        // No thread machinery at all (std would allocate a handle for the
        // calling thread, which valgrind reports as a leak).
        return items.into_iter().map(f).collect();
    }
    let queue = Mutex::new(items.into_iter().enumerate());
    let work = || {
        let mut done = Vec::new();
        // The lock is held only to take an item, never while `f` runs
        // (so it cannot be poisoned).
        let next = || queue.lock().unwrap_or_else(PoisonError::into_inner).next();
        while let Some((k, item)) = next() {
            done.push((k, f(item)));
        }
        done
    };
    let mut done = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
        let mut done = work();
        for helper in helpers {
            done.extend(
                helper
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            );
        }
        done
    });
    done.sort_unstable_by_key(|&(k, _)| k);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Takes the first `len` entries off an optional output slice.
pub(crate) fn split_off<'a, T>(rest: &mut Option<&'a mut [T]>, len: usize) -> Option<&'a mut [T]> {
    let buf = rest.take()?;
    let (head, tail) = buf.split_at_mut(len);
    *rest = Some(tail);
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_the_range_in_whole_blocks() {
        for (units, unit_len, align, threads, cost) in [
            (0, 10, 4, 2, Cost::of::<f32>(1)),
            (1, 10, 4, 2, Cost::of::<f32>(1)),
            (1000, 1000, 8, 2, Cost::of::<f32>(1)),
            (1000, 1000, 8, 3, Cost::of::<f64>(2)),
            (4_000_000, 1, 512, 2, Cost::of::<f32>(4)),
            (4_000_001, 1, 512, 7, Cost::of::<f64>(4)),
            (100, 1, 512, 2, Cost::of::<f64>(4)),
        ] {
            let segs = segments(units, unit_len, align, threads, cost);
            assert!(segs.len() <= threads.max(1) * PIECES_PER_THREAD);
            let mut next = 0;
            for s in &segs {
                assert_eq!(s.start, next);
                assert!(s.start % align == 0 && s.end > s.start);
                next = s.end;
            }
            assert_eq!(next, units);
            if segs.len() > 1 {
                // Several pieces only where two threads get their least work.
                assert!(units * unit_len * cost.0 >= 2 * MIN_WORK_PER_THREAD);
            }
        }
        // f32 sparse CE + grad at c = 1000 (cost 2 per entry): two threads
        // measured slower at 128 and 256 rows, 15% faster at 512; two
        // threads from 1024 rows (2^19 units each).
        assert_eq!(segments(512, 1000, 8, 2, Cost::of::<f32>(2)).len(), 1);
        assert_eq!(segments(1024, 1000, 8, 2, Cost::of::<f32>(2)).len(), 16);
        // f32 binary focal loss (cost 4): two threads measured slower at
        // 131072 elements, even at 262144 (with a second spawn for the
        // target check, which no longer takes threads there).
        assert_eq!(segments(131072, 1, 512, 2, Cost::of::<f32>(4)).len(), 1);
        assert_eq!(segments(262144, 1, 512, 2, Cost::of::<f32>(4)).len(), 16);
        // f64 counts double.
        assert_eq!(segments(131072, 1, 512, 2, Cost::of::<f64>(4)).len(), 16);
        // No more pieces than blocks.
        assert_eq!(segments(4096, 1, 512, 2, Cost::of::<f32>(1024)).len(), 8);
    }

    #[test]
    fn map_keeps_the_order_for_every_thread_count() {
        for threads in 0..5 {
            let items: Vec<usize> = (0..37).collect();
            let want: Vec<usize> = (0..37).map(|k| k * k).collect();
            assert_eq!(map(items, threads, |k| k * k), want);
            assert_eq!(map(vec![3], threads, |k| k + 1), vec![4]);
            assert!(map(Vec::<u8>::new(), threads, |k| k).is_empty());
        }
    }

    #[test]
    fn map_runs_each_item_once_whichever_thread_takes_it() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let calls: Vec<AtomicUsize> = (0..64).map(|_| AtomicUsize::new(0)).collect();
        let out = map((0..64).collect(), 3, |k: usize| {
            calls[k].fetch_add(1, Ordering::Relaxed);
            k
        });
        assert_eq!(out, (0..64).collect::<Vec<_>>());
        assert!(calls.iter().all(|n| n.load(Ordering::Relaxed) == 1));
    }
}
