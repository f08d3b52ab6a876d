//! The `floss_options` layouts: a program compiled with the 0.1 header (a
//! 40-byte struct, the `floss_options_init` symbol) never gets more bytes
//! written than its struct holds, and its options still work.

use floss::ffi::types::*;
use floss::ffi::utility::{floss_options_init, floss_options_init_sized};

const SENTINEL: u8 = 0xA5;

#[test]
fn the_0_1_entry_point_writes_40_bytes_only() {
    let mut bytes = [SENTINEL; 128];
    let opts = bytes.as_mut_ptr().cast::<floss_options>();
    assert_eq!(opts as usize % core::mem::align_of::<floss_options>(), 0);
    unsafe { floss_options_init(opts) };
    assert!(
        bytes[40..].iter().all(|&b| b == SENTINEL),
        "wrote past the 0.1 layout"
    );
    let size = u32::from_ne_bytes(bytes[..4].try_into().unwrap());
    assert_eq!(size, FLOSS_OPTIONS_SIZE_V0_1);
}

#[test]
fn the_sized_entry_point_writes_exactly_the_given_layout() {
    let full = core::mem::size_of::<floss_options>();
    for size in [FLOSS_OPTIONS_SIZE_V0_1 as usize, full] {
        let mut bytes = [SENTINEL; 128];
        let opts = bytes.as_mut_ptr().cast::<floss_options>();
        assert_eq!(unsafe { floss_options_init_sized(opts, size) }, FLOSS_OK);
        assert!(bytes[size..].iter().all(|&b| b == SENTINEL), "size {size}");
        assert_eq!(
            u32::from_ne_bytes(bytes[..4].try_into().unwrap()) as usize,
            size
        );
    }
    for size in [0, 39, 41, full - 8, full + 8] {
        let mut bytes = [SENTINEL; 128];
        let opts = bytes.as_mut_ptr().cast::<floss_options>();
        assert_eq!(
            unsafe { floss_options_init_sized(opts, size) },
            FLOSS_ERR_ARGUMENT
        );
        assert!(bytes.iter().all(|&b| b == SENTINEL), "size {size} wrote");
    }
    let status = unsafe { floss_options_init_sized(core::ptr::null_mut(), full) };
    assert_eq!(status, FLOSS_ERR_NULL_POINTER);
}

#[test]
fn a_0_1_struct_computes_with_the_new_fields_at_their_defaults() {
    // The 0.1 layout, as a 0.1 program declares it.
    #[repr(C)]
    struct OptionsV01 {
        size: u32,
        input: u32,
        reduction: u32,
        log_base: f64,
        ignore_index: i64,
        label_smoothing: f64,
    }
    assert_eq!(core::mem::size_of::<OptionsV01>(), 40);
    let mut old = core::mem::MaybeUninit::<OptionsV01>::uninit();
    unsafe { floss_options_init(old.as_mut_ptr().cast()) };
    let mut old = unsafe { old.assume_init() };
    old.reduction = FLOSS_REDUCTION_SUM;
    let pred = [0.7f64, 0.2, 0.1, 0.1, 0.8, 0.1];
    let labels = [0i64, 1];
    let mut out = [0.0f64];
    let status = unsafe {
        floss::ffi::cross_entropy::floss_sparse_cross_entropy_f64(
            pred.as_ptr(),
            labels.as_ptr(),
            2,
            3,
            core::ptr::null(),
            core::ptr::addr_of!(old).cast(),
            out.as_mut_ptr(),
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        )
    };
    assert_eq!(status, FLOSS_OK);
    let want = -(0.7f64.ln() + 0.8f64.ln());
    assert!(
        (out[0] - want).abs() <= 1e-15 * want,
        "{} vs {want}",
        out[0]
    );
}
