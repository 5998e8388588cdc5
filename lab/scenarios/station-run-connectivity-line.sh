# about: a connectivity line on the real USB stack: station run stops the arriving Tracker like any other, flashes it, leaves it in DFU, then (its connectivity test) activates its SIM under the test account through the import queue, lets it connect, sees it online by claiming it with the test account, and puts it back in DFU mode; it connects only inside that step
# spec: lab/specs/station-run-connectivity.toml
# serve: --cloud-port 8080 --cloud-product 4245:tracker --cloud-token 0123456789abcdef0123456789abcdef01234567 --cloud-test-token fedcba9876543210fedcba9876543210fedcba98
set -e
printf 'product_token = "0123456789abcdef0123456789abcdef01234567"\ntest_account_token = "fedcba9876543210fedcba9876543210fedcba98"\n' > /tmp/lab-credentials.toml
chmod 600 /tmp/lab-credentials.toml
station lab firmware --platform tracker --device-os 6.2.0 --product 4245 --out /tmp/fw-tracker
mkfifo /tmp/scans
station run --config "$STATION_REPO/lab/stations/lab-tracker-connectivity.toml" --plain --stop-after 1 < /tmp/scans > /tmp/run.log 2>&1 &
run_pid=$!
exec 3>/tmp/scans
# The technician plugs the device in once the station runs.
for i in $(seq 1 100); do grep -q "^bench ready" /tmp/run.log && break; sleep 0.2; done
grep -q "^bench ready" /tmp/run.log || { echo "station run did not start:"; cat /tmp/run.log; exit 1; }
lab_attach 1-1
serial=$(sed -n "s/^identity 1-1 serial=\([^ ]*\) .*/\1/p" /tmp/lab-serve.log)
for i in $(seq 1 150); do grep -q "^1-1 .*WAITING FOR SCAN" /tmp/run.log && break; sleep 0.2; done
echo "$serial" >&3
for i in $(seq 1 600); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$run_pid" 2>/dev/null && { echo "station run did not finish"; cat /tmp/run.log; exit 1; }
wait "$run_pid"
exec 3>&-
cat /tmp/run.log
grep -q ': PASS$' /tmp/run.log
sleep 1
grep '^cloud\|^re-enumerating' /tmp/lab-serve.log
station report --store /tmp/lab-run-e2e/station.sqlite --format json > /tmp/report.json
python3 - <<'PY'
import json, re
report = json.load(open("/tmp/report.json"))
assert report["devices"] == 1 and report["passed"] == 1, report
record = report["records"][0]
device, iccid = record["deviceID"], record["iccid"]
cloud = json.load(open("/tmp/lab-cloud.json"))
# The test account activated the SIM and claimed the device, which it can only do online.
assert cloud["sims"].get(iccid) == "active", cloud
assert cloud["owners"].get(device) == "lab-test-account", cloud
assert device in cloud["online"], cloud
# Nothing went into the product: that is the later migration's job.
assert cloud["members"]["4245"] == [], cloud
log = [l.rstrip() for l in open("/tmp/lab-serve.log") if l.startswith(("cloud 1-1", "re-enumerating 1-1"))]
stopped = next(i for i, l in enumerate(log) if "stopped(" in l)
connected = next(i for i, l in enumerate(log) if l.endswith(" connected"))
online = next(i for i, l in enumerate(log) if "online in the fake cloud" in l)
# Stopped on arrival; it connected only later, in its connectivity test (after the flash had
# taken it through DFU mode), and the fake cloud saw it come online.
assert stopped < connected < online, log
assert any("DFU mode" in l for l in log[stopped:connected]), log
# It ends in DFU mode (the Tracker's final state): the last re-enumeration is into DFU.
assert "DFU mode" in [l for l in log if l.startswith("re-enumerating")][-1], log
print("the Tracker passed its connectivity test:", device, "SIM", iccid, "active under the test account, claimed online, back in DFU mode")
PY
