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

/// Why bytes could not become a fixed string (`try_from_utf8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FromUtf8Error {
    /// Valid text, longer than the capacity.
    TooLong(StringTooLong),
    /// Not UTF-8.
    InvalidUtf8(core::str::Utf8Error),
}

impl fmt::Display for FromUtf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FromUtf8Error::TooLong(e) => e.fmt(f),
            FromUtf8Error::InvalidUtf8(e) => write!(f, "not UTF-8: {e}"),
        }
    }
}

impl core::error::Error for FromUtf8Error {}

/// `bytes` as text, or why not (const, for both string types).
const fn utf8<const N: usize>(bytes: &[u8]) -> Result<&str, FromUtf8Error> {
    match core::str::from_utf8(bytes) {
        Ok(s) if s.len() > N => Err(FromUtf8Error::TooLong(StringTooLong {
            len: s.len(),
            max: N,
        })),
        Ok(s) => Ok(s),
        Err(e) => Err(FromUtf8Error::InvalidUtf8(e)),
    }
}

/// `bytes`, zero-padded to `N` (const, for `into_array`).
// The loop's index stays below `bytes.len()`, checked to be at most `N`.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn padded<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < bytes.len() && i < N {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

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
///
/// It has upstream's API: `as_bytes`, `into_array`, `AsRef<str>`,
/// `AsRef<[u8]>`, and comparison with anything that is text.
///
/// ```
/// use ereport_sdk::FixedStr;
///
/// const NAME: FixedStr<'static, 8> = match FixedStr::try_from_utf8(b"U431") {
///     Ok(s) => s,
///     Err(_) => panic!(),
/// };
/// assert_eq!(NAME, "U431");
/// assert_eq!(NAME.into_array(), *b"U431\0\0\0\0");
/// assert!(FixedStr::<'static, 8>::try_from_utf8(b"\xff").is_err());
/// ```
#[derive(Clone, Copy, Eq, Hash)]
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

    /// `bytes` as text, or why not (not UTF-8, or longer than `N`).
    pub const fn try_from_utf8(bytes: &'a [u8]) -> Result<Self, FromUtf8Error> {
        match utf8::<N>(bytes) {
            Ok(s) => Ok(Self(s)),
            Err(e) => Err(e),
        }
    }

    /// The text.
    pub const fn as_str(&self) -> &'a str {
        self.0
    }

    /// The text's bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0.as_bytes()
    }

    /// The text's bytes in an array of the capacity, zero-padded.
    pub const fn into_array(self) -> [u8; N] {
        padded::<N>(self.0.as_bytes())
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

impl<const N: usize> AsRef<str> for FixedStr<'_, N> {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl<const N: usize> AsRef<[u8]> for FixedStr<'_, N> {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Equal to any text with the same characters (another `FixedStr` of any
/// capacity, a `FixedString`, a `&str`), as upstream's compares.
impl<const N: usize, T: AsRef<str> + ?Sized> PartialEq<T> for FixedStr<'_, N> {
    fn eq(&self, other: &T) -> bool {
        self.0 == other.as_ref()
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

    /// `bytes` as text, or why not (not UTF-8, or longer than `N`).
    ///
    /// ```
    /// use ereport_sdk::{FixedString, FromUtf8Error};
    ///
    /// let s = FixedString::<8>::try_from_utf8(b"V54_PSU0").unwrap();
    /// assert_eq!(s, "V54_PSU0");
    /// assert!(matches!(
    ///     FixedString::<4>::try_from_utf8(b"V54_PSU0"),
    ///     Err(FromUtf8Error::TooLong(_))
    /// ));
    /// ```
    pub const fn try_from_utf8(bytes: &[u8]) -> Result<Self, FromUtf8Error> {
        match utf8::<N>(bytes) {
            Ok(s) => match Self::try_from_str(s) {
                Ok(f) => Ok(f),
                Err(e) => Err(FromUtf8Error::TooLong(e)),
            },
            Err(e) => Err(e),
        }
    }

    /// The text's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// The text, borrowed as a [`FixedStr`] of the same capacity.
    pub fn as_fixed_str(&self) -> FixedStr<'_, N> {
        FixedStr(self.as_str())
    }

    /// The bytes, zero-padded to the capacity: unused bytes are always
    /// zero.
    pub const fn into_array(self) -> [u8; N] {
        self.buf
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

/// Equal to any text with the same characters, as upstream's compares.
impl<const N: usize, T: AsRef<str> + ?Sized> PartialEq<T> for FixedString<N> {
    fn eq(&self, other: &T) -> bool {
        self.as_str() == other.as_ref()
    }
}

impl<const N: usize> AsRef<str> for FixedString<N> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> AsRef<[u8]> for FixedString<N> {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
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

    #[test]
    fn upstreams_api() {
        // try_from_utf8: exact fit, one byte over, invalid, empty.
        let s = FixedString::<5>::try_from_utf8("héllo".as_bytes()).unwrap_err();
        assert_eq!(s, FromUtf8Error::TooLong(StringTooLong { len: 6, max: 5 }));
        let s = FixedString::<6>::try_from_utf8("héllo".as_bytes()).unwrap();
        assert_eq!(s.as_bytes(), "héllo".as_bytes());
        assert!(matches!(
            FixedString::<6>::try_from_utf8(b"ab\xc3"),
            Err(FromUtf8Error::InvalidUtf8(_))
        ));
        assert!(FixedString::<0>::try_from_utf8(b"").unwrap().is_empty());
        let b = FixedStr::<'_, 6>::try_from_utf8("héllo".as_bytes()).unwrap();
        assert!(FixedStr::<'_, 5>::try_from_utf8("héllo".as_bytes()).is_err());
        // Comparison across capacities and with plain text.
        assert_eq!(s, b);
        assert_eq!(b, s);
        assert_eq!(s, "héllo");
        assert_eq!(b, *"héllo");
        assert_ne!(s, "hello");
        assert_eq!(s.as_fixed_str(), b);
        assert_eq!(s.as_fixed_str().len(), 6);
        // into_array: zero-padded, or exactly full.
        let mut padded = [0u8; 8];
        padded[..3].copy_from_slice(b"abc");
        assert_eq!(FixedString::<8>::from_str("abc").into_array(), padded);
        assert_eq!(FixedStr::<'_, 8>::from_str("abc").into_array(), padded);
        assert_eq!(FixedString::<3>::from_str("abc").into_array(), *b"abc");
        let bytes: &[u8] = s.as_ref();
        let text: &str = b.as_ref();
        assert_eq!(bytes, text.as_bytes());
    }
}
