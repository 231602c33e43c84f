//! Host-side decoding of response packets (`std` feature).
//!
//! This is what the gateway uses, so it accepts everything the protocol
//! allows (uptimes over 32 bits included) and refuses, with an error saying
//! what is wrong, everything else. Nothing here panics on any input.

use std::boxed::Box;
use std::collections::BTreeMap;
use std::fmt;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use minicbor::Decoder;
use minicbor::data::Type;
use zerocopy::FromBytes;

use crate::ids::{Ena, RestartId};
use crate::wire::{RESPONSE_HEADER_LEN, ResponseHeader, VERSION};

/// Deepest nesting of CBOR containers the decoder follows.
pub const MAX_DEPTH: usize = 32;

/// A decoded CBOR value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `undefined`.
    Undefined,
    /// A boolean.
    Bool(bool),
    /// An integer (CBOR's range, -2^64 ..= 2^64-1).
    Int(i128),
    /// A float.
    Float(f64),
    /// A text string.
    Text(String),
    /// A byte string.
    Bytes(Vec<u8>),
    /// An array.
    Array(Vec<Value>),
    /// A map, in wire order.
    Map(Vec<(Value, Value)>),
    /// A tagged value.
    Tag(u64, Box<Value>),
    /// A simple value other than false, true, null and undefined.
    Simple(u8),
}

impl Value {
    /// The text, if this is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The value for text key `key`, if this is a map holding it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The integer, if this is one that fits `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Int(i) => u64::try_from(*i).ok(),
            _ => None,
        }
    }

    /// Writes CBOR diagnostic notation (RFC 8949 §8).
    pub fn diagnostic(&self) -> String {
        let mut s = String::new();
        self.write_diag(&mut s);
        s
    }

    fn write_diag(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Value::Null => out.push_str("null"),
            Value::Undefined => out.push_str("undefined"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => {
                if f.is_nan() {
                    out.push_str("NaN");
                } else if f.is_infinite() {
                    out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" });
                } else {
                    let _ = write!(out, "{f:?}");
                }
            }
            Value::Text(t) => {
                let _ = write!(out, "{t:?}");
            }
            Value::Bytes(b) => {
                out.push_str("h'");
                for byte in b {
                    let _ = write!(out, "{byte:02x}");
                }
                out.push('\'');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_diag(out);
                }
                out.push(']');
            }
            Value::Map(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.write_diag(out);
                    out.push_str(": ");
                    v.write_diag(out);
                }
                out.push('}');
            }
            Value::Tag(t, v) => {
                let _ = write!(out, "{t}(");
                v.write_diag(out);
                out.push(')');
            }
            Value::Simple(v) => {
                let _ = write!(out, "simple({v})");
            }
        }
    }
}

