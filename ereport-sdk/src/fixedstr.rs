//! Text with a capacity in its type, so that an ereport holding it has a
//! static maximum length: [`FixedStr`] borrows (`&'static` reference
//! designators and names), [`FixedString`] owns its bytes.
//!
//! Both are built by `const fn`s, so a table of them can live in a
//! `static`, and both encode as CBOR text. Tasks that used upstream
//! Hubris's `fixedstr` types port by changing the import.

use core::fmt;
use core::ops::Deref;

use minicbor::Encoder;
use minicbor::encode::{Error, Write};

use crate::ereport::{EncodeError, EreportField, str_len};
use crate::schema::TypeSchema;
use crate::writer::SliceWriter;

/// A string longer than the capacity it was to be stored in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StringTooLong {
    /// Bytes in the string.
    pub len: usize,
    /// The capacity.
    pub max: usize,
}

impl fmt::Display for StringTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a string of {} bytes does not fit in {} bytes",
            self.len, self.max
        )
    }
}

impl core::error::Error for StringTooLong {}

/// A borrowed string of at most `N` bytes.
///
/// ```
/// use ereport_sdk::{Ereport, FixedStr};
///
/// static REFDES: FixedStr<'static, 6> = FixedStr::from_str("U431");
///
/// #[derive(Ereport)]
/// #[ereport(class = "hw.pwr.bmr491.mitfail", version = 0)]
/// struct MitigationFailure {
///     refdes: FixedStr<'static, 6>,
///     failures: u32,
/// }
///
/// // "refdes": at most 6 bytes of text, 7 with its head.
/// let report = MitigationFailure { refdes: REFDES, failures: 2 };
/// assert!(FixedStr::<'static, 2>::try_from_str("U431").is_err());
/// # let mut buf = [0u8; MitigationFailure::MAX_LEN];
/// # report.encode_to_slice(&mut buf).unwrap();
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedStr<'a, const N: usize>(&'a str);

impl<'a, const N: usize> FixedStr<'a, N> {
    /// `s`, or why it does not fit.
    pub const fn try_from_str(s: &'a str) -> Result<Self, StringTooLong> {
        if s.len() > N {
            Err(StringTooLong {
                len: s.len(),
                max: N,
            })
        } else {
            Ok(Self(s))
        }
    }

    /// `s`, for constants and statics: a string longer than `N` is a
    /// compile error there.
    ///
    /// # Panics
    ///
    /// If `s` is longer than `N` bytes. Outside a constant, use
    /// [`try_from_str`](Self::try_from_str).
    #[allow(clippy::panic)]
    pub const fn from_str(s: &'a str) -> Self {
        match Self::try_from_str(s) {
            Ok(f) => f,
            Err(_) => panic!("string longer than the FixedStr's capacity"),
        }
    }

    /// The text.
    pub const fn as_str(&self) -> &'a str {
        self.0
    }

    /// Bytes of text.
    pub const fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no text.
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<const N: usize> Deref for FixedStr<'_, N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl<const N: usize> fmt::Debug for FixedStr<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl<const N: usize> fmt::Display for FixedStr<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl<const N: usize> EreportField for FixedStr<'_, N> {
    const MAX_LEN: usize = str_len(N);
    const SCHEMA: TypeSchema = TypeSchema::Text { max_len: N };
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        e.str(self.0)?;
        Ok(())
    }
    #[inline]
    fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        w.str(self.0)
    }
}

/// An owned string of at most `N` bytes, buildable in a constant.
///
/// ```
/// use ereport_sdk::FixedString;
///
/// const DEV: FixedString<12> = FixedString::from_str("sp5-host-cpu");
/// assert_eq!(DEV.as_str(), "sp5-host-cpu");
/// assert!(FixedString::<4>::try_from_str("too long").is_err());
/// ```
#[derive(Clone, Copy)]
pub struct FixedString<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> FixedString<N> {
    /// No text.
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    /// A copy of `s`, or why it does not fit.
    // Const code cannot use `copy_from_slice`; the loop's index stays below
    // `s.len()`, which is at most `N`.
    #[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
    pub const fn try_from_str(s: &str) -> Result<Self, StringTooLong> {
        let bytes = s.as_bytes();
        if bytes.len() > N {
            return Err(StringTooLong {
                len: bytes.len(),
                max: N,
            });
        }
        let mut buf = [0u8; N];
        let mut i = 0;
        while i < bytes.len() {
            buf[i] = bytes[i];
            i += 1;
        }
        Ok(Self {
            buf,
            len: bytes.len(),
        })
    }

    /// A copy of `s`, for constants and statics: a string longer than `N`
    /// is a compile error there.
    ///
    /// # Panics
    ///
    /// If `s` is longer than `N` bytes. Outside a constant, use
    /// [`try_from_str`](Self::try_from_str).
    #[allow(clippy::panic)]
    pub const fn from_str(s: &str) -> Self {
        match Self::try_from_str(s) {
            Ok(f) => f,
            Err(_) => panic!("string longer than the FixedString's capacity"),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Built only from a `&str`, and cut where that string ended, so the
        // bytes are valid UTF-8; the fallback is never taken.
        self.buf
            .get(..self.len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// Bytes of text.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no text.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> Default for FixedString<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> PartialEq for FixedString<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl<const N: usize> Eq for FixedString<N> {}

impl<const N: usize> Deref for FixedString<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> fmt::Debug for FixedString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> fmt::Display for FixedString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> EreportField for FixedString<N> {
    const MAX_LEN: usize = str_len(N);
    const SCHEMA: TypeSchema = TypeSchema::Text { max_len: N };
    fn encode<W: Write>(&self, e: &mut Encoder<W>) -> Result<(), Error<W::Error>> {
        e.str(self.as_str())?;
        Ok(())
    }
    #[inline]
    fn write(&self, w: &mut SliceWriter<'_>) -> Result<(), EncodeError> {
        w.str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_enforced() {
        assert_eq!(
            FixedStr::<'_, 3>::try_from_str("abcd"),
            Err(StringTooLong { len: 4, max: 3 })
        );
        assert_eq!(FixedStr::<'_, 4>::try_from_str("abcd").unwrap().len(), 4);
        assert!(FixedString::<3>::try_from_str("abcd").is_err());
        let s = FixedString::<8>::try_from_str("héllo").unwrap();
        assert_eq!(s.as_str(), "héllo");
        assert_eq!(<FixedString<8> as EreportField>::MAX_LEN, 9);
        assert_eq!(<FixedStr<'static, 24> as EreportField>::MAX_LEN, 26);
    }
}
