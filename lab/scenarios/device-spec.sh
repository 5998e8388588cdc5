# about: a device spec file (lab/specs/mixed-modes.toml): identities, modes and preloaded Device OS as described; a 14400-baud open re-enumerates a normal-mode device in DFU mode
# spec: lab/specs/mixed-modes.toml
set -e
station devices
station devices --json > /tmp/devices.json
python3 - <<'PY'
import json
devices = {d["port"].split("-", 1)[1]: d for d in json.load(open("/tmp/devices.json"))}
assert len(devices) == 3, devices
want = {"1": ("boron", "normal", "e00fce68aa11bb22cc33dd44"), "2": ("bsom", "dfu", "e00fce68aa11bb22cc33dd55"),
        "3": ("electron", "normal", "e00fce68ae40e8a1f5b40003")}
for port, (platform, mode, device_id) in want.items():
    d = devices[port]
    assert (d["platform"], d["mode"], d["deviceID"]) == (platform, mode, device_id), d
    print("ok", port, platform, mode, device_id)
PY
# The B-SoM holds Device OS 5.9.0: an application needing 5.9.0 is planned and written; one
# needing 6.2.0 is refused before anything is written (exit 65).
station lab image --platform bsom --size 8192 --requires-device-os 5.9.0 --out /tmp/app-590.bin
station lab image --platform bsom --size 8192 --requires-device-os 6.2.0 --out /tmp/app-620.bin
station flash --port 1-2 --stay-in-dfu /tmp/app-590.bin | tee /tmp/flash-590.txt
grep -q "read back and verified" /tmp/flash-590.txt
status=0; station flash --port 1-2 --stay-in-dfu /tmp/app-620.bin > /tmp/flash-620.txt 2>&1 || status=$?
cat /tmp/flash-620.txt
[ "$status" -eq 65 ] && grep -q "PLAN-DEPENDENCY" /tmp/flash-620.txt
# 14400 baud on the Boron's serial port asks its firmware for DFU mode: it leaves the bus and
# comes back as a DFU device with the same ID.
tty=""
for i in $(seq 1 50); do
    tty=$(station devices --json | python3 -c 'import json,sys; print(next((d.get("tty") or "" for d in json.load(sys.stdin) if d["deviceID"] == "e00fce68aa11bb22cc33dd44"), ""))')
    [ -n "$tty" ] && break; sleep 0.2
done
echo "boron tty: $tty"
[ -n "$tty" ]
# 14400 is not a standard termios speed (stty refuses it): set it with termios2 and BOTHER,
# as particle-cli's serial library does.
python3 - "$tty" <<'PY'
import fcntl, os, struct, sys
TCGETS2, TCSETS2, CBAUD, BOTHER = 0x802C542A, 0x402C542B, 0o010017, 0o010000
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
t = bytearray(44)
fcntl.ioctl(fd, TCGETS2, t)
iflag, oflag, cflag, lflag = struct.unpack_from("4I", t)
struct.pack_into("4I", t, 0, iflag, oflag, (cflag & ~CBAUD) | BOTHER, lflag)
struct.pack_into("2I", t, 36, 14400, 14400)
fcntl.ioctl(fd, TCSETS2, t)
os.close(fd)
print("set 14400 baud on", sys.argv[1])
PY
for i in $(seq 1 50); do
    [ "$(station devices | grep e00fce68aa11bb22cc33dd44 | grep -c ' dfu ')" -eq 1 ] && break
    sleep 0.2
done
station devices
[ "$(station devices | grep e00fce68aa11bb22cc33dd44 | grep -c ' dfu ')" -eq 1 ]
grep "re-enumerating" /tmp/lab-serve.log