/// Why a packet or CBOR item could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than the 26-byte header.
    ShortHeader(usize),
    /// A protocol version other than 0.
    Version(u8),
    /// The CBOR body is malformed; `at` is the byte offset in the packet.
    Cbor {
        /// Offset in the packet.
        at: usize,
        /// What the CBOR decoder said.
        what: String,
    },
    /// Containers nested deeper than [`MAX_DEPTH`].
    TooDeep {
        /// Offset in the packet.
        at: usize,
    },
    /// The metadata is not a map.
    MetadataNotMap,
    /// The entries are not an array.
    EntriesNotArray,
    /// An entry is not a 4-element array of the right types.
    BadEntry {
        /// Index of the entry in the packet.
        index: usize,
        /// What is wrong with it.
        what: &'static str,
    },
    /// A task-name index that does not name an earlier entry.
    BadTaskIndex {
        /// Index of the entry in the packet.
        index: usize,
        /// The index it gave.
        refers_to: u64,
    },
    /// Entries but the header's start ENA is 0, or ENAs would overflow.
    BadStartEna,
    /// Bytes after the end of the entries.
    TrailingBytes {
        /// Offset of the first extra byte.
        at: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::ShortHeader(n) => write!(
                f,
                "packet of {n} bytes is shorter than the {RESPONSE_HEADER_LEN}-byte header"
            ),
            DecodeError::Version(v) => write!(f, "unknown response version {v}"),
            DecodeError::Cbor { at, what } => write!(f, "malformed CBOR at byte {at}: {what}"),
            DecodeError::TooDeep { at } => {
                write!(f, "CBOR nested deeper than {MAX_DEPTH} at byte {at}")
            }
            DecodeError::MetadataNotMap => f.write_str("metadata is not a map"),
            DecodeError::EntriesNotArray => f.write_str("entries are not an array"),
            DecodeError::BadEntry { index, what } => write!(f, "entry {index}: {what}"),
            DecodeError::BadTaskIndex { index, refers_to } => {
                write!(
                    f,
                    "entry {index}: task index {refers_to} does not name an earlier entry"
                )
            }
            DecodeError::BadStartEna => {
                f.write_str("entries present but start ENA is 0 or overflows")
            }
            DecodeError::TrailingBytes { at } => {
                write!(f, "trailing bytes after the entries at byte {at}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// One ereport from a response.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Its ENA: the header's start ENA plus its position.
    pub ena: Ena,
    /// Name of the task that reported it (indices resolved).
    pub task_name: String,
    /// The task's generation.
    pub task_gen: u32,
    /// Uptime in milliseconds when it was stored (full 64-bit range).
    pub uptime_ms: u64,
    /// The ereport body as stored: a CBOR map.
    pub body: Vec<u8>,
}

impl Entry {
    /// The body decoded.
    pub fn body_value(&self) -> Result<Value, DecodeError> {
        decode_value(&self.body)
    }
}

/// A decoded response packet.
#[derive(Clone, Debug, PartialEq)]
pub struct Packet {
    /// The SP's restart id.
    pub restart_id: RestartId,
    /// ENA of the first entry (0 if none).
    pub start_ena: Ena,
    /// The echoed request id.
    pub request_id: u8,
    /// Metadata entries, by key (empty: MGS should keep asking).
    pub metadata: BTreeMap<String, Value>,
    /// The entries, in ENA order.
    pub entries: Vec<Entry>,
}

fn cbor_err(base: usize, d: &Decoder<'_>, e: minicbor::decode::Error) -> DecodeError {
    DecodeError::Cbor {
        at: base.saturating_add(d.position()),
        what: e.to_string(),
    }
}

fn value(d: &mut Decoder<'_>, base: usize, depth: usize) -> Result<Value, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep {
            at: base.saturating_add(d.position()),
        });
    }
    let ty = d.datatype().map_err(|e| cbor_err(base, d, e))?;
    let err = |d: &Decoder<'_>, e| cbor_err(base, d, e);
    Ok(match ty {
        Type::Null => {
            d.skip().map_err(|e| err(d, e))?;
            Value::Null
        }
        Type::Undefined => {
            d.skip().map_err(|e| err(d, e))?;
            Value::Undefined
        }
        Type::Bool => Value::Bool(d.bool().map_err(|e| err(d, e))?),
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => {
            Value::Int(i128::from(d.u64().map_err(|e| err(d, e))?))
        }
        Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => {
            let i = d.int().map_err(|e| err(d, e))?;
            Value::Int(i128::from(i))
        }
        Type::F16 => {
            // 0xf9 then two bytes of IEEE 754 half precision.
            let at = d.position();
            d.skip().map_err(|e| err(d, e))?;
            let bits = d
                .input()
                .get(at.saturating_add(1)..at.saturating_add(3))
                .and_then(|b| b.first_chunk::<2>())
                .map(|b| u16::from_be_bytes(*b))
                .unwrap_or(0);
            Value::Float(f16_to_f64(bits))
        }
        Type::F32 => Value::Float(f64::from(d.f32().map_err(|e| err(d, e))?)),
        Type::F64 => Value::Float(d.f64().map_err(|e| err(d, e))?),
        Type::String | Type::StringIndef => {
            let at = base.saturating_add(d.position());
            let bad = |e: minicbor::decode::Error| DecodeError::Cbor {
                at,
                what: e.to_string(),
            };
            let mut s = String::new();
            for part in d.str_iter().map_err(bad)? {
                s.push_str(part.map_err(bad)?);
            }
            Value::Text(s)
        }
        Type::Bytes | Type::BytesIndef => {
            let at = base.saturating_add(d.position());
            let bad = |e: minicbor::decode::Error| DecodeError::Cbor {
                at,
                what: e.to_string(),
            };
            let mut b = Vec::new();
            for part in d.bytes_iter().map_err(bad)? {
                b.extend_from_slice(part.map_err(bad)?);
            }
            Value::Bytes(b)
        }
        Type::Array | Type::ArrayIndef => {
            let len = d.array().map_err(|e| err(d, e))?;
            let mut items = Vec::with_capacity(capacity_hint(d, len, 1));
            match len {
                Some(n) => {
                    for _ in 0..n {
                        items.push(value(d, base, depth.saturating_add(1))?);
                    }
                }
                None => loop {
                    if d.datatype().map_err(|e| err(d, e))? == Type::Break {
                        d.skip().map_err(|e| err(d, e))?;
                        break;
                    }
                    items.push(value(d, base, depth.saturating_add(1))?);
                },
            }
            Value::Array(items)
        }
        Type::Map | Type::MapIndef => {
            let len = d.map().map_err(|e| err(d, e))?;
            let mut entries = Vec::with_capacity(capacity_hint(d, len, 2));
            match len {
                Some(n) => {
                    for _ in 0..n {
                        let k = value(d, base, depth.saturating_add(1))?;
                        let v = value(d, base, depth.saturating_add(1))?;
                        entries.push((k, v));
                    }
                }
                None => loop {
                    if d.datatype().map_err(|e| err(d, e))? == Type::Break {
                        d.skip().map_err(|e| err(d, e))?;
                        break;
                    }
                    let k = value(d, base, depth.saturating_add(1))?;
                    let v = value(d, base, depth.saturating_add(1))?;
                    entries.push((k, v));
                },
            }
            Value::Map(entries)
        }
        Type::Tag => {
            let t = d.tag().map_err(|e| err(d, e))?;
            Value::Tag(
                t.as_u64(),
                Box::new(value(d, base, depth.saturating_add(1))?),
            )
        }
        Type::Simple => Value::Simple(d.simple().map_err(|e| err(d, e))?),
        other => {
            return Err(DecodeError::Cbor {
                at: base.saturating_add(d.position()),
                what: format!("unexpected {other}"),
            });
        }
    })
}

