# Runs inside the lab VM for lab/bench: ROUNDS DEVICES SIZE.
rounds=$1 devices=$2 size=$3
st="$STATION_REPO/.build/release/station"
$st lab image --size "$size" --seed 1 --out /tmp/a.bin
$st lab image --size "$size" --seed 2 --out /tmp/b.bin
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | awk '{ split($0, p, " - "); printf "%.3f\n", p[1] - p[2] }'; }
timeit() { t0=$(now); "$@" > /tmp/bench-cmd.log 2>&1 || { cat /tmp/bench-cmd.log >&2; echo "bench: command failed: $*" >&2; exit 1; }; t1=$(now); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Device 1-1 by its serial number (the device ID): several devices may be attached.
dfu() { dfu-util -d 2b04:d00d -S e00fce68ae40e8a1f5b40001 -a 0 -s 0xb4000 -D "$1"; }
station_flash() { $st flash --port "$1" --stay-in-dfu "$2"; }
: > /tmp/full-dfu; : > /tmp/full-st; : > /tmp/re-dfu; : > /tmp/re-st
img=a
for r in $(seq 1 "$rounds"); do
    # Full writes: each tool writes the image the device does not hold.
    img=$([ "$img" = a ] && echo b || echo a); timeit dfu /tmp/$img.bin >> /tmp/full-dfu
    img=$([ "$img" = a ] && echo b || echo a); timeit station_flash 1-1 /tmp/$img.bin >> /tmp/full-st
    # Re-flash: the device already holds this image.
    timeit station_flash 1-1 /tmp/$img.bin >> /tmp/re-st
    timeit dfu /tmp/$img.bin >> /tmp/re-dfu
done
fd=$(median < /tmp/full-dfu); fs=$(median < /tmp/full-st); rd=$(median < /tmp/re-dfu); rs=$(median < /tmp/re-st)
awk -v fd="$fd" -v fs="$fs" -v rd="$rd" -v rs="$rs" -v n="$rounds" -v size="$size" 'BEGIN {
    printf "image %d bytes, %d rounds, medians:\n", size, n
    printf "full write: dfu-util %.2f s, station (verifying) %.2f s, ratio %.3f\n", fd, fs, fs / fd
    printf "re-flash:   dfu-util %.2f s, station (skips)     %.2f s, ratio %.3f\n", rd, rs, rs / rd }'
if [ "$devices" -gt 1 ]; then
    # Fresh content for both runs, so every device gets a full write: one device alone, then
    # all N at once through one station process (as the station agent drives its slots).
    $st lab image --size "$size" --seed 3 --out /tmp/c.bin > /dev/null
    $st lab image --size "$size" --seed 4 --out /tmp/d.bin > /dev/null
    one=$(timeit station_flash 1-1 /tmp/c.bin)
    ports=""
    for i in $(seq 1 "$devices"); do ports="$ports --port 1-$i"; done
    all=$(timeit $st flash $ports --stay-in-dfu /tmp/d.bin)
    [ "$(grep -c 'read back and verified' /tmp/bench-cmd.log)" -eq "$devices" ] || { cat /tmp/bench-cmd.log; echo "bench: not every device was written and verified" >&2; exit 1; }
    awk -v all="$all" -v one="$one" -v n="$devices" 'BEGIN { printf "%d devices at once: %.2f s, one device %.2f s, ratio %.3f\n", n, all, one, all / one }'
fi
