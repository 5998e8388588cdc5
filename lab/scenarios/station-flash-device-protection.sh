# about: Device Protection under station flash on the real USB stack: station identify reads each Boron's state (0xFA sm=p on 6.2.0, every segment b on 6.1.1, sm=s), as dfu-util's own listing of the layouts agrees; both protected units are refused with PLAN-PROTECTED before anything is written; the Service Mode unit is refused by default, refused the open release even with --allow-service-mode (PLAN-PROTECTED-FIRMWARE), and flashed and verified from the protected release with it; nothing ever connects
# spec: lab/specs/device-protection-flash.toml
set -e
station lab firmware --platform boron --device-os 6.2.0 --product 4242 --out /tmp/open
station lab firmware --platform boron --device-os 6.2.0 --product 4242 --device-protection --out /tmp/protected
station identify --json > /tmp/id.json
python3 - <<'PY'
import json
got = {d["port"].split("-", 1)[1]: d for d in json.load(open("/tmp/id.json"))}
want = {"1": "protected", "2": "protected", "3": "service"}
for port, state in want.items():
    assert got[port]["protection"] == state and got[port]["sources"]["protection"] == "dfu", (port, got[port])
    print("ok", port, state)
# A protected unit's modules are not read (it refuses DFU uploads); the Service Mode one's are.
assert got["1"]["modules"] is None and got["2"]["modules"] is None and got["3"]["modules"], got
PY
# dfu-util, reading the same descriptors on its own: every segment of the protected units
# is `b` (not readable, not writable), the Service Mode unit's flash is writable.
dfu-util -l > /tmp/dfu-util.txt 2>&1 || true
cat /tmp/dfu-util.txt
python3 - <<'PY'
import re
layouts = {}
for line in open("/tmp/dfu-util.txt"):
    m = re.search(r'path="([0-9-.]+)", alt=0, name="([^"]*)"', line)
    if m: layouts[m.group(1).split("-", 1)[1]] = m.group(2)
segments = {port: re.findall(r"\d+\*\d+[KMB ]?([a-g])", name) for port, name in layouts.items()}
assert set(segments["1"]) == {"b"} and set(segments["2"]) == {"b"}, segments
assert set(segments["3"]) != {"b"}, segments
print("dfu-util agrees:", {port: "".join(sorted(set(kinds))) for port, kinds in segments.items()})
PY
for port in 1-1 1-2; do
    status=0; station flash --port "$port" --stay-in-dfu /tmp/open/*.bin > "/tmp/flash-$port.txt" 2>&1 || status=$?
    cat "/tmp/flash-$port.txt"
    [ "$status" -eq 65 ]
    grep -q "REFUSED \[PLAN-PROTECTED\]" "/tmp/flash-$port.txt"
    grep -q "online rework bench" "/tmp/flash-$port.txt"
    ! grep -q "^plan:" "/tmp/flash-$port.txt"
done
status=0; station flash --port 1-3 --stay-in-dfu /tmp/protected/*.bin > /tmp/flash-3a.txt 2>&1 || status=$?
cat /tmp/flash-3a.txt
[ "$status" -eq 65 ] && grep -q "REFUSED \[PLAN-PROTECTED\].*allow_service_mode" /tmp/flash-3a.txt
status=0; station flash --port 1-3 --stay-in-dfu --allow-service-mode /tmp/open/*.bin > /tmp/flash-3b.txt 2>&1 || status=$?
cat /tmp/flash-3b.txt
[ "$status" -eq 65 ] && grep -q "REFUSED \[PLAN-PROTECTED-FIRMWARE\].*open bootloader" /tmp/flash-3b.txt
! grep -q "flashed because" /tmp/flash-3b.txt
station flash --port 1-3 --stay-in-dfu --allow-service-mode /tmp/protected/*.bin | tee /tmp/flash-3c.txt
grep -q "Device Protection: Service Mode; flashed because --allow-service-mode is given" /tmp/flash-3c.txt
grep -q "demo-boron-product-4242-v1.bin.*read back and verified" /tmp/flash-3c.txt
sleep 1
! grep -q '^cloud .*connected' /tmp/lab-serve.log
