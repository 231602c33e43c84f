#!/usr/bin/env bash
# Runs the emulated SP: the firmware crates as one Cortex-M7 image under
# QEMU (MPS2 AN500 board, LAN9118 Ethernet), serving ereports on a host UDP
# port through QEMU's user-mode network. Builds the image first if needed.
# See docs/emulated-sp.md.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: run-sp.sh [--port P] [--seed N] [--rate R] [--fault-every D]
                 [--vpd-delay D] [--produce-for D] [--run-for D]
                 [--no-rate-limit] [--icount] [--monitor SOCKET] [--gdb PORT]

Runs the emulated SP until Ctrl-C (or --run-for). Collect from it with:
  cargo run -p ereport-gateway -- --sp emulated=127.0.0.1:57005 --db sp.sqlite --follow

  --port P          host UDP port forwarded to the SP's port 57005 (default 57005)
  --seed N          seeds the reports, the faults and the restart id (default 1);
                    each reset of the board (QEMU's system_reset) boots with a
                    new restart id
  --rate R          ereports a second over the four producer tasks (default 200;
                    0 for none)
  --fault-every D   a task fault every D (default 5s; 0 for none)
  --vpd-delay D     the identity (VPD) is known D after boot (default 2s)
  --produce-for D   producers and faults stop after D; the SP keeps serving
                    (default 0: never)
  --run-for D       the SP exits after D (default 0: runs until Ctrl-C)
  --no-rate-limit   the power task's PMBus alert is not rate-limited
  --icount          QEMU counts instructions for time (-icount shift=0: one
                    instruction a nanosecond), so the SP's "core ticks per
                    response" is 1/40 of the instructions a response takes
  --monitor SOCKET  QEMU's monitor on this Unix socket (for system_reset, or
                    pmemsave 0x20000000 0x400000 "ram.bin" for ereport-dump)
  --gdb PORT        a gdb server on 127.0.0.1:PORT (target remote :PORT)

D is a number with ms, s or m: 500ms, 5s, 2m. With the defaults the store
overflows within seconds when nothing collects, faults come every 5 s, and
the PMBus alert is suppressed over 10 a second.
EOF
}

die() {
    echo "run-sp.sh: $*" >&2
    exit 2
}

is_duration() { [[ $1 =~ ^[0-9]+(ms|s|m)?$ ]]; }
is_number() { [[ $1 =~ ^[0-9]+$ ]]; }

port=57005 seed=1 rate=200 fault_every=5s vpd_delay=2s produce_for=0 run_for=0
rate_limit=on monitor="" gdb="" icount=no
while [ $# -gt 0 ]; do
    flag=$1
    case $flag in
    -h | --help)
        usage
        exit 0
        ;;
    --no-rate-limit)
        rate_limit=off
        shift
        continue
        ;;
    --icount)
        icount=yes
        shift
        continue
        ;;
    --port | --seed | --rate | --fault-every | --vpd-delay | --produce-for | --run-for | --monitor | --gdb)
        [ $# -ge 2 ] || die "$flag needs a value (see --help)"
        value=$2
        shift 2
        ;;
    *)
        die "unknown argument '$flag' (see --help)"
        ;;
    esac
    case $flag in
    --port | --gdb)
        if ! is_number "$value" || [ "$value" -lt 1 ] || [ "$value" -gt 65535 ]; then
            die "$flag $value: not a port (1-65535)"
        fi
        ;;
    --seed | --rate)
        is_number "$value" && [ ${#value} -le 18 ] || die "$flag $value: not a whole number"
        ;;
    --monitor) [ -n "$value" ] || die "--monitor needs a socket path" ;;
    *) is_duration "$value" || die "$flag $value: not a duration (500ms, 5s, 2m)" ;;
    esac
    case $flag in
    --port) port=$value ;;
    --seed) seed=$value ;;
    --rate) rate=$value ;;
    --fault-every) fault_every=$value ;;
    --vpd-delay) vpd_delay=$value ;;
    --produce-for) produce_for=$value ;;
    --run-for) run_for=$value ;;
    --monitor) monitor=$value ;;
    --gdb) gdb=$value ;;
    esac
done

command -v qemu-system-arm >/dev/null 2>&1 ||
    die "qemu-system-arm is not installed (apt-get install qemu-system-arm)"

here=$(cd "$(dirname "$0")" && pwd)
# Build (a no-op when up to date) and ask cargo where the image is, so a
# CARGO_TARGET_DIR elsewhere is honoured.
elf=$(cd "$here" && cargo build --quiet --profile firmware --target thumbv7em-none-eabihf \
    --bin emulated-sp --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1) ||
    { echo "$(basename "$0"): building the emulated SP failed (cargo's errors above)" >&2; exit 1; }
[ -n "$elf" ] && [ -f "$elf" ] || die "building the emulated SP failed"

args=(
    -cpu cortex-m7 -machine mps2-an500
    -display none -serial none -monitor none
    -semihosting-config enable=on,target=native
    -nic "user,model=lan9118,hostfwd=udp:127.0.0.1:$port-:57005"
    -kernel "$elf"
    -append "seed=$seed rate=$rate fault-every=$fault_every vpd-delay=$vpd_delay produce-for=$produce_for run-for=$run_for rate-limit=$rate_limit"
)
if [ -n "$monitor" ]; then
    args+=(-monitor "unix:$monitor,server=on,wait=off")
fi
if [ -n "$gdb" ]; then
    args+=(-gdb "tcp:127.0.0.1:$gdb")
fi
if [ "$icount" = yes ]; then
    args+=(-icount shift=0)
fi

echo "run-sp.sh: the emulated SP listens on udp 127.0.0.1:$port (seed $seed, $rate ereports/s); Ctrl-C stops it"
[ -z "$monitor" ] || echo "run-sp.sh: QEMU's monitor is on $monitor"
[ -z "$gdb" ] || echo "run-sp.sh: gdb: target remote 127.0.0.1:$gdb (symbols: $elf)"
exec qemu-system-arm "${args[@]}"
