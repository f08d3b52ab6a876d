//! The harness shared by the fuzz targets.
//!
//! Generators favour the edges the C contract talks about: NaN, both
//! infinities, subnormals, huge magnitudes, unknown enum values, sizes that
//! overflow, NULL, misaligned and overlapping pointers. An [`Expectation`]
//! collects the reasons the contract gives for refusing a call, and
//! [`check_call`] makes the call twice and checks what every call must
//! satisfy: a documented status that agrees with the expectation, never
//! `FLOSS_ERR_PANIC`, unchanged inputs, untouched outputs after a refusal,
//! the error message, and bitwise identical results.

use core::ffi::CStr;
use core::fmt::Debug;
use core::mem::size_of;

use floss::ffi::types::*;
use floss::ffi::utility::{floss_last_error, floss_set_num_threads, floss_status_str};
pub use libfuzzer_sys::arbitrary::{Result, Unstructured};

/// The largest |1 / ln b| for which no result may overflow (b near 1 scales
/// every logarithm up without bound).
pub const TAME_LOG_SCALE: f64 = 1e6;
/// The largest weight, alpha or pos_weight for which no result may overflow.
pub const TAME_WEIGHT: f64 = 1e6;
/// The largest focal gamma for which no derivative may overflow.
pub const TAME_GAMMA: f64 = 64.0;
/// Arrays longer than this are never allocated: a call with such a size must
/// be refused before any element is touched.
const MAX_ALLOCATION: usize = 1 << 16;

/// A value compared bit for bit (NaN payloads and the sign of zero count).
pub trait Bits: Copy + Debug {
    fn bits(self) -> u64;
}

impl Bits for i64 {
    fn bits(self) -> u64 {
        self as u64
    }
}

/// `f32` or `f64`, with what the generators and checks need to know.
pub trait Real: Bits + PartialOrd + 'static {
    /// Suffix of the exported names: `f32` or `f64`.
    const SUFFIX: &'static str;
    const MAX: Self;
    const MIN_POSITIVE: Self;
    /// The smallest positive subnormal.
    const TINY: Self;
    const EPSILON: Self;
    /// Largest input magnitude (logit, sample, density, dx) for which no
    /// result may overflow: far below `MAX` even after squaring and
    /// multiplying by the tame weights, gamma and log scale.
    const TAME: f64;
    /// Below this a probability's 1/p^2 may overflow.
    const SMALL: f64;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn from_bits64(bits: u64) -> Self;
    /// A quiet NaN no computation produces: outputs are filled with it
    /// before each call, so an output left unwritten shows up as NaN.
    fn sentinel() -> Self;
}

impl Bits for f32 {
    fn bits(self) -> u64 {
        u64::from(self.to_bits())
    }
}

impl Real for f32 {
    const SUFFIX: &'static str = "f32";
    const MAX: Self = f32::MAX;
    const MIN_POSITIVE: Self = f32::MIN_POSITIVE;
    const TINY: Self = 1e-45;
    const EPSILON: Self = f32::EPSILON;
    const TAME: f64 = 1e6;
    const SMALL: f64 = 1e-18;
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_bits64(bits: u64) -> Self {
        f32::from_bits(bits as u32)
    }
    fn sentinel() -> Self {
        f32::from_bits(0x7fc0_f1a5)
    }
}

impl Bits for f64 {
    fn bits(self) -> u64 {
        self.to_bits()
    }
}

impl Real for f64 {
    const SUFFIX: &'static str = "f64";
    const MAX: Self = f64::MAX;
    const MIN_POSITIVE: Self = f64::MIN_POSITIVE;
    const TINY: Self = 5e-324;
    const EPSILON: Self = f64::EPSILON;
    const TAME: f64 = 1e30;
    const SMALL: f64 = 1e-150;
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn from_bits64(bits: u64) -> Self {
        f64::from_bits(bits)
    }
    fn sentinel() -> Self {
        f64::from_bits(0x7ff8_0000_f1a5_f1a5)
    }
}

/// What a generated number stands for; each has its ordinary range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    Logit,
    Probability,
    Weight,
    Sample,
    Density,
}

/// A number: usually from the domain's ordinary range, one time in eight
/// an [`edge`] value.
pub fn real<T: Real>(u: &mut Unstructured, domain: Domain) -> Result<T> {
    if !u.ratio(7u8, 8u8)? {
        return edge(u);
    }
    let x = match domain {
        Domain::Logit => f64::from(u.arbitrary::<i16>()?) / 256.0,
        Domain::Sample => f64::from(u.arbitrary::<i16>()?) / 64.0,
        Domain::Probability => f64::from(u.arbitrary::<u16>()?) / 65535.0,
        Domain::Weight | Domain::Density => f64::from(u.arbitrary::<u16>()?) / 4096.0,
    };
    Ok(T::from_f64(x))
}

