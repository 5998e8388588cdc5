# about: with station watch running (bound 4 s, under the 5 s cloud timer), a Boron with an active SIM and a 5 s cloud timer is plugged in: the emulator logs it stopped and never connected (the latency is printed, not asserted: a loaded machine is slow); the same kind of device plugged in with no station running connects
# spec: lab/specs/watch-guard.toml
set -e
station watch --json --for 12 --bound 4 > /tmp/watch.log 2>&1 &
watch_pid=$!
for i in $(seq 1 100); do grep -q '"watching"' /tmp/watch.log && break; sleep 0.1; done
lab_attach 1-1
# Past the 5 s timer while the watch holds it.
sleep 9
wait "$watch_pid"
cat /tmp/watch.log
# With no station running, the twin is plugged in and left alone.
lab_attach 1-2
for i in $(seq 1 100); do grep -q '^cloud 1-2: .*connected' /tmp/lab-serve.log && break; sleep 0.2; done
grep '^cloud' /tmp/lab-serve.log
python3 - <<'PY'
import json, re
watch = [json.loads(l) for l in open("/tmp/watch.log") if l.startswith("{")]
arrived = [e for e in watch if e["event"] == "arrived"]
assert len(arrived) == 1 and arrived[0]["action"] == "listening" and arrived[0]["withinBound"], arrived
assert any(e["event"] == "final" and e.get("state") == "listening" for e in watch), watch
def seconds(text):
    # Swift Duration prints like "0.412938 seconds"
    return float(re.match(r"([0-9.e-]+) seconds", text).group(1))
events = {}
for line in open("/tmp/lab-serve.log"):
    m = re.match(r"cloud (1-\d): (.+ seconds) (.*)$", line.strip())
    if m:
        events.setdefault(m.group(1), []).append((seconds(m.group(2)), m.group(3)))
one = events["1-1"]
arrival = next(t for t, k in one if k == "arrived")
stopped = next(t for t, k in one if k.startswith("stopped"))
assert not any(k == "connected" for t, k in one), one
assert stopped < arrival + 5, ("stopped after its cloud timer would have run", arrival, stopped)
assert any(k == "connected" for t, k in events["1-2"]), events["1-2"]
print(f"guarded 1-1: stopped {stopped - arrival:.3f} s after arrival, never connected; unguarded 1-2 connected")
PY
