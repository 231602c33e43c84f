//! The producer API: declare the classes a task reports, get a reporter.

use crate::ereport::Ereport;

/// Sent and lost counts for one class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassCounts {
    /// Ereports packrat stored.
    pub sent: u32,
    /// Ereports lost because the store was full or packrat was unavailable.
    pub lost_transient: u32,
    /// Ereports lost for good (refused, or failed to encode).
    pub lost: u32,
}

impl ClassCounts {
    /// All zero.
    pub const ZERO: ClassCounts = ClassCounts {
        sent: 0,
        lost_transient: 0,
        lost: 0,
    };
}

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
        }

        impl $name {
            /// Size of the encode buffer: the largest declared class.
            pub const BUF_LEN: usize = {
                let mut m = 0usize;
                $( m = $crate::__private::max(m, <$class as $crate::Ereport>::MAX_LEN); )+
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
            /// The declared classes, in order.
            pub const CLASSES: [&'static str; $name::CLASS_COUNT] =
                [$( <$class as $crate::Ereport>::CLASS ),+];

            /// A reporter with zeroed counts (all zeroes: fit for `.bss`).
            pub const fn new() -> Self {
                Self {
                    buf: [0; $name::BUF_LEN],
                    counts: [$crate::ClassCounts::ZERO; $name::CLASS_COUNT],
                }
            }

            /// Encodes `ereport` and delivers it to packrat, returning its
            /// ENA, and counts the outcome.
            pub fn deliver<E, P>(
                &mut self,
                packrat: &P,
                ereport: &E,
            ) -> ::core::result::Result<$crate::Ena, $crate::DeliverError>
            where
                E: $crate::Declared<$name>,
                P: $crate::DeliverEreport + ?::core::marker::Sized,
            {
                const { ::core::assert!(<E as $crate::Ereport>::MAX_LEN <= $name::BUF_LEN) };
                let result = match <E as $crate::Ereport>::encode_to_slice(ereport, &mut self.buf) {
                    Ok(n) => match self.buf.get(..n) {
                        Some(body) => packrat.deliver_ereport(body),
                        None => Err($crate::DeliverError::Encode),
                    },
                    Err(_) => Err($crate::DeliverError::Encode),
                };
                if let Some(c) = self.counts.get_mut(<E as $crate::Declared<$name>>::INDEX) {
                    match result {
                        Ok(_) => c.sent = c.sent.saturating_add(1),
                        Err(e) if e.is_transient() => c.lost_transient = c.lost_transient.saturating_add(1),
                        Err(_) => c.lost = c.lost.saturating_add(1),
                    }
                }
                result
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
