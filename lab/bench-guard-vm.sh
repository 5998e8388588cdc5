# Inside the VM (lab/bench-guard): N plug-ins of the same Boron while `station watch` runs.
set -e
# lab_attach and the rest of the VM helpers.
. "$STATION_REPO/lab/vm-lib.sh"
arrivals="$1"
station watch --json --for $((arrivals * 8 + 20)) --bound 4 > /tmp/watch.log 2>&1 &
watch_pid=$!
for i in $(seq 1 100); do grep -q '"watching"' /tmp/watch.log && break; sleep 0.1; done
for n in $(seq 1 "$arrivals"); do
    lab_attach "1-$n"
    # Long enough for the guard to act (its bound is 4 s, the cloud timer 5 s), then unplugged
    # again so that vhci's few ports last for every arrival.
    sleep 5.5
    port=$(usbip port 2>/dev/null | sed -n 's/^Port \([0-9]*\):.*/\1/p' | head -n 1)
    usbip detach -p "$port" >/dev/null 2>&1
    for i in $(seq 1 50); do [ "$(lsusb -d 2b04: 2>/dev/null | wc -l)" -eq 0 ] && break; sleep 0.1; done
    sleep 0.3
done
kill "$watch_pid" 2>/dev/null || true
wait "$watch_pid" 2>/dev/null || true
if [ -e /run/udev/control ]; then how="udevd running"; else how="udevd not running: kernel uevents"; fi
python3 - "$arrivals" "$how" <<'PY'
import re, sys
wanted, how = int(sys.argv[1]), sys.argv[2]
events = {}
for line in open("/tmp/lab-serve.log"):
    m = re.match(r"cloud (1-\d+): ([0-9.e-]+) seconds (.*)$", line.strip())
    if m:
        events.setdefault(m.group(1), []).append((float(m.group(2)), m.group(3)))
latencies, connected = [], 0
for bus, items in events.items():
    arrival = next((t for t, k in items if k == "arrived"), None)
    stopped = next((t for t, k in items if k.startswith("stopped")), None)
    connected += sum(1 for t, k in items if k == "connected")
    if arrival is not None and stopped is not None:
        latencies.append(stopped - arrival)
latencies.sort()
def pct(p):
    return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))]
if not latencies:
    print("bench-guard: no arrival was stopped", file=sys.stderr)
    sys.exit(1)
print(f"bench-guard: {len(latencies)} of {wanted} arrivals stopped, {connected} connected; "
      f"guard latency (plug-in to listening mode, as the emulator saw it): "
      f"p50 {pct(50) * 1000:.0f} ms, p95 {pct(95) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms ({how})")
sys.exit(0 if connected == 0 else 1)
PY
