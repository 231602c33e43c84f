//! The SP simulator spoken to in raw bytes, as docs/protocol.md lays them out: no
//! crate types on the client side, so the wire format itself is checked.

use std::net::UdpSocket;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Runs `sp-sim` on a free loopback port; killed on drop.
struct SimProcess {
    child: Child,
    addr: String,
}

impl SimProcess {
    fn start(extra: &[&str]) -> Self {
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_sp-sim"))
            .args(["--listen", &addr, "--quiet", "--run-for", "20s"])
            .args(extra)
            .spawn()
            .unwrap();
        Self { child, addr }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A 35-byte version-0 request, field by field.
fn request(restart_id: u128, start: u64, committed: u64, limit: u8, request_id: u8) -> Vec<u8> {
    let mut r = vec![0u8];
    r.extend(restart_id.to_le_bytes());
    r.extend(start.to_le_bytes());
    r.extend(committed.to_le_bytes());
    r.push(limit);
    r.push(request_id);
    assert_eq!(r.len(), 35);
    r
}

/// Sends `packet` until a response echoing `request_id` arrives.
fn ask(sock: &UdpSocket, to: &str, packet: &[u8], request_id: u8) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        sock.send_to(packet, to).unwrap();
        let until = Instant::now() + Duration::from_millis(200);
        while Instant::now() < until {
            if let Ok((n, _)) = sock.recv_from(&mut buf)
                && n >= 26
                && buf[25] == request_id
            {
                return buf[..n].to_vec();
            }
        }
    }
    panic!("no response to request {request_id}");
}

fn socket() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    s
}

#[test]
fn refresh_then_read_in_raw_bytes() {
    let sim = SimProcess::start(&["--rate", "40", "--vpd-delay-ms", "0"]);
    let sock = socket();
    std::thread::sleep(Duration::from_millis(300));

    // MGS's metadata refresh: restart id 0, start 0, limit 0.
    let r = ask(&sock, &sim.addr, &request(0, 0, 0, 0, 7), 7);
    assert_eq!(r[0], 0, "version 0");
    let restart_id = u128::from_le_bytes(r[1..17].try_into().unwrap());
    assert_ne!(restart_id, 0);
    assert_eq!(
        u64::from_le_bytes(r[17..25].try_into().unwrap()),
        0,
        "no entries: start ENA 0"
    );
    assert_eq!(r[25], 7, "request id echoed");
    assert_eq!(r[26], 0xbf, "indefinite metadata map");
    assert_eq!(*r.last().unwrap(), 0xff);
    let body = String::from_utf8_lossy(&r[26..]);
    assert!(
        body.contains("baseboard_serial_number") && body.contains("hubris_caboose"),
        "metadata is filled"
    );

    // Now read with the right restart id from ENA 1.
    let r = ask(&sock, &sim.addr, &request(restart_id, 1, 0, 255, 8), 8);
    assert!(r.len() <= 1024);
    assert_eq!(
        u128::from_le_bytes(r[1..17].try_into().unwrap()),
        restart_id
    );
    assert_eq!(
        u64::from_le_bytes(r[17..25].try_into().unwrap()),
        1,
        "starts at ENA 1"
    );
    assert_eq!(
        &r[26..28],
        &[0xbf, 0xff],
        "matching restart id: empty metadata map"
    );
    assert_eq!(r[28], 0x9f, "indefinite entry array");
    // The first entry: [ "packrat", 0, 0, h'a1646c6f7374f6' ] ({"lost": null}).
    let mut first = vec![0x84, 0x67];
    first.extend(b"packrat");
    first.extend([0x00, 0x00, 0x47, 0xa1, 0x64, b'l', b'o', b's', b't', 0xf6]);
    assert_eq!(&r[29..29 + first.len()], &first[..]);
    assert_eq!(*r.last().unwrap(), 0xff);

    // Commit through ENA 1: the next read starts after it.
    let r = ask(&sock, &sim.addr, &request(restart_id, 2, 1, 1, 9), 9);
    assert_eq!(u64::from_le_bytes(r[17..25].try_into().unwrap()), 2);
    // A stale restart id frees nothing and starts at the earliest again.
    let r = ask(&sock, &sim.addr, &request(restart_id ^ 1, 5, 3, 1, 10), 10);
    assert_eq!(u64::from_le_bytes(r[17..25].try_into().unwrap()), 2);
}

#[test]
fn invalid_packets_get_no_answer() {
    let sim = SimProcess::start(&["--rate", "0"]);
    let sock = socket();
    std::thread::sleep(Duration::from_millis(300));
    // Make sure it is up.
    let _ = ask(&sock, &sim.addr, &request(0, 0, 0, 0, 1), 1);
    let good = request(0, 0, 0, 0, 2);
    let mut v1 = good.clone();
    v1[0] = 1;
    let mut long = good.clone();
    long.push(0);
    for bad in [&good[..34], &long[..], &v1[..], &[][..]] {
        sock.send_to(bad, &sim.addr).unwrap();
    }
    let mut buf = [0u8; 2048];
    let until = Instant::now() + Duration::from_millis(400);
    while Instant::now() < until {
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            panic!("answered an invalid packet: {n} bytes");
        }
    }
    // And it still answers a valid one.
    let r = ask(&sock, &sim.addr, &request(0, 0, 0, 0, 3), 3);
    assert_eq!(r[25], 3);
}

#[test]
fn the_simulator_keeps_no_per_ereport_state_unless_asked() {
    use sp_sim::sim::{Sim, SimConfig};
    let sim = Sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        rate: 2000.0,
        ..SimConfig::default()
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(sim.delivered().is_empty(), "nothing kept per ereport");
    let st = sim.stop();
    assert!(st.delivered + st.lost_full > 50, "{st:?}");
}
