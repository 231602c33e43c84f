//! [`SliceWriter`]: the direct encoding path the derives generate.
//!
//! A derived ereport knows its keys, class and version at compile time, so
//! the derive emits them as precomputed CBOR byte strings: the fixed prefix
//! (map head, `"k"`, class, `"v"`, version, first key) is one copy, and
//! each further key one more. Values are written here too, their heads
//! built in place. There is no encoder to set up and no `Write` trait
//! object between the ereport and its buffer; nothing here is generic, so
//! the firmware profile inlines it into each class's `write`.

use crate::ereport::{EncodeError, encode_head};

/// Writes CBOR into a byte slice, front to back, refusing (never
/// truncating) what does not fit.
#[derive(Debug)]
pub struct SliceWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> SliceWriter<'a> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes written so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Appends `bytes` (already CBOR: a precomputed key, a prefix).
    #[inline(always)]
    pub fn put(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        // Taken as `..len` of the rest, the destination is provably as
        // long as `bytes`: the copy needs no length check of its own.
        let dst = self
            .buf
            .get_mut(self.pos..)
            .and_then(|rest| rest.get_mut(..bytes.len()))
            .ok_or(EncodeError::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        self.pos = self.pos.saturating_add(bytes.len());
        Ok(())
    }

    /// Appends one byte.
    #[inline(always)]
    pub fn byte(&mut self, b: u8) -> Result<(), EncodeError> {
        let dst = self
            .buf
            .get_mut(self.pos)
            .ok_or(EncodeError::BufferTooSmall)?;
        *dst = b;
        self.pos = self.pos.saturating_add(1);
        Ok(())
    }

    /// Appends the head of major type `major` with argument `n`: built in
    /// place when nine bytes remain, through a small copy otherwise.
    #[inline]
    pub fn head(&mut self, major: u8, n: u64) -> Result<(), EncodeError> {
        if let Some(window) = self
            .buf
            .get_mut(self.pos..)
            .and_then(|rest| rest.first_chunk_mut::<9>())
        {
            let len = encode_head(major, n, window);
            self.pos = self.pos.saturating_add(len);
            Ok(())
        } else {
            let mut head = [0u8; 9];
            let len = encode_head(major, n, &mut head);
            self.put(head.get(..len).ok_or(EncodeError::BufferTooSmall)?)
        }
    }

    /// An unsigned integer.
    #[inline(always)]
    pub fn uint(&mut self, n: u64) -> Result<(), EncodeError> {
        self.head(0, n)
    }

    /// A signed integer (`-1 - n` is major type 1 with argument `n`).
    #[inline(always)]
    pub fn int(&mut self, n: i64) -> Result<(), EncodeError> {
        if n < 0 {
            // `-1 - n` for negative `n` is `!n`, which cannot overflow.
            self.head(1, !n as u64)
        } else {
            self.head(0, n as u64)
        }
    }

    /// A text string.
    #[inline(always)]
    pub fn str(&mut self, s: &str) -> Result<(), EncodeError> {
        self.head(3, s.len() as u64)?;
        self.put(s.as_bytes())
    }

    /// A byte string.
    #[inline(always)]
    pub fn bytes(&mut self, b: &[u8]) -> Result<(), EncodeError> {
        self.head(2, b.len() as u64)?;
        self.put(b)
    }

    /// The unwritten rest of the buffer, for an encoder that writes through
    /// minicbor; [`advance`](Self::advance) past what it wrote.
    pub fn rest_mut(&mut self) -> &mut [u8] {
        self.buf.get_mut(self.pos..).unwrap_or_default()
    }

    /// Counts `n` bytes written into [`rest_mut`](Self::rest_mut).
    pub fn advance(&mut self, n: usize) -> Result<(), EncodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or(EncodeError::BufferTooSmall)?;
        self.pos = end;
        Ok(())
    }

    /// Writes `item` through minicbor into the rest of the buffer: the path
    /// for hand-written `encode` implementations.
    pub fn via_minicbor<F>(&mut self, item: F) -> Result<(), EncodeError>
    where
        F: FnOnce(
            &mut minicbor::Encoder<&mut minicbor::encode::write::Cursor<&mut [u8]>>,
        )
            -> Result<(), minicbor::encode::Error<minicbor::encode::write::EndOfSlice>>,
    {
        let mut cursor = minicbor::encode::write::Cursor::new(self.rest_mut());
        item(&mut minicbor::Encoder::new(&mut cursor)).map_err(|e| {
            if e.is_write() {
                EncodeError::BufferTooSmall
            } else {
                EncodeError::Invalid
            }
        })?;
        let n = cursor.position();
        self.advance(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_refuses_without_truncating() {
        let mut buf = [0u8; 4];
        let mut w = SliceWriter::new(&mut buf);
        w.put(b"ab").unwrap();
        assert_eq!(w.put(b"cde"), Err(EncodeError::BufferTooSmall));
        assert_eq!(w.position(), 2);
        w.uint(24).unwrap();
        assert_eq!(w.position(), 4);
        assert_eq!(w.byte(0), Err(EncodeError::BufferTooSmall));
        assert_eq!(buf, [b'a', b'b', 0x18, 24]);
    }

    #[test]
    fn integers_match_minicbor() {
        for n in [
            0i64,
            1,
            23,
            24,
            -1,
            -24,
            -25,
            -256,
            -257,
            i64::MIN,
            i64::MAX,
        ] {
            let mut ours = [0u8; 9];
            let mut w = SliceWriter::new(&mut ours);
            w.int(n).unwrap();
            let len = w.position();
            let mut theirs = [0u8; 9];
            minicbor::Encoder::new(&mut theirs[..]).i64(n).unwrap();
            assert_eq!(ours[..len], theirs[..len], "n = {n}");
        }
        // A head near the end of the buffer goes through the small copy.
        let mut buf = [0u8; 3];
        let mut w = SliceWriter::new(&mut buf);
        w.uint(0x1234).unwrap();
        assert_eq!(buf, [0x19, 0x12, 0x34]);
    }
}