/// `n` numbers of a domain.
pub fn reals<T: Real>(u: &mut Unstructured, n: usize, domain: Domain) -> Result<Vec<T>> {
    (0..n).map(|_| real(u, domain)).collect()
}

/// A value at an edge of the type: signed zeros, subnormals, values next to
/// 0 and 1, exp/ln overflow thresholds, huge and extreme magnitudes, both
/// infinities, NaN, or any bit pattern.
pub fn edge<T: Real>(u: &mut Unstructured) -> Result<T> {
    let eps = T::EPSILON.to_f64();
    let x = match u.int_in_range(0..=21u8)? {
        0 => 0.0,
        1 => -0.0,
        2 => T::TINY.to_f64(),
        3 => -T::TINY.to_f64(),
        4 => T::MIN_POSITIVE.to_f64(),
        5 => 1.0 - eps / 2.0,
        6 => 1.0 + eps,
        7 => eps,
        8 => 1.0,
        9 => 88.73,
        10 => 709.79,
        11 => -745.2,
        12 => 1e6,
        13 => -1e6,
        14 => 1e30,
        15 => -1e30,
        16 => T::MAX.to_f64(),
        17 => -T::MAX.to_f64(),
        18 => f64::NEG_INFINITY,
        19 => f64::INFINITY,
        20 => f64::NAN,
        _ => return Ok(T::from_bits64(u.arbitrary()?)),
    };
    Ok(T::from_f64(x))
}

/// A parameter: usually one of `usual`, one time in four an [`edge`] value.
pub fn param<T: Real>(u: &mut Unstructured, usual: &[f64]) -> Result<T> {
    if u.ratio(3u8, 4u8)? {
        Ok(T::from_f64(*u.choose(usual)?))
    } else {
        edge(u)
    }
}

/// Where the pointer passed for an array points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The array's own exactly-sized allocation.
    Own,
    Null,
    /// One byte past an aligned address (never valid for any element type).
    Misaligned,
    /// Inside another array of the call (outputs only): an overlap.
    Into {
        region: usize,
        offset: usize,
    },
}

/// The place of an input array: mostly its own memory.
pub fn input_place(u: &mut Unstructured) -> Result<Place> {
    Ok(match u.int_in_range(0..=31u8)? {
        0 | 1 => Place::Null,
        2 => Place::Misaligned,
        _ => Place::Own,
    })
}

/// The place of an output; `optional` outputs (grad, hess, weights) are
/// often NULL.
pub fn output_place(u: &mut Unstructured, optional: bool) -> Result<Place> {
    let nulls = if optional { 12 } else { 1 };
    let k = u.int_in_range(0..=31u8)?;
    Ok(match k {
        0 => Place::Misaligned,
        1..=3 => Place::Into {
            region: usize::from(u.arbitrary::<u8>()?),
            offset: usize::from(u.arbitrary::<u8>()?),
        },
        _ if k < 4 + nulls => Place::Null,
        _ => Place::Own,
    })
}

/// A byte range an output may be placed into.
#[derive(Clone, Copy, Debug)]
pub struct Region {
    start: *mut u8,
    bytes: usize,
}

/// A caller's array and the pointer passed for it.
pub struct Array<E> {
    pub data: Vec<E>,
    pub place: Place,
    /// Backing store of a misaligned pointer (never dereferenced by a
    /// correct library, so its contents do not matter).
    shifted: Vec<u64>,
}

impl<E: Debug> Debug for Array<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?} {:?}", self.place, self.data)
    }
}

impl<E: Bits> Array<E> {
    pub fn new(data: Vec<E>, place: Place) -> Self {
        let words = data.len() * size_of::<E>() / 8 + 2;
        Array {
            data,
            place,
            shifted: vec![0; words],
        }
    }

    pub fn ptr(&self) -> *const E {
        match self.place {
            Place::Own => self.data.as_ptr(),
            Place::Null => core::ptr::null(),
            Place::Misaligned => self.shifted.as_ptr().cast::<u8>().wrapping_add(1).cast(),
            Place::Into { .. } => unreachable!("inputs are never placed into other arrays"),
        }
    }

    /// The memory an output may overlap, if the library sees this array's
    /// own non-empty allocation.
    pub fn region(&self) -> Option<Region> {
        (self.place == Place::Own && !self.data.is_empty()).then(|| Region {
            start: self.data.as_ptr() as *mut u8,
            bytes: self.data.len() * size_of::<E>(),
        })
    }

    /// Refusal reasons for this array passed with `len` elements.
    pub fn expect(&self, e: &mut Expectation, name: &str, len: usize, required: bool) {
        place_reasons(e, name, self.place, len, required);
    }

