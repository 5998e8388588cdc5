# about: real sticker contents through the keyboard-wedge scanner (HID over USB/IP, usbhid, evdev): two Borons scanned with their whole Gen 3 Data Matrix (serial number, space, mobile secret; one with the AIM prefix ]d2) and an Electron with its serial-only Gen 2 sticker all pair and PASS; the mobile secret never reaches the screen, the event log or the report; a world-readable credentials file pauses the imports with one banner while the bench provisions; no device connects
# spec: lab/specs/real-stickers.toml
set -e
# Credentials readable by others: the station refuses them, once, and provisions anyway.
printf 'product_token = "0123456789abcdef0123456789abcdef01234567"\n' > /tmp/lab-credentials.toml
chmod 644 /tmp/lab-credentials.toml
station lab firmware --platform boron --device-os 6.2.0 --product 4242 --out /tmp/fw-boron
station lab firmware --platform electron --device-os 2.3.1 --product 4244 --out /tmp/fw-electron
for i in $(seq 1 50); do ls /dev/input/event* >/dev/null 2>&1 && break; sleep 0.2; done
station run --config "$STATION_REPO/lab/stations/lab-real-stickers.toml" --plain --stop-after 3 < /dev/null > /tmp/run.log 2>&1 &
run_pid=$!
for i in $(seq 1 100); do grep -q "^bench ready" /tmp/run.log && break; sleep 0.2; done
grep "^bench ready" /tmp/run.log || { echo "station run did not start:"; cat /tmp/run.log; exit 1; }
for bus in 1-1 1-2 1-3; do lab_attach "$bus"; done
: > /tmp/secrets
for bus in 1-1 1-2 1-3; do
    id=$(sed -n "s/^serving $bus [a-z0-9]* normal \([0-9a-f]*\).*/\1/p" /tmp/lab-serve.log)
    serial=$(sed -n "s/^identity $bus serial=\([^ ]*\) .*/\1/p" /tmp/lab-serve.log)
    for i in $(seq 1 200); do grep -q " $id .*WAITING FOR SCAN" /tmp/run.log && break; sleep 0.2; done
    # The mobile secret: 15 letters and digits printed beside the serial number (the device
    # does not report it; the sticker is all the station has).
    secret=$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Z0-9' | head -c 15)
    case "$bus" in
        1-1) sticker="$serial $secret" ;;
        1-2) sticker="]d2$serial $secret" ;;
        1-3) sticker="$serial" ;;
    esac
    [ "$bus" = 1-3 ] || echo "$secret" >> /tmp/secrets
    echo "$sticker" > "/tmp/sticker-$bus"
    echo "$sticker" > /tmp/lab-scan-keyboard
done
lab_wait_rescanning "$run_pid" 600 1-1 1-2 1-3
kill -0 "$run_pid" 2>/dev/null && { echo "station run did not finish"; cat /tmp/run.log; exit 1; }
wait "$run_pid"
cat /tmp/run.log
[ "$(grep -c ': PASS$' /tmp/run.log)" -eq 3 ]
[ "$(grep -c '^! imports paused: .*chmod 600' /tmp/run.log)" -eq 1 ]
! grep -q "FAIL \[CREDENTIALS\]" /tmp/run.log
# The three passed devices wait in the import queue.
station queue status --config "$STATION_REPO/lab/stations/lab-real-stickers.toml" | tee /tmp/queue.txt
grep -q "^pending: 3 " /tmp/queue.txt
! grep -q "PAIR-MISMATCH" /tmp/run.log
station report --store /tmp/lab-run-stickers/station.sqlite --format json > /tmp/report.json
station report --store /tmp/lab-run-stickers/station.sqlite --events --format json > /tmp/events.jsonl
# The mobile secret is kept in the station's store, never on the screen, in the event log
# or in a report (only `--include-secrets` exports it).
while read -r secret; do
    ! grep -q "$secret" /tmp/run.log
    ! grep -q "$secret" /tmp/events.jsonl
    ! grep -q "$secret" /tmp/report.json
    station report --store /tmp/lab-run-stickers/station.sqlite --format json --include-secrets | grep -q "$secret"
done < /tmp/secrets
python3 - <<'PY'
import json
report = json.load(open("/tmp/report.json"))
assert report["devices"] == 3 and report["passed"] == 3, {k: report[k] for k in ("devices", "passed", "failed", "failuresByCode")}
for record in report["records"]:
    assert record["scan"] == record["serialNumber"], record
    assert "mobileSecret" not in record, record
print("paired by whole sticker contents:", {r["platform"] + " " + r["deviceID"][-6:]: r["scan"] for r in report["records"]})
PY
sleep 1
! grep -q '^cloud .*connected' /tmp/lab-serve.log
