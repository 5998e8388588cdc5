# about: station flash writes the Boron and Electron fixture sets through libusb, verifies, re-flashes (skipped), leaves DFU; boot validation passes; both re-enumerate in normal mode with a tty
# devices: boron:dfu electron:dfu
set -e
m="$STATION_SHARED/fixtures/modules"
station devices --watch --for 120 > /tmp/watch.log 2>&1 &
watcher=$!
station devices
station flash --port 1-1 --stay-in-dfu --record /tmp/boron.json \
    "$m/boron-softdevice@4.1.0.bin" "$m/boron-system-part1@4.1.0.bin" "$m/tinker-0.8.0-rc.27-boron.bin" | tee /tmp/boron.txt
grep -q "read back and verified" /tmp/boron.txt
grep -q '"bRequest"' /tmp/boron.json
station flash --device e00fce68ae40e8a1f5b40001 \
    "$m/boron-softdevice@4.1.0.bin" "$m/boron-system-part1@4.1.0.bin" "$m/tinker-0.8.0-rc.27-boron.bin" | tee /tmp/boron2.txt
[ "$(grep -c 'byte-identical: skipped' /tmp/boron2.txt)" -eq 3 ]
grep -q "left DFU mode" /tmp/boron2.txt
station flash --port 1-2 "$m/electron-system-part1@2.3.1.bin" "$m/electron-system-part2@2.3.1.bin" \
    "$m/electron-system-part3@2.3.1.bin" "$m/electron_tinker.bin" | tee /tmp/electron.txt
grep -q "left DFU mode" /tmp/electron.txt
sleep 1
grep '^boot' /tmp/lab-serve.log
grep -q '^boot 1-1: bootable' /tmp/lab-serve.log
grep -q '^boot 1-2: bootable' /tmp/lab-serve.log
# Both reset into their firmware and re-enumerate in normal mode: cdc-acm makes a tty each.
for i in $(seq 1 50); do [ "$(station devices | grep -c ' normal ')" -eq 2 ] && break; sleep 0.2; done
station devices
[ "$(station devices | grep -c ' normal ')" -eq 2 ]
for i in $(seq 1 25); do [ -e /dev/ttyACM1 ] && break; sleep 0.2; done
ls -l /dev/ttyACM0 /dev/ttyACM1
# The Udev adapter finds each device's tty by its port path.
station devices --json | python3 -c '
import json, sys
devices = json.load(sys.stdin)
assert sorted(d["tty"] for d in devices) == ["/dev/ttyACM0", "/dev/ttyACM1"], devices
print("ttys:", [(d["port"], d["tty"]) for d in devices])'
# The watcher saw both devices leave DFU and come back in normal mode, with their ttys.
sleep 1
kill $watcher 2>/dev/null || true
cat /tmp/watch.log
grep -q '^left .* 2b04:d00d$' /tmp/watch.log
grep -q '^arrived .* boron normal 2b04:c00d e00fce68ae40e8a1f5b40001$' /tmp/watch.log
grep -q '^arrived .* electron normal 2b04:c00a e00fce68ae40e8a1f5b40002$' /tmp/watch.log
[ "$(grep -c '^tty add /dev/ttyACM[01] ' /tmp/watch.log)" -eq 2 ]