    pub fn bits(&self) -> Vec<u64> {
        self.data.iter().map(|x| x.bits()).collect()
    }
}

fn place_reasons(e: &mut Expectation, name: &str, place: Place, len: usize, required: bool) {
    match place {
        Place::Null if required && len > 0 => {
            e.refuse(FLOSS_ERR_NULL_POINTER, format!("{name} is NULL"))
        }
        // An empty array is never dereferenced: any pointer is accepted.
        Place::Misaligned if len > 0 => {
            e.refuse(FLOSS_ERR_ALIGNMENT, format!("{name} is misaligned"))
        }
        Place::Into { .. } if len > 0 => {
            e.refuse(FLOSS_ERR_OVERLAP, format!("{name} overlaps another array"))
        }
        _ => {}
    }
}

/// An output array: `len` elements written by the library.
#[derive(Debug)]
pub struct Output<T> {
    pub name: &'static str,
    pub len: usize,
    pub place: Place,
    /// Own storage, exactly `len` long (so that ASan sees any overrun)
    /// unless `len` is too large to allocate.
    pub data: Vec<T>,
    shifted: Vec<u64>,
    into: *mut T,
}

impl<T: Real> Output<T> {
    pub fn new(name: &'static str, len: usize, place: Place) -> Self {
        let own = if len <= MAX_ALLOCATION { len } else { 1 };
        Output {
            name,
            len,
            place,
            data: vec![T::sentinel(); own],
            shifted: vec![0; own * size_of::<T>() / 8 + 2],
            into: core::ptr::null_mut(),
        }
    }

    /// Fixes where an `Into` output points, inside one of `regions`; it
    /// becomes `Own` when none can hold it. Call once, then add
    /// [`Output::region`] to `regions` for the outputs after it.
    pub fn resolve(&mut self, regions: &[Region]) {
        if let Place::Into { region, offset } = self.place {
            let fits = if self.len == 0 || regions.is_empty() {
                None
            } else {
                let r = regions[region % regions.len()];
                let capacity = r.bytes / size_of::<T>();
                (capacity >= self.len).then(|| {
                    let offset = offset % (capacity - self.len + 1);
                    r.start.wrapping_add(offset * size_of::<T>()).cast::<T>()
                })
            };
            match fits {
                Some(ptr) => self.into = ptr,
                None => self.place = Place::Own,
            }
        }
    }

    pub fn region(&self) -> Option<Region> {
        (self.place == Place::Own && self.len > 0 && self.data.len() == self.len).then(|| Region {
            start: self.data.as_ptr() as *mut u8,
            bytes: self.len * size_of::<T>(),
        })
    }

    pub fn ptr(&mut self) -> *mut T {
        match self.place {
            Place::Own => self.data.as_mut_ptr(),
            Place::Null => core::ptr::null_mut(),
            Place::Misaligned => self
                .shifted
                .as_mut_ptr()
                .cast::<u8>()
                .wrapping_add(1)
                .cast(),
            Place::Into { .. } => self.into,
        }
    }

    /// Refusal reasons for this output (`required`: NULL is refused when
    /// `len > 0`).
    pub fn expect(&self, e: &mut Expectation, required: bool) {
        place_reasons(e, self.name, self.place, self.len, required);
    }

    /// The written values, if the library was given this array's storage.
    pub fn values(&self) -> Option<&[T]> {
        (self.place == Place::Own && self.data.len() == self.len).then_some(&self.data[..])
    }

    fn reset(&mut self) {
        self.data.fill(T::sentinel());
    }

    fn untouched(&self) -> bool {
        self.data.iter().all(|x| x.bits() == T::sentinel().bits())
    }

    fn bits(&self) -> Vec<u64> {
        self.data.iter().map(|x| x.bits()).collect()
    }
}

/// Places outputs `Into` the regions of the inputs and of the outputs
/// before them.
pub fn resolve_outputs<T: Real>(mut regions: Vec<Region>, outputs: &mut [Output<T>]) {
    for output in outputs {
        output.resolve(&regions);
        regions.extend(output.region());
    }
}

/// `floss_options` and the pointer passed for it.
#[derive(Clone, Copy)]
pub struct Opts {
    pub value: floss_options,
    pub place: Place,
    shifted: [u64; 12],
}

/// The size the library expects in `floss_options.size`.
pub const OPTIONS_SIZE: u32 = size_of::<floss_options>() as u32;

impl Debug for Opts {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?} {:?}", self.place, self.value)
    }
}

