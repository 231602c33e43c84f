#!/usr/bin/env bash
# Footprint of the firmware crates on thumbv7em-none-eabihf, firmware profile.
#
# Builds the probe (src/bin/footprint.rs) with none, each, and all of
# packrat's entry points (deliver, flush, read-ereports) and prints section
# sizes and differences as `name: value` lines, then the largest symbols by
# crate. Exits non-zero if deliver + flush + read needs more than
# ${FOOTPRINT_TEXT_LIMIT:-4096} bytes of .text.
set -euo pipefail
cd "$(dirname "$0")"

target=thumbv7em-none-eabihf
limit=${FOOTPRINT_TEXT_LIMIT:-4096}
sysroot=$(rustc --print sysroot)
host=$(rustc -vV | sed -n 's/^host: //p')
bin="$sysroot/lib/rustlib/$host/bin"
if [ ! -x "$bin/llvm-size" ]; then
    rustup component add llvm-tools >&2 || true
fi
if [ -x "$bin/llvm-size" ]; then
    size="$bin/llvm-size"
    nm="$bin/llvm-nm"
else
    # Fall back to Debian's LLVM tools.
    if ! command -v llvm-size >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
        $sudo apt-get update -qq >&2 && $sudo apt-get install -y --no-install-recommends llvm >&2
    fi
    size=llvm-size
    nm=llvm-nm
fi

# Cargo says where it put the program (CARGO_TARGET_DIR may move it).
out=$(mktemp -d "${TMPDIR:-/tmp}/footprint.XXXXXX")
trap 'rm -rf "$out"' EXIT
build() { # name features [bin]
    local elf
    elf=$(cargo build -q --profile firmware --target "$target" --bin "${3:-footprint}" \
        --no-default-features ${2:+--features "$2"} --message-format=json |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
    [ -n "$elf" ] || { echo "footprint: cargo reported no executable" >&2; exit 1; }
    cp "$elf" "$out/$1.elf"
}
section() { # elf section
    "$size" -A "$1" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'
}

build none ""
build deliver deliver
build flush flush
build read read
build all deliver,flush,read
build storm deliver,flush,read,storm

for s in .text .rodata .bss .data; do
    base=$(section "$out/none.elf" "$s")
    name=${s#.}
    echo "footprint.$name.total: $(section "$out/all.elf" "$s")"
    echo "footprint.$name.baseline: $base"
    for v in deliver flush read all; do
        d=$(( $(section "$out/$v.elf" "$s") - base ))
        [ "$v" = all ] && v=deliver_flush_read
        echo "footprint.$name.$v: $d"
    done
done

# The store static and the rest of .bss.
store=$("$nm" -S --size-sort -C --radix=d "$out/all.elf" | awk '/ footprint::PACKRAT(::h[0-9a-f]+)?$/ { print $2 + 0 }')
echo "footprint.bss.packrat_static: ${store:-0}"

echo
echo "# .text and .rodata by crate (all entry points). After LTO most library"
echo "# code is inlined into the probe's entry points, so 'footprint' holds much"
echo "# of packrat's, lease-writer's and minicbor's code; see the differences above."
"$nm" -S --size-sort -C --radix=d "$out/all.elf" | awk '
    $3 ~ /^[tTrR]$/ {
        sym = $4
        for (i = 5; i <= NF; i++) sym = sym " " $i
        # Legacy-mangled impl names: <Type as Trait>::method.
        gsub(/\$LT\$/, "<", sym); gsub(/\$GT\$/, ">", sym); gsub(/\$u20\$/, " ", sym)
        gsub(/\$RF\$/, "\\&", sym); gsub(/\$C\$/, ",", sym); gsub(/\.\./, "::", sym)
        sub(/^_+/, "", sym)
        if (sym ~ /^</) {
            inner = substr(sym, 2); sub(/^[&]?(mut )?/, "", inner)
            head = inner; sub(/[ <>].*/, "", head)
            if (head !~ /::/ && inner ~ / as /) { sub(/^.* as /, "", inner) }
            sym = inner
        }
        crate = sym; sub(/::.*/, "", crate)
        if (crate == sym || crate ~ /^[.]/) crate = "(other)"
        kind = ($3 ~ /[tT]/) ? "text" : "rodata"
        total[crate "." kind] += $2 + 0
    }
    END { for (k in total) printf "footprint.crate.%s: %d\n", k, total[k] }' | sort

# What storm control adds: the producer's rate limit and suppression
# records, and packrat's task share, all on.
echo "footprint.text.storm_control: $(( $(section "$out/storm.elf" .text) - $(section "$out/all.elf" .text) ))"
echo "footprint.bss.storm_control: $(( $(section "$out/storm.elf" .bss) - $(section "$out/all.elf" .bss) ))"

# Each producer-benchmark class alone (src/bin/producer_size.rs): its
# encoder's .text and its precomputed keys' .rodata.
build producer-none "" producer-size
for class in small nested pmbus-alert; do
    build "producer-$class" "class-$class" producer-size
    for s in .text .rodata; do
        d=$(( $(section "$out/producer-$class.elf" "$s") - $(section "$out/producer-none.elf" "$s") ))
        echo "producer.${class//-/_}.${s#.}: $d"
    done
done

total=$(( $(section "$out/all.elf" .text) - $(section "$out/none.elf" .text) ))
if [ "$total" -gt "$limit" ]; then
    echo "footprint: deliver + flush + read needs $total bytes of .text, over the $limit-byte limit" >&2
    exit 1
fi
