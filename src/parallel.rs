//! Threads: a computation splits its rows (or elements) into contiguous
//! segments, one per thread, each a whole number of the computation's
//! blocks; each segment returns its blocks' partial sums, and the caller
//! adds them in block order. The blocks, and so every partial sum and the
//! order of the additions, do not depend on the number of threads: results
//! are bitwise identical for every thread count.
//!
//! Segments run on scoped threads (`std::thread::scope`), the first on the
//! calling thread; a call with one segment (one thread asked for, or under
//! [`MIN_WORK_PER_THREAD`] elements) runs on the calling thread without
//! touching any thread machinery.

use core::ops::Range;

/// Fewest elements worth a thread of their own: each segment has at least
/// this many, so a call under it never touches a thread (spawning one costs
/// some 10-50 us).
pub(crate) const MIN_WORK_PER_THREAD: usize = 1 << 15;

/// Splits `units` units (rows, elements) of `unit_len` elements each into
/// at most `threads` contiguous segments of whole groups of `align` units
/// (the caller's blocks), each with at least [`MIN_WORK_PER_THREAD`]
/// elements when there are several; none when `units` is 0.
pub(crate) fn segments(
    units: usize,
    unit_len: usize,
    align: usize,
    threads: usize,
) -> Vec<Range<usize>> {
    let align = align.max(1);
    let groups = units.div_ceil(align);
    let count = threads
        .min(groups)
        .min(units.saturating_mul(unit_len) / MIN_WORK_PER_THREAD)
        .max(1);
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
        for (units, unit_len, align, threads) in [
            (0, 10, 4, 2),
            (1, 10, 4, 2),
            (1000, 1000, 8, 2),
            (1000, 1000, 8, 3),
            (4_000_000, 1, 512, 2),
            (4_000_001, 1, 512, 7),
            (100, 1, 512, 2),
        ] {
            let segs = segments(units, unit_len, align, threads);
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
                    .all(|s| s.len() * unit_len >= MIN_WORK_PER_THREAD));
            }
        }
        // Small calls stay on one segment; large ones use the threads.
        assert_eq!(segments(32767, 1, 1, 2).len(), 1);
        assert_eq!(segments(4096, 1000, 8, 2).len(), 2);
    }

    #[test]
    fn map_keeps_the_order() {
        let items: Vec<usize> = (0..5).collect();
        assert_eq!(map(items, |k| k * k), vec![0, 1, 4, 9, 16]);
        assert_eq!(map(vec![3], |k| k + 1), vec![4]);
        assert!(map(Vec::<u8>::new(), |k| k).is_empty());
    }
}