impl Opts {
    /// Options, mostly valid; any field may be out of its domain. `c` is the
    /// number of classes, so that the ignore index is often a real class.
    pub fn arbitrary(u: &mut Unstructured, c: usize) -> Result<Self> {
        let mostly = |u: &mut Unstructured, valid: u32| -> Result<u32> {
            if u.ratio(15u8, 16u8)? {
                u.int_in_range(0..=valid)
            } else {
                u.arbitrary()
            }
        };
        let size = match u.int_in_range(0..=31u8)? {
            0 => *u.choose(&[0, OPTIONS_SIZE - 8, OPTIONS_SIZE + 8, u32::MAX])?,
            1 => FLOSS_OPTIONS_SIZE_V0_1,
            _ => OPTIONS_SIZE,
        };
        let input = mostly(u, 1)?;
        let reduction = mostly(u, 3)?;
        let log_base = param::<f64>(u, &[0.0, 0.0, 0.0, 2.0, 10.0, core::f64::consts::E, 0.5])?;
        let ignore_index = match u.int_in_range(0..=7u8)? {
            0..=3 => FLOSS_NO_IGNORE,
            4 => -100,
            5 | 6 => u.int_in_range(0..=c as i64)?,
            _ => u.arbitrary()?,
        };
        let label_smoothing = param::<f64>(u, &[0.0, 0.0, 0.0, 0.1, 0.5, 1.0])?;
        let hessian = mostly(u, 2)?;
        let hessian_floor = param::<f64>(u, &[1e-6, 1e-6, 0.5, 1e-300])?;
        let place = match u.int_in_range(0..=31u8)? {
            0..=3 => Place::Null,
            4 => Place::Misaligned,
            _ => Place::Own,
        };
        Ok(Opts {
            value: floss_options {
                size,
                input,
                reduction,
                log_base,
                ignore_index,
                label_smoothing,
                hessian,
                hessian_floor,
                // The channels-first layout is not generated: every case
                // is rows of c values.
                positions: 0,
            },
            place,
            shifted: [0; 12],
        })
    }

    pub fn ptr(&self) -> *const floss_options {
        match self.place {
            Place::Null => core::ptr::null(),
            Place::Misaligned => self.shifted.as_ptr().cast::<u8>().wrapping_add(1).cast(),
            _ => &self.value,
        }
    }

    /// The options the library reads: the defaults for NULL, and for the
    /// fields past the 0.1 layout when `size` says 0.1.
    pub fn effective(&self) -> floss_options {
        let defaults = floss_options {
            size: OPTIONS_SIZE,
            input: FLOSS_INPUT_PROBS,
            reduction: FLOSS_REDUCTION_MEAN,
            log_base: 0.0,
            ignore_index: FLOSS_NO_IGNORE,
            label_smoothing: 0.0,
            hessian: FLOSS_HESSIAN_EXACT,
            hessian_floor: 1e-6,
            positions: 0,
        };
        match self.place {
            Place::Null => defaults,
            _ if self.value.size == FLOSS_OPTIONS_SIZE_V0_1 => floss_options {
                size: OPTIONS_SIZE,
                hessian: defaults.hessian,
                hessian_floor: defaults.hessian_floor,
                positions: defaults.positions,
                ..self.value
            },
            _ => self.value,
        }
    }

    pub fn logits(&self) -> bool {
        self.effective().input == FLOSS_INPUT_LOGITS
    }

    pub fn reduction(&self) -> u32 {
        self.effective().reduction
    }

    pub fn smoothing(&self) -> f64 {
        self.effective().label_smoothing
    }

    /// Whether rows labelled `label` are skipped.
    pub fn ignores(&self, label: i64) -> bool {
        let ignore = self.effective().ignore_index;
        ignore != FLOSS_NO_IGNORE && label == ignore
    }

    /// Number of `out` entries for `samples` samples.
    pub fn out_len(&self, samples: usize) -> usize {
        if self.reduction() == FLOSS_REDUCTION_NONE {
            samples
        } else {
            1
        }
    }

    /// Whether |1 / ln b| is small enough for no result to overflow.
    pub fn tame(&self) -> bool {
        let b = self.effective().log_base;
        b == 0.0 || (1.0 / b.ln()).abs() <= TAME_LOG_SCALE
    }