/// Room to reserve for a container of `len` items (`None`: indefinite),
/// each at least `min_bytes` long: never more than the input left could
/// hold (a forged length reserves nothing it cannot fill), and a few for
/// an indefinite one, so most containers are allocated once.
fn capacity_hint(d: &Decoder<'_>, len: Option<u64>, min_bytes: usize) -> usize {
    let left = d
        .input()
        .len()
        .saturating_sub(d.position())
        .checked_div(min_bytes)
        .unwrap_or(0);
    match len {
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX).min(left),
        None => left.min(16),
    }
}

fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let frac = f64::from(bits & 0x3ff);
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e.wrapping_sub(15)),
    }
}

/// Decodes exactly one CBOR item filling `bytes`.
pub fn decode_value(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut d = Decoder::new(bytes);
    let v = value(&mut d, 0, 0)?;
    if d.position() != bytes.len() {
        return Err(DecodeError::TrailingBytes { at: d.position() });
    }
    Ok(v)
}

/// Decodes a response packet: header, metadata, entries (task-name indices
/// resolved, ENAs assigned).
pub fn decode_packet(packet: &[u8]) -> Result<Packet, DecodeError> {
    let (head, body) = packet
        .split_at_checked(RESPONSE_HEADER_LEN)
        .ok_or(DecodeError::ShortHeader(packet.len()))?;
    let header = ResponseHeader::read_from_bytes(head)
        .map_err(|_| DecodeError::ShortHeader(packet.len()))?;
    if header.version != VERSION {
        return Err(DecodeError::Version(header.version));
    }
    let base = RESPONSE_HEADER_LEN;
    let mut d = Decoder::new(body);
    let metadata = match value(&mut d, base, 0)? {
        Value::Map(entries) => {
            let mut m = BTreeMap::new();
            for (k, v) in entries {
                match k {
                    Value::Text(k) => {
                        m.insert(k, v);
                    }
                    _ => return Err(DecodeError::MetadataNotMap),
                }
            }
            m
        }
        _ => return Err(DecodeError::MetadataNotMap),
    };
    let mut entries: Vec<Entry> = Vec::new();
    if d.position() < body.len() {
        let items = match value(&mut d, base, 0)? {
            Value::Array(items) => items,
            _ => return Err(DecodeError::EntriesNotArray),
        };
        entries.reserve_exact(items.len());
        let start = header.start_ena();
        if !items.is_empty() && start.is_none() {
            return Err(DecodeError::BadStartEna);
        }
        for (index, item) in items.into_iter().enumerate() {
            let Value::Array(fields) = item else {
                return Err(DecodeError::BadEntry {
                    index,
                    what: "not an array",
                });
            };
            let [task, generation, uptime, body]: [Value; 4] =
                fields.try_into().map_err(|_| DecodeError::BadEntry {
                    index,
                    what: "not 4 elements",
                })?;
            let task_name = match task {
                Value::Text(t) => t,
                Value::Int(i) => {
                    let refers_to = u64::try_from(i).unwrap_or(u64::MAX);
                    usize::try_from(refers_to)
                        .ok()
                        .and_then(|r| entries.get(r))
                        .map(|e| e.task_name.clone())
                        .ok_or(DecodeError::BadTaskIndex { index, refers_to })?
                }
                _ => {
                    return Err(DecodeError::BadEntry {
                        index,
                        what: "task is neither text nor an index",
                    });
                }
            };
            let task_gen = generation
                .as_u64()
                .and_then(|g| u32::try_from(g).ok())
                .ok_or(DecodeError::BadEntry {
                    index,
                    what: "generation is not a u32",
                })?;
            let uptime_ms = uptime.as_u64().ok_or(DecodeError::BadEntry {
                index,
                what: "uptime is not an unsigned integer",
            })?;
            let Value::Bytes(body) = body else {
                return Err(DecodeError::BadEntry {
                    index,
                    what: "body is not a byte string",
                });
            };
            let ena = u64::try_from(index)
                .ok()
                .and_then(|i| start.0.checked_add(i))
                .ok_or(DecodeError::BadStartEna)?;
            entries.push(Entry {
                ena: Ena(ena),
                task_name,
                task_gen,
                uptime_ms,
                body,
            });
        }
    }
    if d.position() != body.len() {
        return Err(DecodeError::TrailingBytes {
            at: base.saturating_add(d.position()),
        });
    }
    Ok(Packet {
        restart_id: header.restart_id(),
        start_ena: header.start_ena(),
        request_id: header.request_id,
        metadata,
        entries,
    })
}
