//! The producer API: declare the classes a task reports, get a reporter.
//!
//! The run-time logic (counting, rate limits, suppression records, recent
//! deliveries) is ordinary generic code, [`ReporterState`]; the macros only
//! declare: [`reporter!`](crate::reporter) a reporter that owns its buffer,
//! `declare_ereporter!` (feature
//! `ereporter-macro`) one in upstream Hubris's form that owns its packrat
//! client and a static buffer claimed once, and
//! [`class_enum!`](crate::class_enum) an enum of declared classes, for a
//! class chosen at run time.

use crate::ereport::{EncodeError, Ereport};
use crate::ids::Ena;
use crate::ipc::{DeliverEreport, DeliverError};
use crate::storm::{Bucket, RateLimit};

/// What became of one class's reports. Every attempt is counted once:
/// `attempted == sent + suppressed + lost_transient + lost`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassCounts {
    /// Reports the task tried to deliver.
    pub attempted: u32,
    /// Ereports packrat stored.
    pub sent: u32,
    /// Reports refused by the class's rate limit, before any IPC.
    pub suppressed: u32,
    /// Ereports lost because the store was full or packrat was unavailable.
    pub lost_transient: u32,
    /// Ereports lost for good (refused, or failed to encode).
    pub lost: u32,
    /// Suppression records packrat stored for this class.
    pub suppression_records: u32,
}

impl ClassCounts {
    /// All zero.
    pub const ZERO: ClassCounts = ClassCounts {
        attempted: 0,
        sent: 0,
        suppressed: 0,
        lost_transient: 0,
        lost: 0,
        suppression_records: 0,
    };

    /// Whether every attempt is accounted for.
    pub const fn balanced(&self) -> bool {
        let accounted = (self.sent as u64)
            .saturating_add(self.suppressed as u64)
            .saturating_add(self.lost_transient as u64)
            .saturating_add(self.lost as u64);
        accounted == self.attempted as u64
    }
}

/// How long a class must go without a suppressed report before
/// `flush_suppressed` delivers its suppression record, in milliseconds.
pub const SUPPRESSION_QUIET_MS: u64 = 1000;

/// Implemented by [`reporter!`](crate::reporter) (and
/// `declare_ereporter!`) for each class a
/// reporter declares. Do not implement it by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not declared in reporter `{R}`",
    label = "not one of the reporter's classes",
    note = "add it to the list in `ereport_sdk::reporter!`"
)]
pub trait Declared<R>: Ereport {
    /// Position of the class in the reporter's list.
    const INDEX: usize;
}

/// A report whose class is chosen at run time: one of reporter `R`'s
/// declared classes. Every declared class is one; an enum of them declared
/// with [`class_enum!`](crate::class_enum) is one too.
pub trait AnyDeclared<R> {
    /// The most bytes any value encodes to.
    const MAX_LEN: usize;
    /// The position, in `R`'s list, of the class this value is.
    fn class_index(&self) -> usize;
    /// That class's rate limit.
    fn rate_limit(&self) -> Option<RateLimit>;
    /// Encodes the ereport into `buf` (see [`Ereport::encode_to_slice`]).
    fn encode_declared(&self, buf: &mut [u8]) -> Result<usize, EncodeError>;
}

impl<R, E: Declared<R>> AnyDeclared<R> for E {
    const MAX_LEN: usize = <E as Ereport>::MAX_LEN;
    #[inline]
    fn class_index(&self) -> usize {
        <E as Declared<R>>::INDEX
    }
    #[inline]
    fn rate_limit(&self) -> Option<RateLimit> {
        <E as Ereport>::RATE_LIMIT
    }
    #[inline]
    fn encode_declared(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        self.encode_to_slice(buf)
    }
}

/// How many recent deliveries a reporter remembers (feature `recent`).
pub const RECENT_DELIVERIES: usize = 8;

/// One delivery a reporter attempted, as `ReporterState::recent` lists
/// it (feature `recent`): upstream's ring buffer of deliveries, without the
/// ringbuf crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The class.
    pub class: &'static str,
    /// Bytes encoded (0 when refused before encoding).
    pub len: u16,
    /// What became of it.
    pub result: Result<Ena, DeliverError>,
}