    /// Refusal reasons from the options: `size`, `log_base` and the fields
    /// the function `reads` (a field a function does not read is not
    /// validated).
    pub fn expect(&self, e: &mut Expectation, reads: Reads) {
        if self.place == Place::Misaligned {
            e.refuse(FLOSS_ERR_ALIGNMENT, "opts is misaligned");
            return;
        }
        let o = self.effective();
        if o.size != OPTIONS_SIZE {
            // Nothing past the size is read.
            e.refuse(FLOSS_ERR_ARGUMENT, format!("opts->size = {}", o.size));
            return;
        }
        let b = o.log_base;
        if !(b == 0.0 || (b.is_finite() && b > 0.0 && b != 1.0)) {
            e.refuse(FLOSS_ERR_ARGUMENT, format!("opts->log_base = {b}"));
        }
        if reads == Reads::LogBase {
            return;
        }
        if o.input > 1 {
            e.refuse(FLOSS_ERR_ARGUMENT, format!("opts->input = {}", o.input));
        }
        if o.reduction > 3 {
            e.refuse(
                FLOSS_ERR_ARGUMENT,
                format!("opts->reduction = {}", o.reduction),
            );
        }
        if o.hessian > 2 {
            e.refuse(FLOSS_ERR_ARGUMENT, format!("opts->hessian = {}", o.hessian));
        }
        let floor = o.hessian_floor;
        if o.hessian == FLOSS_HESSIAN_FLOOR && !(floor.is_finite() && floor > 0.0) {
            e.refuse(FLOSS_ERR_ARGUMENT, format!("opts->hessian_floor = {floor}"));
        } else if o.hessian == FLOSS_HESSIAN_FLOOR
            && !((floor as f32).is_finite() && floor as f32 > 0.0)
        {
            // The f32 functions refuse a floor that rounds to 0 or Inf in
            // float (ARGUMENT); the f64 ones accept it. This expectation
            // does not know the dtype, so either status is allowed.
            e.unsure(format!(
                "opts->hessian_floor = {floor} rounds to 0 or Inf in float"
            ));
        }
        let eps = o.label_smoothing;
        if reads == Reads::Targets && !(0.0..=1.0).contains(&eps) {
            e.refuse(FLOSS_ERR_ARGUMENT, format!("opts->label_smoothing = {eps}"));
        }
    }

    /// The same options with the fields the function does not read changed
    /// to other values, valid or not (they must not change any result), if
    /// they are passed.
    pub fn variant(&self, u: &mut Unstructured, unread: Unread) -> Result<Option<Opts>> {
        if self.place != Place::Own || self.value.size != OPTIONS_SIZE {
            return Ok(None);
        }
        let mut v = *self;
        let o = &mut v.value;
        o.ignore_index = u.arbitrary()?;
        if unread != Unread::IgnoreIndex {
            o.label_smoothing = edge(u)?;
        }
        if unread == Unread::AllButLogBase {
            o.input = u.arbitrary()?;
            o.reduction = u.arbitrary()?;
            o.hessian = u.arbitrary()?;
            o.hessian_floor = edge(u)?;
            o.positions = u.arbitrary()?;
        }
        Ok(Some(v))
    }

    pub fn bits(&self) -> Vec<u64> {
        let o = &self.value;
        vec![
            u64::from(o.size),
            u64::from(o.input),
            u64::from(o.reduction),
            o.log_base.to_bits(),
            o.ignore_index as u64,
            o.label_smoothing.to_bits(),
            u64::from(o.hessian),
            o.hessian_floor.to_bits(),
            o.positions as u64,
        ]
    }
}

/// The option fields a function reads besides `size` and `log_base`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    /// Nothing more (differential entropy).
    LogBase,
    /// `input`, `reduction`, `hessian`, `hessian_floor` (entropy).
    Loss,
    /// Those and `label_smoothing` (every other loss).
    Targets,
}

/// Which option fields a function does not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unread {
    /// Binary losses: `ignore_index` (and `positions`, never generated).
    IgnoreIndex,
    /// Entropy: `ignore_index` and `label_smoothing`.
    IgnoreIndexAndSmoothing,
    /// Differential entropy: every field but `log_base`.
    AllButLogBase,
}

/// Refusal reasons the contract gives for a call; with none the call must
/// succeed. `unsure` marks inputs on which the contract is silent (the
/// status is then only checked to be documented).
#[derive(Debug, Default)]
pub struct Expectation {
    pub refusals: Vec<(floss_status, String)>,
    pub unsure: Vec<String>,
}

impl Expectation {
    pub fn refuse(&mut self, status: floss_status, why: impl Into<String>) {
        self.refusals.push((status, why.into()));
    }

    pub fn unsure(&mut self, why: impl Into<String>) {
        self.unsure.push(why.into());
    }

    fn check(&self, status: floss_status) -> core::result::Result<(), String> {
        let codes: Vec<_> = self.refusals.iter().map(|r| r.0).collect();
        let fine = if self.refusals.is_empty() {
            status == FLOSS_OK || !self.unsure.is_empty()
        } else {
            status != FLOSS_OK && (codes.contains(&status) || !self.unsure.is_empty())
        };
        if fine {
            Ok(())
        } else {
            Err(format!(
                "status {} disagrees with the contract: expected {}",
                status_name(status),
                if self.refusals.is_empty() {
                    "FLOSS_OK".to_string()
                } else {
                    format!("one of {:?}", self.refusals)
                }
            ))
        }
    }
}

