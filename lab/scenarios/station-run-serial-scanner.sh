# about: station run with the lab's USB-serial barcode scanner (CDC ACM 1209:0001 over USB/IP, read through the kernel's tty with termios): the sticker scanned on it pairs the Boron, which passes and never connects
# spec: lab/specs/station-run-scanner.toml
set -e
station lab firmware --platform boron --device-os 6.2.0 --product 4242 --out /tmp/lab-firmware
lsusb -d 1209:0001
station run --config "$STATION_REPO/lab/stations/lab-boron-serial-scanner.toml" --plain --stop-after 1 --no-sync < /dev/null > /tmp/run.log 2>&1 &
run_pid=$!
for i in $(seq 1 100); do grep -q "^bench ready" /tmp/run.log && break; sleep 0.2; done
grep -q "^bench ready" /tmp/run.log || { echo "station run did not start:"; cat /tmp/run.log; exit 1; }
lab_attach 1-1
serial=$(sed -n "s/^identity 1-1 serial=\([^ ]*\) .*/\1/p" /tmp/lab-serve.log)
for i in $(seq 1 150); do grep -q "^1-[0-9] boron .*WAITING FOR SCAN" /tmp/run.log && break; sleep 0.2; done
grep -q "^scanner: /dev/ttyACM" /tmp/run.log
echo "$serial" > /tmp/lab-scan
for i in $(seq 1 300); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$run_pid" 2>/dev/null && { echo "station run did not finish"; cat /tmp/run.log; exit 1; }
wait "$run_pid"
cat /tmp/run.log
grep -q "^scanned $serial" /tmp/lab-serve.log
grep -q "^1-[0-9] boron .* $serial: PASS$" /tmp/run.log
station report --store /tmp/lab-run-scanner/station.sqlite --format json | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["passed"] == 1 and r["records"][0]["scan"] == r["records"][0]["serialNumber"], r
print("paired by the serial scanner:", r["records"][0]["scan"])'
sleep 1
! grep -q '^cloud .*connected' /tmp/lab-serve.log
