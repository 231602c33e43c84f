//! The producer API: declare the classes a task reports, get a reporter.

use crate::ereport::Ereport;

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

/// Implemented by [`reporter!`](crate::reporter) for each class a reporter
/// declares. Do not implement it by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not declared in reporter `{R}`",
    label = "not one of the reporter's classes",
    note = "add it to the list in `ereport_sdk::reporter!`"
)]
pub trait Declared<R>: Ereport {
    /// Position of the class in the reporter's list.
    const INDEX: usize;
}

/// Declares a reporter: a struct holding an encode buffer sized, at compile
/// time, to the largest of the listed classes, and per-class counts.
///
/// Delivering a class that is not in the list does not compile, and neither
/// does a list whose largest class could exceed what packrat accepts. The
/// constructor is `const`, so a reporter can live in a `static`.
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
            counts: [$crate::ClassCounts; $name::CLASS_COUNT],
            buckets: [$crate::storm::Bucket; $name::CLASS_COUNT],
            /// Rate limits off (a bench switch); false, all zeroes, by default.
            unlimited: bool,
        }

        impl $name {
            /// Size of the encode buffer: the largest declared class.
            pub const BUF_LEN: usize = {
                let mut m = 0usize;
                $( m = $crate::__private::max(m, <$class as $crate::Ereport>::MAX_LEN); )+
                // Room for a suppression record of any rate-limited class.
                $( if <$class as $crate::Ereport>::RATE_LIMIT.is_some() {
                    m = $crate::__private::max(
                        m,
                        $crate::storm::Suppressed::max_len(<$class as $crate::Ereport>::CLASS.len()),
                    );
                } )+
                // Derived classes are bounded already; this also holds a
                // hand-written `Ereport` impl to what packrat accepts.
                ::core::assert!(
                    m <= $crate::MAX_EREPORT_LEN,
                    "a declared class can encode to more than MAX_EREPORT_LEN bytes"
                );
                m
            };
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
                    counts: [$crate::ClassCounts::ZERO; $name::CLASS_COUNT],
                    buckets: [$crate::storm::Bucket::FULL; $name::CLASS_COUNT],
                    unlimited: false,
                }
            }

            /// Turns every class's rate limit off (`false`) or back on: a
            /// switch for benches and storm experiments.
            pub fn enforce_rate_limits(&mut self, on: bool) {
                self.unlimited = !on;
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
                const {
                    ::core::assert!(
                        <E as $crate::Ereport>::RATE_LIMIT.is_none(),
                        "this class has a rate limit: deliver it with `deliver_at(packrat, &report, uptime_ms)`"
                    )
                };
                self.deliver_at(packrat, ereport, 0)
            }

            /// Delivers `ereport` at the task's uptime `now_ms`. A class
            /// with a rate limit that is over it is refused here, before
            /// any IPC, with [`DeliverError::Suppressed`]; the next report
            /// let through is preceded by a suppression record saying how
            /// many were refused.
            ///
            /// [`DeliverError::Suppressed`]: $crate::DeliverError::Suppressed
            pub fn deliver_at<E, P>(
                &mut self,
                packrat: &P,
                ereport: &E,
                now_ms: u64,
            ) -> ::core::result::Result<$crate::Ena, $crate::DeliverError>
            where
                E: $crate::Declared<$name>,
                P: $crate::DeliverEreport + ?::core::marker::Sized,
            {
                const { ::core::assert!(<E as $crate::Ereport>::MAX_LEN <= $name::BUF_LEN) };
                let index = <E as $crate::Declared<$name>>::INDEX;
                if let Some(c) = self.counts.get_mut(index) {
                    c.attempted = c.attempted.saturating_add(1);
                }
                if let (Some(limit), false) = (<E as $crate::Ereport>::RATE_LIMIT, self.unlimited) {
                    let admitted = self.buckets.get_mut(index).is_none_or(|b| b.admit(limit, now_ms));
                    if !admitted {
                        if let Some(c) = self.counts.get_mut(index) {
                            c.suppressed = c.suppressed.saturating_add(1);
                        }
                        return Err($crate::DeliverError::Suppressed);
                    }
                    self.record_suppressed(packrat, index);
                }
                let result = match <E as $crate::Ereport>::encode_to_slice(ereport, &mut self.buf) {
                    Ok(n) => match self.buf.get(..n) {
                        Some(body) => packrat.deliver_ereport(body),
                        None => Err($crate::DeliverError::Encode),
                    },
                    Err(_) => Err($crate::DeliverError::Encode),
                };
                if let Some(c) = self.counts.get_mut(index) {
                    match result {
                        Ok(_) => c.sent = c.sent.saturating_add(1),
                        Err(e) if e.is_transient() => c.lost_transient = c.lost_transient.saturating_add(1),
                        Err(_) => c.lost = c.lost.saturating_add(1),
                    }
                }
                result
            }

            /// Delivers the pending suppression record of class `index`,
            /// if any; on failure it stays pending.
            fn record_suppressed<P>(&mut self, packrat: &P, index: usize)
            where
                P: $crate::DeliverEreport + ?::core::marker::Sized,
            {
                let Some(class) = Self::CLASSES.get(index).copied() else { return };
                let Some(record) = self.buckets.get(index).and_then(|b| b.pending(class)) else {
                    return;
                };
                let Ok(n) = record.encode_to_slice(&mut self.buf) else { return };
                let Some(body) = self.buf.get(..n) else { return };
                if packrat.deliver_ereport(body).is_ok() {
                    if let Some(b) = self.buckets.get_mut(index) {
                        b.recorded(record.count);
                    }
                    if let Some(c) = self.counts.get_mut(index) {
                        c.suppression_records = c.suppression_records.saturating_add(1);
                    }
                }
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
                let mut stored = 0;
                for index in 0..Self::CLASS_COUNT {
                    let due = self.buckets.get(index).is_some_and(|b| {
                        b.suppressed() > 0 && b.quiet_since(now_ms, $crate::SUPPRESSION_QUIET_MS)
                    });
                    if due {
                        let before = self.buckets.get(index).map_or(0, |b| b.suppressed());
                        self.record_suppressed(packrat, index);
                        if self.buckets.get(index).map_or(0, |b| b.suppressed()) < before {
                            stored += 1;
                        }
                    }
                }
                stored
            }

            /// Counts for one class.
            pub fn counts<E: $crate::Declared<$name>>(&self) -> $crate::ClassCounts {
                self.counts
                    .get(<E as $crate::Declared<$name>>::INDEX)
                    .copied()
                    .unwrap_or($crate::ClassCounts::ZERO)
            }

            /// Counts for every class, with its name.
            pub fn all_counts(&self) -> impl Iterator<Item = (&'static str, $crate::ClassCounts)> + '_ {
                Self::CLASSES.iter().copied().zip(self.counts.iter().copied())
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
    (@declare $name:ident; $i:expr; $head:ty $(, $tail:ty)*) => {
        impl $crate::Declared<$name> for $head {
            const INDEX: usize = $i;
        }
        $crate::reporter!(@declare $name; $i + 1usize; $($tail),*);
    };
    (@declare $name:ident; $i:expr;) => {};
}
