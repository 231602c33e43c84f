//! Flag parsing shared by the binaries: `--name value`, `--name=value` and
//! bare `--flag`, with unknown flags refused.

use std::collections::BTreeMap;
use std::time::Duration;

/// Parsed flags.
#[derive(Debug, Default)]
pub struct Args {
    values: BTreeMap<String, String>,
    flags: Vec<String>,
}

/// Parses `args` (without the program name). `takes_value` lists flags
/// that take a value, `bare` those that do not.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    takes_value: &[&str],
    bare: &[&str],
) -> Result<Args, String> {
    let mut out = Args::default();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        if takes_value.contains(&name.as_str()) {
            let v = match inline {
                Some(v) => v,
                None => it.next().ok_or_else(|| format!("{name} needs a value"))?,
            };
            out.values.insert(name, v);
        } else if bare.contains(&name.as_str()) && inline.is_none() {
            out.flags.push(name);
        } else {
            return Err(format!("unknown argument {a:?} (try --help)"));
        }
    }
    Ok(out)
}

impl Args {
    /// Whether a bare flag was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    /// A value parsed with `FromStr`, or `default`.
    pub fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        match self.values.get(name) {
            Some(v) => v.parse().map_err(|e| format!("{name} {v:?}: {e}")),
            None => Ok(default),
        }
    }

    /// A raw value.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A duration: `250ms`, `5s`, `2m`, or plain seconds.
    pub fn duration(&self, name: &str) -> Result<Option<Duration>, String> {
        self.values
            .get(name)
            .map(|v| parse_duration(v).map_err(|e| format!("{name} {v:?}: {e}")))
            .transpose()
    }
}

/// Parses `250ms`, `5s`, `1.5s`, `2m` or plain (fractional) seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| "not a duration (try 500ms, 5s, 2m)".to_string())?;
    if !v.is_finite() || v < 0.0 {
        return Err("must be a non-negative duration".into());
    }
    Duration::try_from_secs_f64(v * scale).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_values() {
        let a = parse(
            ["--rate", "5", "--json", "--listen=127.0.0.1:1"].map(String::from),
            &["--rate", "--listen"],
            &["--json"],
        )
        .unwrap();
        assert_eq!(a.get("--rate", 0.0).unwrap(), 5.0);
        assert_eq!(a.value("--listen"), Some("127.0.0.1:1"));
        assert!(a.flag("--json"));
        assert!(parse(["--nope".to_string()], &[], &[]).is_err());
        assert!(parse(["--rate".to_string()], &["--rate"], &[]).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
