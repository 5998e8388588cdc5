# about: station run with the lab's keyboard-wedge barcode scanner (USB HID boot keyboard 1209:0002 over USB/IP, through the kernel's usbhid and evdev, grabbed so no key reaches the console): the typed sticker pairs the Boron, which passes and never connects
# spec: lab/specs/station-run-keyboard-scanner.toml
set -e
station lab firmware --platform boron --device-os 6.2.0 --product 4242 --out /tmp/lab-firmware
lsusb -d 1209:0002
for i in $(seq 1 50); do ls /dev/input/event* >/dev/null 2>&1 && break; sleep 0.2; done
station run --config "$STATION_REPO/lab/stations/lab-boron-keyboard-scanner.toml" --plain --stop-after 1 --no-sync < /dev/null > /tmp/run.log 2>&1 &
run_pid=$!
for i in $(seq 1 100); do grep -q "^bench ready" /tmp/run.log && break; sleep 0.2; done
grep -q "^bench ready" /tmp/run.log || { echo "station run did not start:"; cat /tmp/run.log; exit 1; }
lab_attach 1-1
serial=$(sed -n "s/^identity 1-1 serial=\([^ ]*\) .*/\1/p" /tmp/lab-serve.log)
for i in $(seq 1 150); do grep -q "^1-[0-9] boron .*WAITING FOR SCAN" /tmp/run.log && break; sleep 0.2; done
grep "^scanner: /dev/input/event.* (grabbed)" /tmp/run.log
echo "$serial" > /tmp/sticker-1-1
echo "$serial" > /tmp/lab-scan-keyboard
lab_wait_rescanning "$run_pid" 300 1-1
kill -0 "$run_pid" 2>/dev/null && { echo "station run did not finish"; cat /tmp/run.log; exit 1; }
wait "$run_pid"
cat /tmp/run.log
grep -q "^scanned $serial" /tmp/lab-serve.log
grep -q "^1-[0-9] boron .* $serial: PASS$" /tmp/run.log
station report --store /tmp/lab-run-keyboard/station.sqlite --format json | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["passed"] == 1 and r["records"][0]["scan"] == r["records"][0]["serialNumber"], r
print("paired by the keyboard scanner through evdev:", r["records"][0]["scan"])'
sleep 1
! grep -q '^cloud .*connected' /tmp/lab-serve.log
