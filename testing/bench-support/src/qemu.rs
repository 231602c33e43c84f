//! Driving QEMU from tests: a program's output read line by line with
//! bounded waits, and the monitor over a Unix socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, ChildStdout};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// A child process (QEMU, or a script that runs it), killed on drop, whose
/// standard output is read as lines.
pub struct Emulator {
    child: Child,
    lines: Receiver<String>,
    /// Every line seen so far, for failure messages.
    pub log: Vec<String>,
}

impl Emulator {
    /// Takes `child`, which must have been spawned with a piped stdout.
    pub fn new(mut child: Child) -> Emulator {
        let stdout: ChildStdout = child.stdout.take().expect("the child's stdout is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Emulator {
            child,
            lines,
            log: Vec::new(),
        }
    }

    /// Reads lines until one contains `needle`, and returns it; fails the
    /// test, with everything the program printed, if none does within
    /// `within` or the program ends first.
    pub fn wait_for(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no line with {needle:?} within {within:?} ({e}); the program printed:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    /// Takes the lines printed so far without waiting, and says whether
    /// any line seen so far contains `needle`.
    pub fn seen(&mut self, needle: &str) -> bool {
        while let Ok(line) = self.lines.try_recv() {
            self.log.push(line);
        }
        self.log.iter().any(|l| l.contains(needle))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// QEMU's human monitor on a Unix socket (`-monitor unix:PATH,server=on,wait=off`).
pub struct Monitor {
    stream: UnixStream,
    seen: Vec<u8>,
}

const PROMPT: &[u8] = b"(qemu) ";

impl Monitor {
    /// Connects, retrying until `within` has passed (QEMU creates the
    /// socket as it starts), and waits for the first prompt.
    pub fn connect(path: &Path, within: Duration) -> Monitor {
        let deadline = Instant::now() + within;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => {
                    panic!(
                        "QEMU's monitor at {} within {within:?}: {e}",
                        path.display()
                    )
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut m = Monitor {
            stream,
            seen: Vec::new(),
        };
        m.until_prompt(within);
        m
    }

    fn until_prompt(&mut self, within: Duration) -> String {
        let deadline = Instant::now() + within;
        let mut buf = [0u8; 4096];
        loop {
            if let Some(at) = self.seen.windows(PROMPT.len()).position(|w| w == PROMPT) {
                let out: Vec<u8> = self.seen.drain(..at + PROMPT.len()).collect();
                return String::from_utf8_lossy(&out[..at]).into_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no monitor prompt within {within:?}; it said: {}",
                String::from_utf8_lossy(&self.seen)
            );
            match self.stream.read(&mut buf) {
                Ok(0) => panic!("QEMU closed its monitor"),
                Ok(n) => self.seen.extend_from_slice(&buf[..n]),
                Err(_) => {} // the read timeout: look again
            }
        }
    }

    /// Runs one monitor command and returns what it printed (waiting for
    /// the next prompt, at most `within`).
    pub fn command(&mut self, cmd: &str, within: Duration) -> String {
        writeln!(self.stream, "{cmd}").expect("writing to QEMU's monitor");
        self.until_prompt(within)
    }

    /// Saves `len` bytes of guest memory from `addr` to `file` and returns
    /// them.
    pub fn pmemsave(&mut self, addr: u64, len: u64, file: &Path) -> Vec<u8> {
        let out = self.command(
            &format!("pmemsave {addr:#x} {len:#x} \"{}\"", file.display()),
            Duration::from_secs(60),
        );
        let bytes = std::fs::read(file)
            .unwrap_or_else(|e| panic!("pmemsave wrote no {} ({e}): {out}", file.display()));
        assert_eq!(bytes.len() as u64, len, "pmemsave's image: {out}");
        bytes
    }
}
