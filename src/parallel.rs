//! Threads: a computation splits its rows (or elements) into contiguous
//! segments, one per thread, each a whole number of the computation's
//! blocks; each segment returns its blocks' partial sums, and the caller
//! adds them in block order. The blocks, and so every partial sum and the
//! order of the additions, do not depend on the number of threads: results
//! are bitwise identical for every thread count.
//!
//! Segments run on scoped threads (`std::thread::scope`), the first on the
//! calling thread; a call with one segment (one thread asked for, or less
//! than twice [`MIN_WORK_PER_THREAD`] of work) runs on the calling thread
//! without touching any thread machinery.

use core::ops::Range;

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

/// Splits `units` units (rows, elements) of `unit_len` elements of `cost`
/// each into at most `threads` contiguous segments of whole groups of
/// `align` units (the caller's blocks), each with at least
/// [`MIN_WORK_PER_THREAD`] of work when there are several; none when
/// `units` is 0.
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
    let count = threads.min(groups).min(work / MIN_WORK_PER_THREAD).max(1);
    let per = groups.div_ceil(count).max(1) * align;
    (0..units)
        .step_by(per)
        .map(|start| start..(start + per).min(units))
        .collect()
}

/// Runs `f` on every item, the first on the calling thread and each other
/// on a thread of its own; returns the results in item order. A panic in
/// `f` propagates to the caller.
pub(crate) fn map<I: Send, R: Send>(items: Vec<I>, f: impl Fn(I) -> R + Sync) -> Vec<R> {
    let mut items = items.into_iter();
    let Some(first) = items.next() else {
        return Vec::new();
    };
    if items.len() == 0 {
        // No thread machinery at all (std would allocate a handle for the
        // calling thread, which valgrind reports as a leak).
        return vec![f(first)];
    }
    let f = &f;
    std::thread::scope(|scope| {
        let others: Vec<_> = items.map(|item| scope.spawn(move || f(item))).collect();
        let mut results = vec![f(first)];
        results.extend(
            others
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
        );
        results
    })
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
            assert!(segs.len() <= threads.max(1));
            let mut next = 0;
            for s in &segs {
                assert_eq!(s.start, next);
                assert!(s.start % align == 0 && s.end > s.start);
                next = s.end;
            }
            assert_eq!(next, units);
            if segs.len() > 1 {
                assert!(segs[..segs.len() - 1]
                    .iter()
                    .all(|s| s.len() * unit_len * cost.0 >= MIN_WORK_PER_THREAD));
            }
        }
        // f32 sparse CE + grad at c = 1000 (cost 2 per entry): two threads
        // measured slower at 128 and 256 rows, 15% faster at 512; two
        // segments from 1024 rows (2^19 units each).
        assert_eq!(segments(512, 1000, 8, 2, Cost::of::<f32>(2)).len(), 1);
        assert_eq!(segments(1024, 1000, 8, 2, Cost::of::<f32>(2)).len(), 2);
        // f32 binary focal loss (cost 4): two threads measured slower at
        // 131072 elements, even at 262144 (with a second spawn for the
        // target check, which no longer takes threads there).
        assert_eq!(segments(131072, 1, 512, 2, Cost::of::<f32>(4)).len(), 1);
        assert_eq!(segments(262144, 1, 512, 2, Cost::of::<f32>(4)).len(), 2);
        // f64 counts double.
        assert_eq!(segments(131072, 1, 512, 2, Cost::of::<f64>(4)).len(), 2);
    }

    #[test]
    fn map_keeps_the_order() {
        let items: Vec<usize> = (0..5).collect();
        assert_eq!(map(items, |k| k * k), vec![0, 1, 4, 9, 16]);
        assert_eq!(map(vec![3], |k| k + 1), vec![4]);
        assert!(map(Vec::<u8>::new(), |k| k).is_empty());
    }
}
