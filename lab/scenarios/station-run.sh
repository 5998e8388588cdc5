# about: station run on the real USB stack: two Borons arriving in normal mode are guarded, identified over libusb, paired with keyboard-wedge scans (a FIFO as the terminal), flashed (request 50, DFU, leave, re-enumerate), verified, left listening, recorded and imported into the fake cloud (its product holds exactly the passed devices); neither ever connects
# spec: lab/specs/station-run.toml
# serve: --cloud-port 8080 --cloud-product 4242:boron --cloud-token 0123456789abcdef0123456789abcdef01234567
set -e
printf 'product_token = "0123456789abcdef0123456789abcdef01234567"\n' > /tmp/lab-credentials.toml
chmod 600 /tmp/lab-credentials.toml
station lab firmware --platform boron --device-os 6.2.0 --product 4242 --out /tmp/lab-firmware
mkfifo /tmp/scans
station run --config "$STATION_REPO/lab/stations/lab-boron.toml" --plain --stop-after 2 < /tmp/scans > /tmp/run.log 2>&1 &
run_pid=$!
exec 3>/tmp/scans
# The technician plugs the devices in once the station runs (plugged in before, a device's
# cloud timer could run out while a slow machine is still starting the station).
for i in $(seq 1 100); do grep -q "^bench ready" /tmp/run.log && break; sleep 0.2; done
grep -q "^bench ready" /tmp/run.log || { echo "station run did not start:"; cat /tmp/run.log; exit 1; }
lab_attach 1-1
lab_attach 1-2
# The technician scans each sticker once the station asks for it.
for bus in 1-1 1-2; do
    serial=$(sed -n "s/^identity $bus serial=\([^ ]*\) .*/\1/p" /tmp/lab-serve.log)
    for i in $(seq 1 150); do grep -q "^$bus .*WAITING FOR SCAN" /tmp/run.log && break; sleep 0.2; done
    echo "$serial" >&3
done
for i in $(seq 1 300); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$run_pid" 2>/dev/null && { echo "station run did not finish"; cat /tmp/run.log; exit 1; }
wait "$run_pid"
exec 3>&-
cat /tmp/run.log
[ "$(grep -c ': PASS$' /tmp/run.log)" -eq 2 ]
# Whatever the background sync did not send yet goes now.
station queue sync --config "$STATION_REPO/lab/stations/lab-boron.toml"
sleep 1
station report --store /tmp/lab-run/station.sqlite --format json > /tmp/report.json
python3 - <<'PY'
import json, re
report = json.load(open("/tmp/report.json"))
assert report["devices"] == 2 and report["passed"] == 2 and report["failed"] == 0, report
served = {}
for line in open("/tmp/lab-serve.log"):
    m = re.match(r"serving (1-\d) boron normal (\w+)", line)
    if m: served[m.group(1)] = m.group(2)
    m = re.match(r"identity (1-\d) serial=(\S+) iccid=(\S+)", line)
    if m: served[m.group(1) + "/serial"], served[m.group(1) + "/iccid"] = m.group(2), m.group(3)
for record in report["records"]:
    bus = next(b for b in ("1-1", "1-2") if served[b] == record["deviceID"])
    assert record["serialNumber"] == served[bus + "/serial"] == record["scan"], record
    assert record["iccid"] == served[bus + "/iccid"], record
    assert any(m["function"] == "systemPart" and m["version"] == 6200 and m["valid"] for m in record["modulesAfter"]), record["modulesAfter"]
    assert record["importOutcome"] == "done", record
# The store's records and the fake cloud agree: exactly the passed devices are in the product.
cloud = json.load(open("/tmp/lab-cloud.json"))
passed = sorted(r["deviceID"] for r in report["records"] if r["passed"])
assert cloud["members"]["4242"] == passed, (cloud, passed)
print("both Borons passed; records carry the emulator's identities; the fake cloud's product holds exactly them:", passed)
PY
sleep 1
grep '^cloud' /tmp/lab-serve.log
! grep -q '^cloud .*connected' /tmp/lab-serve.log