/// A reporter's run time, for `C` declared classes: per-class counts and
/// token buckets, the rate-limit switch, and (feature `recent`) a ring of
/// the last [`RECENT_DELIVERIES`] deliveries. `const`-constructed; the
/// buffer it encodes into is the reporter's, passed in, so it may live
/// inline or in a static claimed once.
#[derive(Debug)]
pub struct ReporterState<const C: usize> {
    counts: [ClassCounts; C],
    buckets: [Bucket; C],
    /// Rate limits off (a bench switch); false, all zeroes, by default.
    unlimited: bool,
    #[cfg(feature = "recent")]
    recent: [Option<Delivery>; RECENT_DELIVERIES],
    #[cfg(feature = "recent")]
    next_recent: usize,
}

impl<const C: usize> Default for ReporterState<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const C: usize> ReporterState<C> {
    /// Zeroed counts, full buckets.
    pub const fn new() -> Self {
        Self {
            counts: [ClassCounts::ZERO; C],
            buckets: [Bucket::FULL; C],
            unlimited: false,
            #[cfg(feature = "recent")]
            recent: [None; RECENT_DELIVERIES],
            #[cfg(feature = "recent")]
            next_recent: 0,
        }
    }

    /// Turns every class's rate limit off (`false`) or back on.
    pub fn enforce_rate_limits(&mut self, on: bool) {
        self.unlimited = !on;
    }

