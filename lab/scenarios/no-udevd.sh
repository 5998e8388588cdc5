# about: with udevd not running (no /run/udev/control, as in a container or a minimal image): station doctor names the kernel's uevents as the way arrivals are heard; station watch (bound 4 s) stops a Boron with an active SIM and a 5 s cloud timer, which never connects; station run flashes a second Boron through DFU and back (every re-enumeration heard from the kernel, opened through /dev/bus/usb) and it passes, never connected
# spec: lab/specs/no-udevd.toml
# udevd: no
set -e
[ ! -e /run/udev/control ] || { echo "udevd runs: this scenario needs it stopped"; exit 1; }
station doctor --json > /tmp/doctor.json || true
python3 - <<'PY'
import json
checks = {c["id"]: c for c in json.load(open("/tmp/doctor.json"))["checks"]}
arrivals = checks["usb.arrivals"]
assert arrivals["status"] == "ok" and "kernel's uevents over netlink" in arrivals["summary"], arrivals
assert checks["udev.daemon"]["status"] == "warning", checks["udev.daemon"]
print("doctor:", arrivals["summary"])
PY
station watch --json --for 12 --bound 4 > /tmp/watch.log 2>/tmp/watch.err &
watch_pid=$!
for i in $(seq 1 100); do grep -q '"watching"' /tmp/watch.log && break; sleep 0.1; done
lab_attach 1-1
sleep 9
wait "$watch_pid"
cat /tmp/watch.err /tmp/watch.log
[ "$(grep -c "arrivals are heard from the kernel's uevents" /tmp/watch.err)" -eq 1 ]
python3 - <<'PY'
import json
watch = [json.loads(l) for l in open("/tmp/watch.log") if l.startswith("{")]
arrived = [e for e in watch if e["event"] == "arrived"]
assert len(arrived) == 1 and arrived[0]["action"] == "listening" and arrived[0]["port"] == "1-1", arrived
assert any(e["event"] == "final" and e.get("state") == "listening" for e in watch), watch
PY
# station run without udevd: the whole pipeline, DFU and back.
printf 'product_token = "0123456789abcdef0123456789abcdef01234567"\n' > /tmp/lab-credentials.toml
chmod 600 /tmp/lab-credentials.toml
station lab firmware --platform boron --device-os 6.2.0 --product 4242 --out /tmp/lab-firmware
mkfifo /tmp/scans
station run --config "$STATION_REPO/lab/stations/lab-boron.toml" --plain --no-sync --stop-after 1 < /tmp/scans > /tmp/run.log 2>&1 &
run_pid=$!
exec 3>/tmp/scans
for i in $(seq 1 100); do grep -q "^bench ready" /tmp/run.log && break; sleep 0.2; done
grep -q "^bench ready" /tmp/run.log || { echo "station run did not start:"; cat /tmp/run.log; exit 1; }
lab_attach 1-2
serial=$(sed -n "s/^identity 1-2 serial=\([^ ]*\) .*/\1/p" /tmp/lab-serve.log)
for i in $(seq 1 150); do grep -q "^1-2 .*WAITING FOR SCAN" /tmp/run.log && break; sleep 0.2; done
echo "$serial" >&3
for i in $(seq 1 300); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$run_pid" 2>/dev/null && { echo "station run did not finish"; cat /tmp/run.log; exit 1; }
wait "$run_pid"
exec 3>&-
cat /tmp/run.log
[ "$(grep -c ': PASS$' /tmp/run.log)" -eq 1 ]
sleep 1
grep '^cloud' /tmp/lab-serve.log
python3 - <<'PY'
import re
events = {}
for line in open("/tmp/lab-serve.log"):
    m = re.match(r"cloud (1-\d): ([0-9.e-]+) seconds (.*)$", line.strip())
    if m:
        events.setdefault(m.group(1), []).append((float(m.group(2)), m.group(3)))
for bus in ("1-1", "1-2"):
    items = events[bus]
    arrival = next(t for t, k in items if k == "arrived")
    stopped = next(t for t, k in items if k.startswith("stopped"))
    assert not any(k == "connected" for t, k in items), (bus, items)
    print(f"{bus}: stopped {stopped - arrival:.3f} s after arrival, never connected")
PY
