# about: the station-agent acceptance run: station run with a Boron, a B5 SoM, an Electron and a Tracker (four products) and both emulated scanners (USB-serial and keyboard-wedge through evdev) on the real USB stack; scans are fed to both scanners; all four PASS, the store's records and the fake cloud's products agree, and no device ever connects
# spec: lab/specs/four-platforms.toml
# serve: --cloud-port 8080 --cloud-product 4242:boron --cloud-product 4243:b5som --cloud-product 4244:electron --cloud-product 4245:tracker --cloud-token 0123456789abcdef0123456789abcdef01234567
set -e
printf 'product_token = "0123456789abcdef0123456789abcdef01234567"\n' > /tmp/lab-credentials.toml
chmod 600 /tmp/lab-credentials.toml
station lab firmware --platform boron --device-os 6.2.0 --product 4242 --out /tmp/fw-boron
station lab firmware --platform b5som --device-os 6.2.0 --product 4243 --out /tmp/fw-b5som
station lab firmware --platform electron --device-os 2.3.1 --product 4244 --out /tmp/fw-electron
station lab firmware --platform tracker --device-os 6.2.0 --product 4245 --out /tmp/fw-tracker
for i in $(seq 1 50); do ls /dev/input/event* >/dev/null 2>&1 && break; sleep 0.2; done
station run --config "$STATION_REPO/lab/stations/lab-four-platforms.toml" --plain --stop-after 4 < /dev/null > /tmp/run.log 2>&1 &
run_pid=$!
for i in $(seq 1 100); do grep -q "^bench ready" /tmp/run.log && break; sleep 0.2; done
grep "^bench ready" /tmp/run.log || { echo "station run did not start:"; cat /tmp/run.log; exit 1; }
# The technician plugs the four devices in while the station runs.
for bus in 1-1 1-2 1-3 1-4; do lab_attach "$bus"; done
# The Boron and the Electron are scanned on the serial scanner, the others on the keyboard one.
for bus in 1-1 1-2 1-3 1-4; do
    id=$(sed -n "s/^serving $bus [a-z0-9]* normal \([0-9a-f]*\).*/\1/p" /tmp/lab-serve.log)
    serial=$(sed -n "s/^identity $bus serial=\([^ ]*\) .*/\1/p" /tmp/lab-serve.log)
    for i in $(seq 1 200); do grep -q " $id .*WAITING FOR SCAN" /tmp/run.log && break; sleep 0.2; done
    echo "$serial" > "/tmp/sticker-$bus"
    case "$bus" in 1-1|1-3) echo "$serial" > /tmp/lab-scan ;; *) echo "$serial" > /tmp/lab-scan-keyboard ;; esac
done
# The keyboard scans (1-2, 1-4) are made again if the station lost keys of one.
lab_wait_rescanning "$run_pid" 600 1-2 1-4
kill -0 "$run_pid" 2>/dev/null && { echo "station run did not finish"; cat /tmp/run.log; exit 1; }
wait "$run_pid"
cat /tmp/run.log
grep -q "^scanner: /dev/ttyACM" /tmp/run.log
grep -q "^scanner: /dev/input/event.* (grabbed)" /tmp/run.log
[ "$(grep -c ': PASS$' /tmp/run.log)" -eq 4 ]
sleep 1
station report --store /tmp/lab-run-four/station.sqlite --format json > /tmp/report.json
python3 - <<'PY'
import json
report = json.load(open("/tmp/report.json"))
assert report["devices"] == 4 and report["passed"] == 4, {k: report[k] for k in ("devices", "passed", "failed", "failuresByCode")}
products = {"boron": "4242", "b5som": "4243", "electron": "4244", "tracker": "4245"}
cloud = json.load(open("/tmp/lab-cloud.json"))
for record in report["records"]:
    assert record["scan"] == record["serialNumber"], record
    assert record["importOutcome"] == "done", record
    assert cloud["members"][products[record["platform"]]] == [record["deviceID"]], (record["platform"], cloud)
print("four platforms passed; each device is in exactly its product:", {r["platform"]: r["deviceID"] for r in report["records"]})
PY
grep '^cloud' /tmp/lab-serve.log | grep -v request
! grep -q '^cloud .*connected' /tmp/lab-serve.log
