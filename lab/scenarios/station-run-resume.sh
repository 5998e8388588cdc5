# about: unplug mid-write under station run on the real USB stack: the Boron leaves the bus in the middle of its DFU write, the job is interrupted; plugged back in, the device cannot boot (its system firmware was cut short) and comes back in DFU mode; the station recognises it by device ID, keeps its pairing and identity, flashes it in DFU mode and passes it: one attempt, one record, the identity the device reported before; it never connects
# spec: lab/specs/station-run-resume.toml
# serve: --cloud-port 8080 --cloud-product 4242:boron --cloud-token 0123456789abcdef0123456789abcdef01234567
set -e
printf 'product_token = "0123456789abcdef0123456789abcdef01234567"\n' > /tmp/lab-credentials.toml
chmod 600 /tmp/lab-credentials.toml
station lab firmware --platform boron --device-os 6.2.0 --product 4242 --out /tmp/lab-firmware
mkfifo /tmp/scans
station run --config "$STATION_REPO/lab/stations/lab-boron.toml" --plain --stop-after 1 < /tmp/scans > /tmp/run.log 2>&1 &
run_pid=$!
exec 3>/tmp/scans
# The technician plugs the device in once the station runs.
for i in $(seq 1 100); do grep -q "^bench ready" /tmp/run.log && break; sleep 0.2; done
grep -q "^bench ready" /tmp/run.log || { echo "station run did not start:"; cat /tmp/run.log; exit 1; }
lab_attach 1-1
serial=$(sed -n "s/^identity 1-1 serial=\([^ ]*\) .*/\1/p" /tmp/lab-serve.log)
iccid=$(sed -n "s/^identity 1-1 serial=[^ ]* iccid=\([^ ]*\) .*/\1/p" /tmp/lab-serve.log)
for i in $(seq 1 150); do grep -q "WAITING FOR SCAN" /tmp/run.log && break; sleep 0.2; done
echo "$serial" >&3
# The write is cut short: the job waits, interrupted, for the same device.
for i in $(seq 1 300); do grep -q ": interrupted" /tmp/run.log && break; sleep 0.2; done
grep -q ": interrupted" /tmp/run.log || { echo "the job was not interrupted"; cat /tmp/run.log; exit 1; }
sleep 1
lab_attach 1-1
for i in $(seq 1 600); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$run_pid" 2>/dev/null && { echo "station run did not finish"; cat /tmp/run.log; exit 1; }
wait "$run_pid"
exec 3>&-
cat /tmp/run.log
grep -q "is back; resuming" /tmp/run.log
grep -q ': PASS$' /tmp/run.log
grep '^cloud\|^re-enumerating\|^boot 1-1: [A-Z]*[a-z ]*$' /tmp/lab-serve.log | grep -v request || true
# Plugged back in, it came back in DFU mode: its firmware could not start.
grep -q "^boot 1-1: NOT bootable" /tmp/lab-serve.log
station report --store /tmp/lab-run/station.sqlite --format json > /tmp/report.json
SERIAL="$serial" ICCID="$iccid" python3 - <<'PY'
import json, os
report = json.load(open("/tmp/report.json"))
assert report["devices"] == 1 and report["attempts"] == 1 and report["passed"] == 1, report
record = report["records"][0]
# One attempt from plug-in to PASS, with the identity it reported before the unplug.
assert record["attempt"] == 1 and record["scan"] == os.environ["SERIAL"], record
assert record["serialNumber"] == os.environ["SERIAL"] and record["iccid"] == os.environ["ICCID"], record
assert any(m["function"] == "systemPart" and m["version"] == 6200 and m["valid"] for m in record["modulesAfter"]), record["modulesAfter"]
print("resumed after the unplug, flashed in DFU mode, passed on its first attempt:", record["deviceID"])
PY
! grep -q '^cloud .*connected' /tmp/lab-serve.log
