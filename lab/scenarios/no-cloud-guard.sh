# about: station identify reads a normal-mode device's identity over control requests through libusb (random identities agree with the emulator's) and puts it in listening mode, which keeps it off the cloud; the unguarded device connects
# spec: lab/specs/no-cloud-guard.toml
set -e
station identify --port 1-1 --json --record /tmp/identify.json > /tmp/id.json
cat /tmp/id.json
grep -q '"bRequest"' /tmp/identify.json
grep '^identity 1-1' /tmp/lab-serve.log
python3 - <<'PY'
import json, re
got = json.load(open("/tmp/id.json"))
assert len(got) == 1, got
got = got[0]
line = next(l for l in open("/tmp/lab-serve.log") if l.startswith("identity 1-1 "))
want = dict(kv.split("=", 1) for kv in line.split()[2:])
assert got["deviceID"] == "e00fce68ae40e8a1f5b40001", got
assert (got["serialNumber"], got["iccid"], got["imei"], got["deviceOSVersion"]) == (want["serial"], want["iccid"], want["imei"], want["os"]), (got, want)
assert got["mode"] == "listening", got
mods = {(m["moduleFunction"], m["moduleIndex"], m["moduleVersion"], m["valid"]) for m in got["modules"]}
assert (4, 1, 6200, True) in mods and (2, 0, 3100, True) in mods, mods
print("identity ok:", got["deviceID"], got["serialNumber"], got["iccid"], got["imei"])
PY
# Past the 12 s connect delay: the guarded device was stopped and never connected; the
# other one connected.
for i in $(seq 1 100); do grep -q '^cloud 1-2: .*connected' /tmp/lab-serve.log && break; sleep 0.2; done
sleep 1
grep '^cloud' /tmp/lab-serve.log
grep -q '^cloud 1-1: .*stopped("listening mode")' /tmp/lab-serve.log
! grep -q '^cloud 1-1: .*connected' /tmp/lab-serve.log
grep -q '^cloud 1-2: .*connected' /tmp/lab-serve.log
