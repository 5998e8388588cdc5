# about: unplug mid-write, STALL and a timeout through libusb and the kernel: the specific error, then a successful re-flash after re-attach
# devices: boron:dfu:unplug@20 boron:dfu:stall@6 boron:dfu:hang@4
set -e
m="$STATION_SHARED/fixtures/modules"
set -- "$m/boron-softdevice@4.1.0.bin" "$m/boron-system-part1@4.1.0.bin" "$m/tinker-0.8.0-rc.27-boron.bin"
expect_fail() { # PORT CODE-FRAGMENT
    port=$1 code=$2; shift 2
    if station flash --port "$port" --stay-in-dfu "$@" > /tmp/out.txt 2>&1; then cat /tmp/out.txt; echo "flash on $port succeeded despite the fault"; exit 1; fi
    cat /tmp/out.txt | tail -n 3
    grep -q "FAIL \\[DFU-.*$code" /tmp/out.txt || { echo "expected $code"; exit 1; }
}
expect_fail 1-1 NO-DEVICE "$@"
# The unplugged device is gone from the bus until it is attached again.
sleep 2
lab_attach 1-1
station flash --port "$(station devices --json | python3 -c 'import json,sys; print([d["port"] for d in json.load(sys.stdin) if d["deviceID"].endswith("0001")][0])')" "$@" | tail -n 2
expect_fail 1-2 STALL "$@"
station flash --port 1-2 "$@" | tail -n 2
expect_fail 1-3 TIMEOUT "$@"
sleep 5
station flash --port 1-3 "$@" | tail -n 2
# Each device boots (and the emulator logs it) a moment after it leaves DFU mode.
for i in $(seq 1 50); do [ "$(grep -c '^boot 1-[123]: bootable' /tmp/lab-serve.log)" -ge 3 ] && break; sleep 0.2; done
grep '^boot 1-[123]: ' /tmp/lab-serve.log | grep -v '  '
[ "$(grep -c '^boot 1-[123]: bootable' /tmp/lab-serve.log)" -eq 3 ]