/// A label for `c` classes: mostly a class, sometimes `ignore` or out of
/// range.
pub fn label(u: &mut Unstructured, c: usize, ignore: i64) -> Result<i64> {
    Ok(match u.int_in_range(0..=15u8)? {
        0 => ignore,
        1 => *u.choose(&[c as i64, -1, -100, i64::MIN, i64::MAX])?,
        _ => u.int_in_range(0..=(c.max(1) - 1) as i64)?,
    })
}

/// Refusals for a value that must be a probability: NaN is non-finite, a
/// finite value outside [0, 1] a probability error, an infinity either.
pub fn expect_probability<T: Real>(e: &mut Expectation, name: &str, k: usize, p: T) {
    let p = p.to_f64();
    let why = format!("{name}[{k}] = {p}");
    if p.is_nan() {
        e.refuse(FLOSS_ERR_NON_FINITE, why);
    } else if p.is_infinite() {
        e.refuse(FLOSS_ERR_NON_FINITE, why.clone());
        e.refuse(FLOSS_ERR_PROBABILITY, why);
    } else if !(0.0..=1.0).contains(&p) {
        e.refuse(FLOSS_ERR_PROBABILITY, why);
    }
}

/// The refusal of an n x c matrix of `elem`-byte elements whose size is
/// invalid (c == 0, or more than isize::MAX bytes); returns whether the
/// shape is valid.
pub fn expect_shape(e: &mut Expectation, n: usize, c: usize, elem: usize) -> bool {
    let bytes = n.checked_mul(c).and_then(|len| len.checked_mul(elem));
    let valid = c > 0 && bytes.is_some_and(|b| b <= isize::MAX as usize);
    if !valid {
        e.refuse(FLOSS_ERR_SHAPE, format!("shape n = {n}, c = {c}"));
    }
    valid
}

/// A shape: mostly small, sometimes large enough for the vector kernels'
/// main loops, sometimes invalid (c == 0, n * c overflowing, or more than
/// isize::MAX bytes). Returns (n, c).
pub fn matrix_shape(u: &mut Unstructured, elem: usize) -> Result<(usize, usize)> {
    Ok(match u.int_in_range(0..=31u8)? {
        0 => (u.int_in_range(0..=3)?, 0),
        1 => (usize::MAX, 0),
        2 => {
            let c = u.int_in_range(2..=5)?;
            (usize::MAX / c + 1, c)
        }
        3 => {
            let c = u.int_in_range(1..=3)?;
            (isize::MAX as usize / elem / c + 1, c)
        }
        4..=7 => (u.int_in_range(0..=40)?, u.int_in_range(1..=40)?),
        _ => (u.int_in_range(0..=6)?, u.int_in_range(1..=5)?),
    })
}

/// A vector length: mostly small, sometimes large, sometimes more than
/// isize::MAX bytes.
pub fn vector_len(u: &mut Unstructured, elem: usize, large: usize) -> Result<usize> {
    Ok(match u.int_in_range(0..=31u8)? {
        0 => isize::MAX as usize / elem + 1,
        1 => usize::MAX,
        2..=5 => u.int_in_range(0..=large)?,
        _ => u.int_in_range(0..=12)?,
    })
}

/// How many elements to allocate for `len`: `len` itself unless the call
/// must be refused for its size anyway.
pub fn allocation(len: usize) -> usize {
    if len <= MAX_ALLOCATION {
        len
    } else {
        0
    }
}

/// The calling thread's last error message.
pub fn last_error() -> String {
    // SAFETY: NULL with length 0 is allowed; then `buf` has `len + 1` bytes.
    let len = unsafe { floss_last_error(core::ptr::null_mut(), 0) };
    let mut buf = vec![0xAAu8; len + 1];
    let full = unsafe { floss_last_error(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(full, len, "floss_last_error: length changed between calls");
    assert_eq!(buf[len], 0, "floss_last_error: no NUL");
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

/// snprintf semantics of `floss_last_error` with a buffer of `room` bytes.
fn check_truncation(message: &str, room: usize) -> core::result::Result<(), String> {
    let mut buf = vec![0xAAu8; room + 4];
    // SAFETY: `buf` has at least `room` writable bytes.
    let full = unsafe { floss_last_error(buf.as_mut_ptr().cast(), room) };
    let kept = message.len().min(room.saturating_sub(1));
    let ok = full == message.len()
        && buf[..kept] == message.as_bytes()[..kept]
        && (room == 0 || buf[kept] == 0)
        && buf[kept + usize::from(room > 0)..]
            .iter()
            .all(|&b| b == 0xAA);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "floss_last_error(buf, {room}) returned {full} and wrote {:?} for {message:?}",
            &buf[..room.min(buf.len())]
        ))
    }
}

