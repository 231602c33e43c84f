//! The emulated SP's settings, read from its command line (semihosting's
//! `SYS_GET_CMDLINE`: QEMU's `-append`), as `key=value` words:
//!
//! ```text
//! seed=7 rate=200 fault-every=5s vpd-delay=2s produce-for=0 run-for=0
//! ```
//!
//! Durations are a number with `ms`, `s` or `m` (a bare number is
//! milliseconds); `0` means never (`fault-every`, `produce-for`, `run-for`).
//! The first word (the program's path, by QEMU's convention) is skipped.

use core::fmt;

/// The settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Seeds the producers' reports, the faults and the restart id.
    pub seed: u64,
    /// Ereports a second over all four producers.
    pub rate: u32,
    /// A task fault every so many milliseconds (0: none).
    pub fault_every_ms: u64,
    /// The identity (VPD) is known this long after boot.
    pub vpd_delay_ms: u64,
    /// Producers and faults stop after this long (0: never); the snitch
    /// keeps serving.
    pub produce_for_ms: u64,
    /// The emulator exits (success) after this long (0: never).
    pub run_for_ms: u64,
    /// Whether the power task's rate limit is enforced.
    pub rate_limit: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seed: 1,
            rate: 200,
            fault_every_ms: 5_000,
            vpd_delay_ms: 2_000,
            produce_for_ms: 0,
            run_for_ms: 0,
            rate_limit: true,
        }
    }
}

/// A word of the command line that is not a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError<'a> {
    /// Not `key=value`, or an unknown key.
    Unknown(&'a str),
    /// A value that does not parse for its key.
    Value(&'a str, &'a str),
    /// The command line is not UTF-8.
    NotText,
}

impl fmt::Display for ConfigError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Unknown(w) => write!(
                f,
                "unknown setting {w:?}: the settings are seed=N rate=N fault-every=D \
                 vpd-delay=D produce-for=D run-for=D rate-limit=on|off \
                 (D: 500ms, 5s, 2m; 0 = never)"
            ),
            ConfigError::Value(k, v) => write!(f, "{k}={v}: not a valid value for {k}"),
            ConfigError::NotText => write!(f, "the command line is not UTF-8"),
        }
    }
}

/// A duration in milliseconds: `250`, `250ms`, `5s`, `2m`.
fn duration_ms(v: &str) -> Option<u64> {
    let (digits, scale) = if let Some(d) = v.strip_suffix("ms") {
        (d, 1)
    } else if let Some(d) = v.strip_suffix('s') {
        (d, 1_000)
    } else if let Some(d) = v.strip_suffix('m') {
        (d, 60_000)
    } else {
        (v, 1)
    };
    digits.parse::<u64>().ok()?.checked_mul(scale)
}

impl Config {
    /// Parses `cmdline` (the program's path, then settings).
    pub fn parse(cmdline: &str) -> Result<Config, ConfigError<'_>> {
        let mut cfg = Config::default();
        for word in cmdline.split_ascii_whitespace().skip(1) {
            let (key, value) = word.split_once('=').ok_or(ConfigError::Unknown(word))?;
            let bad = ConfigError::Value(key, value);
            match key {
                "seed" => cfg.seed = value.parse().map_err(|_| bad)?,
                "rate" => cfg.rate = value.parse().map_err(|_| bad)?,
                "fault-every" => cfg.fault_every_ms = duration_ms(value).ok_or(bad)?,
                "vpd-delay" => cfg.vpd_delay_ms = duration_ms(value).ok_or(bad)?,
                "produce-for" => cfg.produce_for_ms = duration_ms(value).ok_or(bad)?,
                "run-for" => cfg.run_for_ms = duration_ms(value).ok_or(bad)?,
                "rate-limit" => {
                    cfg.rate_limit = match value {
                        "on" => true,
                        "off" => false,
                        _ => return Err(bad),
                    }
                }
                _ => return Err(ConfigError::Unknown(word)),
            }
        }
        Ok(cfg)
    }

    /// Reads and parses the command line QEMU holds for the program, into
    /// `buf`; a machine without one (a debugger that does not answer
    /// `SYS_GET_CMDLINE`) gets the defaults.
    pub fn from_semihosting(buf: &mut [u8]) -> Result<Config, ConfigError<'_>> {
        let Some(len) = crate::startup::command_line(buf) else {
            return Ok(Config::default());
        };
        let text = core::str::from_utf8(buf.get(..len).unwrap_or(&[]))
            .map_err(|_| ConfigError::NotText)?;
        Config::parse(text)
    }
}
