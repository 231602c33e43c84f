//! `catalog-bench`: loading a large class catalog and checking ereports
//! against it, as `ereport-gateway --catalog` does for every ereport.
//! Prints `name: value` lines for BENCHMARKS.md.
//!
//! The catalog is synthetic and large on purpose (by default 40,000
//! classes of 20 fields, some 50 MB of JSON): a catalog that size once
//! took 2.7 GB and checked fewer than 10 ereports a second, because every
//! check cloned the class's field types.

use std::io::Write as _;
use std::time::Instant;

use ereport_host::catalog::Catalog;
use serde_json::{Value, json};

/// The peak resident set of this process, in MiB (Linux; 0 elsewhere).
fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

fn class(i: usize, fields: usize) -> Value {
    let fields: Vec<Value> = (0..fields)
        .map(|f| {
            json!({"name": format!("field_{f}"), "optional": f % 3 == 0, "max_len": 40,
                   "type": if f % 2 == 0 { json!({"type": "uint"}) }
                           else { json!({"type": "text", "max_len": 32}) }})
        })
        .collect();
    json!({"class": format!("hw.bench.class_{i}"), "version": 0, "max_len": 900,
           "body": {"type": "map", "fields": fields}})
}

fn ereport(i: usize, fields: usize) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("k".into(), json!(format!("hw.bench.class_{i}")));
    m.insert("v".into(), json!(0));
    for f in 0..fields {
        let v = if f % 2 == 0 { json!(f) } else { json!("text") };
        m.insert(format!("field_{f}"), v);
    }
    Value::Object(m)
}

fn main() {
    let classes: usize = std::env::var("CLASSES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40_000);
    let fields = 20;
    let checks = 200_000;
    let dir = std::env::temp_dir().join(format!("catalog-bench-{}", std::process::id()));
    let path = dir.join("catalog.json");
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, out] = args.as_slice()
        && flag == "--generate"
    {
        let file = std::fs::File::create(out).expect("the catalog file");
        let mut w = std::io::BufWriter::new(file);
        let all: Vec<Value> = (0..classes).map(|i| class(i, fields)).collect();
        serde_json::to_writer(&mut w, &json!({"catalog_version": 1, "classes": all}))
            .expect("written");
        w.flush().expect("flushed");
        return;
    }
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    // Written by a child process, so this one's peak memory is the
    // loading and checking alone.
    let status = std::process::Command::new(std::env::current_exe().expect("this program"))
        .arg("--generate")
        .arg(&path)
        .status()
        .expect("the generator runs");
    assert!(status.success(), "the generator failed");
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    let base_rss = peak_rss_mib();
    let started = Instant::now();
    let catalog = Catalog::load(&path).expect("the catalog loads");
    let load = started.elapsed();
    let samples: Vec<Value> = (0..1000)
        .map(|i| ereport(i * 37 % classes, fields))
        .collect();
    let started = Instant::now();
    let mut mismatches = 0u64;
    for i in 0..checks {
        if catalog.check(&samples[i % samples.len()]).is_some() {
            mismatches += 1;
        }
    }
    let took = started.elapsed();
    assert_eq!(mismatches, 0, "every sample matches its class");
    let _ = std::fs::remove_dir_all(&dir);
    println!("catalog.classes: {classes}");
    println!("catalog.json_mib: {}", size / (1024 * 1024));
    println!("catalog.load_ms: {}", load.as_millis());
    println!(
        "catalog.checks_per_s: {:.0}",
        checks as f64 / took.as_secs_f64()
    );
    println!(
        "catalog.peak_rss_mib: {} (at start: {base_rss})",
        peak_rss_mib()
    );
}