const STATUS_NAMES: [&str; 11] = [
    "FLOSS_OK",
    "FLOSS_ERR_NULL_POINTER",
    "FLOSS_ERR_SHAPE",
    "FLOSS_ERR_ARGUMENT",
    "FLOSS_ERR_LABEL",
    "FLOSS_ERR_PROBABILITY",
    "FLOSS_ERR_NON_FINITE",
    "FLOSS_ERR_OVERLAP",
    "FLOSS_ERR_ALIGNMENT",
    "FLOSS_ERR_PANIC",
    "FLOSS_ERR_MEMORY",
];

fn status_name(status: floss_status) -> String {
    STATUS_NAMES
        .get(status as usize)
        .map_or_else(|| format!("unknown status {status}"), |s| s.to_string())
}

/// `floss_status_str` names every status and is never NULL.
pub fn check_status_str(status: floss_status) -> core::result::Result<(), String> {
    let text = floss_status_str(status);
    if text.is_null() {
        return Err(format!("floss_status_str({status}) is NULL"));
    }
    // SAFETY: non-NULL; documented as a static NUL-terminated string.
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let expected = match STATUS_NAMES.get(status as usize) {
        Some(name) => format!("{name}: "),
        None => "unknown status".to_string(),
    };
    if text.starts_with(&expected) {
        Ok(())
    } else {
        Err(format!("floss_status_str({status}) = {text:?}"))
    }
}

/// Statuses that come from checks made before anything is written.
const REFUSED_BEFORE_WRITING: [floss_status; 6] = [
    FLOSS_ERR_NULL_POINTER,
    FLOSS_ERR_SHAPE,
    FLOSS_ERR_ARGUMENT,
    FLOSS_ERR_LABEL,
    FLOSS_ERR_OVERLAP,
    FLOSS_ERR_ALIGNMENT,
];

/// One call of an exported function, as the target describes it.
pub struct Call<'a, T: Real> {
    /// The exported name, e.g. `floss_focal_loss_f64`.
    pub function: String,
    /// Every status its documentation lists.
    pub documented: &'a [floss_status],
    pub expect: &'a Expectation,
    /// Bits of every input, read before and after each call.
    pub inputs: &'a dyn Fn() -> Vec<u64>,
    pub outputs: &'a mut [Output<T>],
    /// Makes the call with these output pointers. Round 0 is the call as
    /// generated; round 1 may use a thread count or unread option fields
    /// that must not change any result.
    pub invoke: &'a mut dyn FnMut(usize, &[*mut T]) -> floss_status,
    /// Thread count for round 1.
    pub threads: usize,
    /// Buffer size for the truncated read of the error message.
    pub room: usize,
}

/// Makes the call twice and checks the invariants every call must satisfy;
/// `on_ok` checks the values of a successful call. Returns the status.
pub fn check_call<T: Real>(
    call: Call<T>,
    on_ok: impl Fn(&[Output<T>]) -> core::result::Result<(), String>,
) -> core::result::Result<floss_status, String> {
    let f = &call.function;
    let inputs_before = (call.inputs)();
    let message_before = last_error();
    let mut results = Vec::new();
    for round in 0..2 {
        for output in call.outputs.iter_mut() {
            output.reset();
        }
        let pointers: Vec<*mut T> = call.outputs.iter_mut().map(Output::ptr).collect();
        floss_set_num_threads(if round == 0 { 1 } else { call.threads });
        let status = (call.invoke)(round, &pointers);
        floss_set_num_threads(1);
        let message = last_error();
        let outputs: Vec<Vec<u64>> = call.outputs.iter().map(Output::bits).collect();

        let context = |what: String| format!("{f} (round {round}): {what}");
        check_status_str(status).map_err(&context)?;
        if status == FLOSS_ERR_PANIC {
            return Err(context(format!("FLOSS_ERR_PANIC: {message}")));
        }
        if !call.documented.contains(&status) {
            return Err(context(format!(
                "undocumented status {} ({message})",
                status_name(status)
            )));
        }
        call.expect
            .check(status)
            .map_err(|e| context(format!("{e}; last error {message:?}")))?;
        if (call.inputs)() != inputs_before {
            return Err(context("an input was modified".into()));
        }
        if status == FLOSS_OK {
            if message != message_before {
                return Err(context(format!(
                    "success changed the last error from {message_before:?} to {message:?}"
                )));
            }
            on_ok(call.outputs).map_err(&context)?;
        } else {
            let prefix = format!("{f}: ");
            if !message.starts_with(&prefix) || message.len() == prefix.len() {
                return Err(context(format!(
                    "{} without a message naming the function: {message:?}",
                    status_name(status)
                )));
            }
            check_truncation(&message, call.room % (message.len() + 2)).map_err(&context)?;
            if REFUSED_BEFORE_WRITING.contains(&status) {
                if let Some(o) = call.outputs.iter().find(|o| !o.untouched()) {
                    return Err(context(format!(
                        "{} but {} was written",
                        status_name(status),
                        o.name
                    )));
                }
            }
        }
        results.push((status, message, outputs));
    }
    let (first, second) = (&results[0], &results[1]);
    if tracing() {
        eprintln!("trace {f} {}", status_name(first.0));
    }
    if first.0 != second.0 || (first.0 == FLOSS_OK && first.2 != second.2) {
        return Err(format!(
            "{f}: not deterministic: {} {:x?} then {} {:x?} (threads {}, unread options changed)",
            status_name(first.0),
            first.2,
            status_name(second.0),
            second.2,
            call.threads
        ));
    }
    if first.0 != FLOSS_OK && first.1 != second.1 {
        return Err(format!(
            "{f}: messages differ between identical calls: {:?} then {:?}",
            first.1, second.1
        ));
    }
    Ok(first.0)
}

