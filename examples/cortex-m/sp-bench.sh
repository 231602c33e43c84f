#!/usr/bin/env bash
# Figures of the emulated SP (docs/emulated-sp.md), as `name: value` lines:
#
# - the image's sections, and how much of .text is smoltcp's, the LAN9118
#   driver's and the rest (packrat, the snitch, producers, core), by symbol;
# - ereports served a second of host wall time to `ereport-gateway
#   --follow`, with producers far over what the link drains (so the store is
#   always full and the snitch always has a full response), and requests and
#   UDP payload bytes per drained ereport. This is emulator time (QEMU's TCG
#   on this host), not a Cortex-M7's;
# - the same run under QEMU's -icount: instructions the SP spends per
#   request (emulated instructions, counted by QEMU).
#
# Usage: sp-bench.sh [SECONDS]  (default 20)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-20}
[[ $seconds =~ ^[0-9]+$ ]] && [ "$seconds" -ge 5 ] || {
    echo "sp-bench.sh: SECONDS must be a whole number of at least 5" >&2
    exit 2
}

sysroot=$(rustc --print sysroot)
host=$(rustc -vV | sed -n 's/^host: //p')
tools="$sysroot/lib/rustlib/$host/bin"
[ -x "$tools/llvm-size" ] || rustup component add llvm-tools >&2
size="$tools/llvm-size"
nm="$tools/llvm-nm"

elf=$(cd "$here" && cargo build --quiet --profile firmware --target thumbv7em-none-eabihf \
    --bin emulated-sp --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1) ||
    { echo "$(basename "$0"): building the emulated SP failed (cargo's errors above)" >&2; exit 1; }
[ -n "$elf" ] || { echo "sp-bench.sh: building the emulated SP failed" >&2; exit 1; }

section() { "$size" -A "$elf" | awk -v s="$1" '$1 == s { print $2; f = 1 } END { if (!f) print 0 }'; }
for s in .text .rodata .data .bss; do
    echo "sp.${s#.}: $(section "$s")"
done
# .text by symbol name. After LTO much is inlined across crates (smoltcp's
# UDP code into the main loop, say), so the libraries' figures are lower
# bounds and ours an upper bound. SpNet::poll is a call of smoltcp's
# Interface::poll, inlined whole: it is counted as smoltcp's.
"$nm" -S -C --radix=d "$elf" | awk '
    $3 ~ /^[tT]$/ {
        sym = $4; for (i = 5; i <= NF; i++) sym = sym " " $i
        if (sym ~ /smoltcp|SpNet::poll/) smol += $2
        else if (sym ~ /lan9118/) drv += $2
        else if (sym ~ /^core::|^<core::|compiler_builtins|^__aeabi|^mem(cpy|set|cmp|move|clr)$|^cortex_m(_rt|_semihosting)?::|^<char>|^<[ui][0-9]+ as core|^<usize as core|^<&T as|^_\$LT\$\$RF\$T/) rt += $2
        else ours += $2
    }
    END {
        printf "sp.text.smoltcp: %d\nsp.text.lan9118_driver: %d\n", smol, drv
        printf "sp.text.core_builtins_cortex_m: %d\nsp.text.ours: %d\n", rt, ours
    }'
"$nm" -S -C --radix=d "$elf" | awk '
    $3 ~ /^[bBdD]$/ && $4 ~ /PACKRAT/ { printf "sp.ram.packrat_static: %d\n", $2 }'

cargo build --quiet --release -p ereport-gateway --manifest-path "$root/Cargo.toml"
gateway="$root/target/release/ereport-gateway"
work=$(mktemp -d "${TMPDIR:-/tmp}/sp-bench.XXXXXX")
sp_pid="" gw_pid=""
cleanup() {
    [ -z "$gw_pid" ] || kill "$gw_pid" 2>/dev/null || true
    [ -z "$sp_pid" ] || kill "$sp_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# One run: the SP (with the run-sp.sh flags given) followed by the gateway
# until the SP exits; sets stored, requests, losses, bytes, ticks,
# responses, ns.
follow_run() {
    : >"$work/sp.log"
    rm -f "$work/bench.sqlite"
    "$here/run-sp.sh" --port "$port" --rate 5000 --no-rate-limit --fault-every 0 \
        --run-for "${seconds}s" "$@" >"$work/sp.log" 2>&1 &
    sp_pid=$!
    for _ in $(seq 600); do
        grep -q "listening on udp" "$work/sp.log" && break
        kill -0 "$sp_pid" 2>/dev/null || { cat "$work/sp.log" >&2; exit 1; }
        sleep 0.1
    done
    grep -q "listening on udp" "$work/sp.log" || { echo "sp-bench.sh: the SP did not start" >&2; exit 1; }
    local start end
    start=$(date +%s%N)
    "$gateway" --sp "emulated=127.0.0.1:$port" --db "$work/bench.sqlite" --follow \
        --interval 1ms --max-interval 1ms >/dev/null 2>"$work/gw.log" &
    gw_pid=$!
    wait "$sp_pid" || true
    sp_pid=""
    end=$(date +%s%N)
    kill -INT "$gw_pid"
    wait "$gw_pid" || true
    gw_pid=""
    ns=$((end - start))
    local summary status
    summary=$(grep "new ereports stored" "$work/gw.log" | tail -n 1)
    stored=$(sed -n 's/.*: \([0-9]*\) new ereports stored.*/\1/p' <<<"$summary")
    requests=$(sed -n 's/.* \([0-9]*\) requests sent.*/\1/p' <<<"$summary")
    losses=$(sed -n 's/.* \([0-9]*\) loss records.*/\1/p' <<<"$summary")
    status=$(grep "udp sent" "$work/sp.log" | tail -n 1)
    bytes=$(sed -n 's/.*udp sent [0-9]* (\([0-9]*\) bytes).*/\1/p' <<<"$status")
    ticks=$(sed -n 's/.*; \([0-9]*\) core ticks per response.*/\1/p' <<<"$status")
    responses=$(sed -n 's/.*snitch requests [0-9]*, responses \([0-9]*\),.*/\1/p' <<<"$status")
    [ -n "$stored" ] && [ -n "$requests" ] && [ -n "$bytes" ] && [ -n "$ticks" ] && [ -n "$responses" ] &&
        [ "$stored" -gt 0 ] || {
        echo "sp-bench.sh: no figures; the gateway said: $summary; the SP said: $status" >&2
        exit 1
    }
}

follow_run
awk -v n="$stored" -v r="$requests" -v l="${losses:-0}" -v b="$bytes" -v ns="$ns" 'BEGIN {
    printf "sp.follow.seconds: %.1f\n", ns / 1e9
    printf "sp.follow.ereports_stored: %d\n", n
    printf "sp.follow.ereports_per_second: %.0f\n", n / (ns / 1e9)
    printf "sp.follow.loss_records: %d\n", l
    printf "sp.follow.requests_per_ereport: %.3f\n", r / n
    printf "sp.follow.bytes_per_ereport: %.1f\n", b / n
}'

# The same under -icount (one instruction a nanosecond of emulated time):
# SysTick counts 40 instructions a tick, so the SP's ticks per response
# give the instructions it spends per request, from the NIC's frame to the
# response's frame (smoltcp, the snitch, packrat's encode, the driver).
follow_run --icount
awk -v t="$ticks" -v n="$stored" -v r="$responses" 'BEGIN {
    printf "sp.icount.instructions_per_response: %d\n", t * 40
    printf "sp.icount.entries_per_response: %.1f\n", n / r
    printf "sp.icount.instructions_per_drained_ereport: %d\n", t * 40 * r / n
}'