    /// Delivers `report`, one of the classes named by `classes`, encoding
    /// it into `buf`, at the task's uptime `now_ms`, and counts the
    /// outcome. An over-limit report of a rate-limited class is refused
    /// before any IPC; the next one let through is preceded by a
    /// suppression record.
    pub fn deliver<R, A, P>(
        &mut self,
        buf: &mut [u8],
        classes: &[&'static str; C],
        packrat: &P,
        report: &A,
        now_ms: u64,
    ) -> Result<Ena, DeliverError>
    where
        A: AnyDeclared<R> + ?Sized,
        P: DeliverEreport + ?Sized,
    {
        self.deliver_with(
            buf,
            classes,
            packrat,
            report.class_index(),
            report.rate_limit(),
            now_ms,
            |b| report.encode_declared(b),
        )
    }

    /// [`deliver`](Self::deliver) for the class at `index`, with its
    /// `rate_limit`, written by `encode` (which returns the length).
    #[allow(clippy::too_many_arguments)]
    pub fn deliver_with<P>(
        &mut self,
        buf: &mut [u8],
        classes: &[&'static str; C],
        packrat: &P,
        index: usize,
        rate_limit: Option<RateLimit>,
        now_ms: u64,
        encode: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<Ena, DeliverError>
    where
        P: DeliverEreport + ?Sized,
    {
        self.count(index, |c| c.attempted = c.attempted.saturating_add(1));
        if let (Some(limit), false) = (rate_limit, self.unlimited) {
            let admitted = self
                .buckets
                .get_mut(index)
                .is_none_or(|b| b.admit(limit, now_ms));
            if !admitted {
                self.count(index, |c| c.suppressed = c.suppressed.saturating_add(1));
                self.note(classes, index, 0, Err(DeliverError::Suppressed));
                return Err(DeliverError::Suppressed);
            }
            self.record_suppressed(buf, classes, packrat, index);
        }
        let (len, result) = match encode(buf) {
            Ok(n) => match buf.get(..n) {
                Some(body) => (n, packrat.deliver_ereport(body)),
                None => (0, Err(DeliverError::Encode)),
            },
            Err(_) => (0, Err(DeliverError::Encode)),
        };
        self.count(index, |c| match result {
            Ok(_) => c.sent = c.sent.saturating_add(1),
            Err(e) if e.is_transient() => c.lost_transient = c.lost_transient.saturating_add(1),
            Err(_) => c.lost = c.lost.saturating_add(1),
        });
        self.note(classes, index, len, result);
        result
    }

    fn count(&mut self, index: usize, f: impl FnOnce(&mut ClassCounts)) {
        if let Some(c) = self.counts.get_mut(index) {
            f(c);
        }
    }

    #[cfg(feature = "recent")]
    fn note(
        &mut self,
        classes: &[&'static str; C],
        index: usize,
        len: usize,
        result: Result<Ena, DeliverError>,
    ) {
        let class = classes.get(index).copied().unwrap_or("");
        let len = u16::try_from(len).unwrap_or(u16::MAX);
        if let Some(slot) = self.recent.get_mut(self.next_recent) {
            *slot = Some(Delivery { class, len, result });
        }
        self.next_recent = self.next_recent.wrapping_add(1) % RECENT_DELIVERIES;
    }

    #[cfg(not(feature = "recent"))]
    #[inline(always)]
    fn note(&mut self, _: &[&'static str; C], _: usize, _: usize, _: Result<Ena, DeliverError>) {}

    /// The last [`RECENT_DELIVERIES`] deliveries, oldest first (feature
    /// `recent`).
    #[cfg(feature = "recent")]
    pub fn recent(&self) -> impl Iterator<Item = Delivery> + '_ {
        let (newer, older) = self.recent.split_at(self.next_recent);
        older.iter().chain(newer.iter()).filter_map(|d| *d)
    }

    /// Delivers the pending suppression record of class `index`, if any;
    /// on failure it stays pending.
    fn record_suppressed<P>(
        &mut self,
        buf: &mut [u8],
        classes: &[&'static str; C],
        packrat: &P,
        index: usize,
    ) where
        P: DeliverEreport + ?Sized,
    {
        let Some(class) = classes.get(index).copied() else {
            return;
        };
        let Some(record) = self.buckets.get(index).and_then(|b| b.pending(class)) else {
            return;
        };
        let Ok(n) = record.encode_to_slice(buf) else {
            return;
        };
        let Some(body) = buf.get(..n) else { return };
        if packrat.deliver_ereport(body).is_ok() {
            if let Some(b) = self.buckets.get_mut(index) {
                b.recorded(record.count);
            }
            self.count(index, |c| {
                c.suppression_records = c.suppression_records.saturating_add(1)
            });
        }
    }

    /// Delivers the suppression record of every class that has suppressed
    /// reports and none for [`SUPPRESSION_QUIET_MS`] before `now_ms`.
    /// Returns how many records were stored.
    pub fn flush_suppressed<P>(
        &mut self,
        buf: &mut [u8],
        classes: &[&'static str; C],
        packrat: &P,
        now_ms: u64,
    ) -> usize
    where
        P: DeliverEreport + ?Sized,
    {
        let mut stored = 0usize;
        for index in 0..C {
            let suppressed = |s: &Self| s.buckets.get(index).map_or(0, |b| b.suppressed());
            let due = self
                .buckets
                .get(index)
                .is_some_and(|b| b.suppressed() > 0 && b.quiet_since(now_ms, SUPPRESSION_QUIET_MS));
            if due {
                let before = suppressed(self);
                self.record_suppressed(buf, classes, packrat, index);
                if suppressed(self) < before {
                    stored = stored.saturating_add(1);
                }
            }
        }
        stored
    }

    /// Counts for the class at `index`.
    pub fn counts(&self, index: usize) -> ClassCounts {
        self.counts.get(index).copied().unwrap_or(ClassCounts::ZERO)
    }

    /// Counts for every class, with its name.
    pub fn all_counts<'a>(
        &'a self,
        classes: &'a [&'static str; C],
    ) -> impl Iterator<Item = (&'static str, ClassCounts)> + 'a {
        classes.iter().copied().zip(self.counts.iter().copied())
    }
}

/// The largest of `lens`, checked against what packrat accepts: the
/// buffer size of a reporter of classes with these bounds (and room for a
/// suppression record of each rate-limited class, whose class lengths are
/// `limited`). Used by the macros; evaluated at compile time.
#[doc(hidden)]
// Evaluated at compile time only: a panic here is a compile error.
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]
pub const fn buffer_len(lens: &[usize], limited: &[Option<usize>]) -> usize {
    let mut m = 0usize;
    let mut i = 0;
    while i < lens.len() {
        if lens[i] > m {
            m = lens[i];
        }
        i += 1;
    }
    let mut i = 0;
    while i < limited.len() {
        if let Some(class_len) = limited[i] {
            let s = crate::storm::Suppressed::max_len(class_len);
            if s > m {
                m = s;
            }
        }
        i += 1;
    }
    if m > crate::MAX_EREPORT_LEN {
        let msg = crate::ereport::ConstMessage::new()
            .text("a declared class can encode to ")
            .number(m)
            .text(" bytes, more than MAX_EREPORT_LEN (")
            .number(crate::MAX_EREPORT_LEN)
            .text("): a hand-written `Ereport` impl whose MAX_LEN packrat would refuse");
        panic!("{}", msg.as_str());
    }
    m
}

/// Declares a reporter: a struct holding an encode buffer sized, at compile
/// time, to the largest of the listed classes, and a [`ReporterState`].
///
/// Delivering a class that is not in the list does not compile, and neither
/// does a list whose largest class could exceed what packrat accepts. The
/// constructor is `const`, so a reporter can live in a `static`. The
/// macro only declares; what a delivery does is [`ReporterState::deliver`].
///
/// ```
/// use ereport_sdk::{Ena, DeliverEreport, DeliverError, Ereport};
///
/// #[derive(Ereport)]
/// #[ereport(class = "hw.temp.overtemp", version = 0)]
/// struct Overtemp { sensor: u8, millidegrees: i32 }
///
/// #[derive(Ereport)]
/// #[ereport(class = "hw.seq.fail", version = 1)]
/// struct SeqFail { rail: heapless::String<16> }
///
/// ereport_sdk::reporter! {
///     /// Everything the thermal task reports.
///     pub struct ThermalReporter { Overtemp, SeqFail }
/// }
///
/// struct Packrat;
/// impl DeliverEreport for Packrat {
///     fn deliver_ereport(&self, body: &[u8]) -> Result<Ena, DeliverError> {
///         Ok(Ena(7))
///     }
/// }
///
/// assert_eq!(ThermalReporter::BUF_LEN, Overtemp::MAX_LEN.max(SeqFail::MAX_LEN));
///
/// let mut r = ThermalReporter::new();
/// assert_eq!(r.deliver(&Packrat, &Overtemp { sensor: 2, millidegrees: 105_000 }), Ok(Ena(7)));
/// assert_eq!(r.counts::<Overtemp>().sent, 1);
/// ```
#[macro_export]
macro_rules! reporter {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($class:ty),+ $(,)? }) => {
        $(#[$meta])*
        $vis struct $name {
            buf: [u8; $name::BUF_LEN],
            state: $crate::ReporterState<{ $name::CLASS_COUNT }>,
        }

        impl $name {
            /// Size of the encode buffer: the largest declared class (or
            /// suppression record of a rate-limited one).
            pub const BUF_LEN: usize = $crate::reporter!(@buf_len $($class),+);
            /// How many classes are declared.
            pub const CLASS_COUNT: usize = 0usize $( + $crate::reporter!(@one $class) )+;
            /// The declared classes' schemas, in order, for the catalog
            /// (plain constants: linked only where used).
            pub const SCHEMAS: [$crate::schema::ClassSchema; $name::CLASS_COUNT] =
                [$( <$class as $crate::Ereport>::SCHEMA ),+];
            /// The declared classes, in order.
            pub const CLASSES: [&'static str; $name::CLASS_COUNT] =
                [$( <$class as $crate::Ereport>::CLASS ),+];

            /// A reporter with zeroed counts (all zeroes: fit for `.bss`).
            pub const fn new() -> Self {
                Self {
                    buf: [0; $name::BUF_LEN],
                    state: $crate::ReporterState::new(),
                }
            }

            /// Turns every class's rate limit off (`false`) or back on: a
            /// switch for benches and storm experiments.
            pub fn enforce_rate_limits(&mut self, on: bool) {
                self.state.enforce_rate_limits(on);
            }

            /// Encodes `ereport` and delivers it to packrat, returning its
            /// ENA, and counts the outcome. For a class with a rate limit,
            /// use [`deliver_at`](Self::deliver_at), which takes the time.
            pub fn deliver<E, P>(
                &mut self,
                packrat: &P,
                ereport: &E,
            ) -> ::core::result::Result<$crate::Ena, $crate::DeliverError>
            where
                E: $crate::Declared<$name> + $crate::NoRateLimit,
                P: $crate::DeliverEreport + ?::core::marker::Sized,
            {
                self.deliver_at(packrat, ereport, 0)
            }

            /// Delivers `ereport` (a declared class, or a
            /// [`class_enum!`]($crate::class_enum) of them) at the task's
            /// uptime `now_ms`. A class with a rate limit that is over it
            /// is refused here, before any IPC, with
            /// `DeliverError::Suppressed`; the next report let through is
            /// preceded by a suppression record saying how many were
            /// refused.
            pub fn deliver_at<E, P>(
                &mut self,
                packrat: &P,
                ereport: &E,
                now_ms: u64,
            ) -> ::core::result::Result<$crate::Ena, $crate::DeliverError>
            where
                E: $crate::AnyDeclared<$name> + ?::core::marker::Sized,
                P: $crate::DeliverEreport + ?::core::marker::Sized,
            {
                const { ::core::assert!(<E as $crate::AnyDeclared<$name>>::MAX_LEN <= $name::BUF_LEN) };
                self.state
                    .deliver::<$name, E, P>(&mut self.buf, &Self::CLASSES, packrat, ereport, now_ms)
            }

            /// Delivers the suppression record of every class that has
            /// suppressed reports and none for
            /// [`SUPPRESSION_QUIET_MS`]($crate::SUPPRESSION_QUIET_MS)
            /// before `now_ms`, so a storm that simply stops is still
            /// reported. Call it now and then (from the task's timer).
            /// Returns how many records were stored.
            pub fn flush_suppressed<P>(&mut self, packrat: &P, now_ms: u64) -> usize
            where
                P: $crate::DeliverEreport + ?::core::marker::Sized,
            {
                self.state
                    .flush_suppressed(&mut self.buf, &Self::CLASSES, packrat, now_ms)
            }

            /// Counts for one class.
            pub fn counts<E: $crate::Declared<$name>>(&self) -> $crate::ClassCounts {
                self.state.counts(<E as $crate::Declared<$name>>::INDEX)
            }

            /// Counts for every class, with its name.
            pub fn all_counts(&self) -> impl Iterator<Item = (&'static str, $crate::ClassCounts)> + '_ {
                self.state.all_counts(&Self::CLASSES)
            }

            /// The run-time state: counts, and (feature `recent` of the
            /// SDK) the recent deliveries.
            pub fn state(&self) -> &$crate::ReporterState<{ $name::CLASS_COUNT }> {
                &self.state
            }
        }

        impl ::core::default::Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        $crate::reporter!(@declare $name; 0usize; $($class),+);
    };
    (@one $class:ty) => { 1usize };
    (@buf_len $($class:ty),+) => {
        $crate::__private::buffer_len(
            &[$( <$class as $crate::Ereport>::MAX_LEN ),+],
            &[$(
                match <$class as $crate::Ereport>::RATE_LIMIT {
                    ::core::option::Option::Some(_) =>
                        ::core::option::Option::Some(<$class as $crate::Ereport>::CLASS.len()),
                    ::core::option::Option::None => ::core::option::Option::None,
                }
            ),+],
        )
    };
    (@declare $name:ty; $i:expr; $head:ty $(, $tail:ty)*) => {
        impl $crate::Declared<$name> for $head {
            const INDEX: usize = $i;
        }
        $crate::reporter!(@declare $name; $i + 1usize; $($tail),*);
    };
    (@declare $name:ty; $i:expr;) => {};
}

/// Declares an enum of a reporter's classes, for a class chosen at run
/// time: each variant holds one declared class, and the reporter's
/// `deliver_at` takes the enum as it takes a class.
///
/// ```
/// use ereport_sdk::{DeliverEreport, DeliverError, Ena, Ereport};
///
/// #[derive(Ereport)]
/// #[ereport(class = "hw.temp.crit", version = 0)]
/// struct Critical { sensor: u8 }
///
/// #[derive(Ereport)]
/// #[ereport(class = "hw.temp.a2.thresh", version = 0)]
/// struct PowerDown { sensor: u8 }
///
/// ereport_sdk::reporter! {
///     pub struct ThermalReporter { Critical, PowerDown }
/// }
///
/// ereport_sdk::class_enum! {
///     /// Whatever the thermal loop decided to report.
///     pub enum ThermalReport for ThermalReporter {
///         Critical(Critical),
///         PowerDown(PowerDown),
///     }
/// }
///
/// struct Packrat;
/// impl DeliverEreport for Packrat {
///     fn deliver_ereport(&self, body: &[u8]) -> Result<Ena, DeliverError> {
///         Ok(Ena(body.len() as u64))
///     }
/// }
///
/// let mut r = ThermalReporter::new();
/// let chosen = if 105 > 100 { ThermalReport::Critical(Critical { sensor: 3 }) }
///              else { ThermalReport::PowerDown(PowerDown { sensor: 3 }) };
/// r.deliver_at(&Packrat, &chosen, 0).unwrap();
/// assert_eq!(r.counts::<Critical>().sent, 1);
/// ```
#[macro_export]
macro_rules! class_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident for $reporter:ty {
        $($(#[$vmeta:meta])* $variant:ident($class:ty)),+ $(,)?
    }) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* $variant($class)),+
        }

        impl $crate::AnyDeclared<$reporter> for $name {
            const MAX_LEN: usize = {
                let mut m = 0usize;
                $( m = $crate::__private::max(m, <$class as $crate::Ereport>::MAX_LEN); )+
                m
            };
            fn class_index(&self) -> usize {
                match self {
                    $( Self::$variant(_) => <$class as $crate::Declared<$reporter>>::INDEX, )+
                }
            }
            fn rate_limit(&self) -> ::core::option::Option<$crate::storm::RateLimit> {
                match self {
                    $( Self::$variant(_) => <$class as $crate::Ereport>::RATE_LIMIT, )+
                }
            }
            fn encode_declared(
                &self,
                buf: &mut [u8],
            ) -> ::core::result::Result<usize, $crate::EncodeError> {
                match self {
                    $( Self::$variant(r) => $crate::Ereport::encode_to_slice(r, buf), )+
                }
            }
        }
    };
}

/// Declares a reporter in upstream Hubris's form (feature
/// `ereporter-macro`): it owns its packrat client and an encode buffer in a
/// `static`, claimed once, and `$Trait` is a trait every listed class
/// implements. Written for upstream, `declare_ereporter! { pub struct
/// Ereporter<Ereport> { .. } }`, then `Ereporter::claim_static_resources(
/// packrat)` and `ereporter.deliver_ereport(&report)`, ports as it is.
///
/// ```
/// # #[cfg(feature = "ereporter-macro")] {
/// use ereport_sdk::{DeliverEreport, DeliverError, Ena, Ereport};
///
/// #[derive(Ereport)]
/// #[ereport(class = "hw.pwr.vout.fault", version = 0)]
/// struct VoutFault { rail: u8 }
///
/// ereport_sdk::declare_ereporter! {
///     pub struct Ereporter<PowerEreport> { VoutFault }
/// }
///
/// struct Packrat;
/// impl DeliverEreport for Packrat {
///     fn deliver_ereport(&self, body: &[u8]) -> Result<Ena, DeliverError> {
///         Ok(Ena(2))
///     }
/// }
///
/// fn report(e: &mut Ereporter<Packrat>, r: &impl PowerEreport) {
///     e.deliver_ereport(r);
/// }
///
/// let mut e = Ereporter::claim_static_resources(Packrat);
/// report(&mut e, &VoutFault { rail: 1 });
/// assert_eq!(e.counts::<VoutFault>().sent, 1);
/// // The buffer is claimed once: a second reporter gets none.
/// assert!(Ereporter::try_claim_static_resources(Packrat).is_none());
/// # }
/// ```
#[cfg(feature = "ereporter-macro")]
#[macro_export]
macro_rules! declare_ereporter {
    // Upstream's later form names each class: the names are accepted (the
    // class strings already tell deliveries apart).
    ($(#[$meta:meta])* $vis:vis struct $name:ident<$trait_:ident> {
        $($cname:ident($class:ty)),+ $(,)?
    }) => {
        $crate::declare_ereporter! {
            $(#[$meta])* $vis struct $name<$trait_> { $($class),+ }
        }
    };
    ($(#[$meta:meta])* $vis:vis struct $name:ident<$trait_:ident> { $($class:ty),+ $(,)? }) => {
        $(#[$meta])*
        $vis struct $name<P> {
            packrat: P,
            buf: &'static mut [u8],
            state: $crate::ReporterState<{ 0usize $( + $crate::reporter!(@one $class) )+ }>,
        }

        /// Implemented by every class the reporter declares.
        $vis trait $trait_: $crate::Ereport {
            #[doc(hidden)]
            const __INDEX: usize;
        }
        $crate::declare_ereporter!(@trait $trait_; 0usize; $($class),+);

        impl<P: $crate::DeliverEreport> $name<P> {
            /// Size of the static encode buffer.
            pub const BUF_LEN: usize = $crate::reporter!(@buf_len $($class),+);
            /// The declared classes, in order.
            pub const CLASSES: [&'static str; 0usize $( + $crate::reporter!(@one $class) )+] =
                [$( <$class as $crate::Ereport>::CLASS ),+];

            /// The reporter, owning `packrat` and the static buffer.
            ///
            /// # Panics
            ///
            /// When called a second time: the buffer is claimed once, as
            /// upstream's is. Use
            /// [`try_claim_static_resources`](Self::try_claim_static_resources)
            /// to get `None` instead.
            #[allow(clippy::panic)]
            pub fn claim_static_resources(packrat: P) -> Self {
                match Self::try_claim_static_resources(packrat) {
                    ::core::option::Option::Some(r) => r,
                    ::core::option::Option::None => {
                        ::core::panic!("the ereporter's static buffer was already claimed")
                    }
                }
            }

            /// The reporter, or `None` if the static buffer was already
            /// claimed.
            pub fn try_claim_static_resources(packrat: P) -> ::core::option::Option<Self> {
                static BUF: $crate::__private::ConstStaticCell<
                    [u8; $crate::reporter!(@buf_len $($class),+)],
                > = $crate::__private::ConstStaticCell::new([0; $crate::reporter!(@buf_len $($class),+)]);
                let buf = BUF.try_take()?;
                ::core::option::Option::Some(Self {
                    packrat,
                    buf: &mut buf[..],
                    state: $crate::ReporterState::new(),
                })
            }

            /// Encodes and delivers `ereport`, counting the outcome (and,
            /// with the SDK's `recent` feature, remembering it), as
            /// upstream's returns nothing; [`try_deliver_ereport`](Self::try_deliver_ereport)
            /// returns it.
            pub fn deliver_ereport<E>(&mut self, ereport: &E)
            where
                E: $trait_,
            {
                let _ = self.deliver_ereport_at(ereport, 0);
            }

            /// Encodes and delivers `ereport`: its ENA, or why not.
            pub fn try_deliver_ereport<E>(
                &mut self,
                ereport: &E,
            ) -> ::core::result::Result<$crate::Ena, $crate::DeliverError>
            where
                E: $trait_,
            {
                self.deliver_ereport_at(ereport, 0)
            }

            /// Delivers `ereport` at the task's uptime `now_ms`, as
            /// `reporter!`'s `deliver_at` does (rate limits included).
            pub fn deliver_ereport_at<E>(
                &mut self,
                ereport: &E,
                now_ms: u64,
            ) -> ::core::result::Result<$crate::Ena, $crate::DeliverError>
            where
                E: $trait_,
            {
                self.state.deliver_with(
                    &mut self.buf[..],
                    &Self::CLASSES,
                    &self.packrat,
                    <E as $trait_>::__INDEX,
                    <E as $crate::Ereport>::RATE_LIMIT,
                    now_ms,
                    |b| $crate::Ereport::encode_to_slice(ereport, b),
                )
            }

            /// Delivers a class chosen at run time (a
            /// [`class_enum!`]($crate::class_enum) of the declared classes).
            pub fn deliver_any_at<E>(
                &mut self,
                ereport: &E,
                now_ms: u64,
            ) -> ::core::result::Result<$crate::Ena, $crate::DeliverError>
            where
                E: $crate::AnyDeclared<Self> + ?::core::marker::Sized,
            {
                self.state.deliver::<Self, E, P>(
                    &mut self.buf[..],
                    &Self::CLASSES,
                    &self.packrat,
                    ereport,
                    now_ms,
                )
            }

            /// Delivers due suppression records (see `reporter!`).
            pub fn flush_suppressed(&mut self, now_ms: u64) -> usize {
                self.state
                    .flush_suppressed(&mut self.buf[..], &Self::CLASSES, &self.packrat, now_ms)
            }

            /// Counts for one class.
            pub fn counts<E: $crate::Declared<Self>>(&self) -> $crate::ClassCounts {
                self.state.counts(<E as $crate::Declared<Self>>::INDEX)
            }

            /// The run-time state.
            pub fn state(
                &self,
            ) -> &$crate::ReporterState<{ 0usize $( + $crate::reporter!(@one $class) )+ }> {
                &self.state
            }
        }

        $crate::declare_ereporter!(@declare $name; 0usize; $($class),+);
    };
    (@declare $name:ident; $i:expr; $head:ty $(, $tail:ty)*) => {
        impl<P> $crate::Declared<$name<P>> for $head {
            const INDEX: usize = $i;
        }
        $crate::declare_ereporter!(@declare $name; $i + 1usize; $($tail),*);
    };
    (@declare $name:ident; $i:expr;) => {};
    (@trait $trait_:ident; $i:expr; $head:ty $(, $tail:ty)*) => {
        impl $trait_ for $head {
            const __INDEX: usize = $i;
        }
        $crate::declare_ereporter!(@trait $trait_; $i + 1usize; $($tail),*);
    };
    (@trait $trait_:ident; $i:expr;) => {};
}
