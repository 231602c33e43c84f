#!/usr/bin/env bash
# Sends one command to the emulated SP's QEMU monitor (run-sp.sh --monitor
# SOCKET) and prints its answer. For example:
#
#   sp-monitor.sh /tmp/sp-monitor.sock 'pmemsave 0x20000000 0x400000 "/tmp/sp-ram.bin"'
#   sp-monitor.sh /tmp/sp-monitor.sock system_reset
set -euo pipefail
if [ $# -ne 2 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
    echo "usage: sp-monitor.sh SOCKET 'MONITOR COMMAND'" >&2
    exit 2
fi
[ -S "$1" ] || { echo "sp-monitor.sh: $1 is not a socket (run-sp.sh --monitor $1)" >&2; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "sp-monitor.sh: needs python3" >&2; exit 1; }
python3 - "$1" "$2" <<'PY'
import socket, sys, time

path, command = sys.argv[1], sys.argv[2]
prompt = b"(qemu) "
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(60)
s.connect(path)

def until_prompt():
    seen = b""
    deadline = time.monotonic() + 60
    while prompt not in seen:
        if time.monotonic() > deadline:
            sys.exit("sp-monitor.sh: no answer from the monitor within 60 s")
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("sp-monitor.sh: the monitor closed")
        seen += chunk
    return seen[: seen.index(prompt)]

until_prompt()  # the banner
s.sendall(command.encode() + b"\n")
answer = until_prompt().decode(errors="replace")
# The monitor echoes the command line (with terminal escapes) first.
lines = [l for l in answer.replace("\r", "").split("\n")[1:] if l.strip()]
print("\n".join(lines))
PY