/// Whether `FLOSS_FUZZ_TRACE` is set: each call then prints its case,
/// function and status, to see what a corpus reaches.
pub fn tracing() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("FLOSS_FUZZ_TRACE").is_some())
}

/// Checks values of a successful call: never NaN; infinite only where
/// `may_be_infinite(index)` says the contract allows it.
pub fn check_values<T: Real>(
    name: &str,
    values: &[T],
    may_be_infinite: impl Fn(usize) -> bool,
) -> core::result::Result<(), String> {
    for (i, &x) in values.iter().enumerate() {
        let x = x.to_f64();
        if x.is_nan() || (x.is_infinite() && !may_be_infinite(i)) {
            return Err(format!("{name}[{i}] = {x} ({:#x})", x.to_bits()));
        }
    }
    Ok(())
}

/// Whether every logit is -Inf (a masked class) or at most `T::TAME` in
/// magnitude.
pub fn tame_logits<T: Real>(logits: &[T]) -> bool {
    logits.iter().all(|x| {
        let x = x.to_f64();
        x == f64::NEG_INFINITY || x.abs() <= T::TAME
    })
}

/// What the contract says about each sample (row) of a successful loss call.
pub struct Samples {
    /// No result may overflow (see [`Real::TAME`]).
    pub tame: bool,
    /// The sample's loss may be +Inf (a target with probability 0).
    pub infinite_loss: Vec<bool>,
    /// Its derivatives may be infinite beyond that (PROBS near 0 or 1).
    pub steep: Vec<bool>,
    /// It is not skipped for its label (skipped ones give 0 everywhere).
    pub counted: Vec<bool>,
}

impl Samples {
    /// Checks `out`, `grad` and `hess` (rows of `width`): never NaN,
    /// infinite only where allowed, skipped samples 0, and a mean over
    /// nothing 0.
    pub fn check<T: Real>(
        &self,
        outputs: &[Output<T>],
        width: usize,
        opts: &Opts,
    ) -> core::result::Result<(), String> {
        let wild = !self.tame;
        // NULL is fine for an empty `out`.
        let out = outputs[0].values().unwrap_or(&[]);
        if opts.reduction() == FLOSS_REDUCTION_NONE {
            check_values("out", out, |i| wild || self.infinite_loss[i])?;
            if let Some(i) = (0..out.len()).find(|&i| !self.counted[i] && out[i].to_f64() != 0.0) {
                return Err(format!("out[{i}] = {:?} for a skipped sample", out[i]));
            }
        } else {
            check_values("out", out, |_| wild || self.infinite_loss.contains(&true))?;
            let mean = opts.reduction() != FLOSS_REDUCTION_SUM;
            if mean && !self.counted.contains(&true) && out[0].to_f64() != 0.0 {
                return Err(format!("a mean over nothing is {:?}", out[0]));
            }
        }
        for derivative in &outputs[1..] {
            let Some(values) = derivative.values() else {
                continue;
            };
            check_values(derivative.name, values, |k| {
                wild || self.infinite_loss[k / width] || self.steep[k / width]
            })?;
            let skipped_nonzero = |i: usize| {
                !self.counted[i]
                    && values[i * width..(i + 1) * width]
                        .iter()
                        .any(|x| x.to_f64() != 0.0)
            };
            if let Some(i) = (0..self.counted.len()).find(|&i| skipped_nonzero(i)) {
                return Err(format!(
                    "{} of the skipped sample {i} is not 0",
                    derivative.name
                ));
            }
        }
        Ok(())
    }
}

/// Thread count and error-buffer size for a call.
pub fn call_settings(u: &mut Unstructured) -> Result<(usize, usize)> {
    Ok((u.int_in_range(1..=8)?, usize::from(u.arbitrary::<u8>()?)))
}
