# about: station identify --json on a Boron (6.1.1, control requests incl. IMEI), an Electron (2.3.1, ICCID and IMEI from the listening-mode console over /dev/ttyACM*) and a Tracker; every value equals the emulator's random one, with its source
# spec: lab/specs/identify.toml
set -e
station identify --json > /tmp/id.json
cat /tmp/id.json
python3 - <<'PY'
import json
got = {d["port"]: d for d in json.load(open("/tmp/id.json"))}
served = {}
for line in open("/tmp/lab-serve.log"):
    parts = line.split()
    if line.startswith("serving "):
        served.setdefault(parts[1], {}).update(platform=parts[2], deviceID=parts[4])
    if line.startswith("identity "):
        served.setdefault(parts[1], {}).update(dict(kv.split("=", 1) for kv in parts[2:]))
assert len(got) == 3, got.keys()
for bus, want in served.items():
    d = got[bus]
    assert d["platform"] == want["platform"] and d["mode"] == "listening", (bus, d)
    assert (d["deviceID"], d["serialNumber"], d["iccid"], d["imei"], d["deviceOSVersion"]) == \
        (want["deviceID"], want["serial"], want["iccid"], want["imei"], want["os"]), (bus, d, want)
    assert all(isinstance(m["moduleFunction"], int) and isinstance(m["valid"], bool) for m in d["modules"]), d["modules"]
    assert any(m["moduleFunction"] == 2 and m["moduleVersion"] > 0 and m["valid"] for m in d["modules"]), d["modules"]
    expected = "console" if want["platform"] == "electron" else "control-request"
    assert d["sources"]["iccid"] == expected and d["sources"]["imei"] == expected, (bus, d["sources"])
    assert d["sources"]["deviceOSVersion"] == "control-request" and d["sources"]["platform"] == "usb-descriptor", d["sources"]
    print("ok", bus, d["platform"], d["deviceID"], d["iccid"], d["imei"], "via", expected)
PY
# The console was read through the kernel's cdc-acm tty with termios.
ls /dev/ttyACM*
# The 14400-baud trigger on the Electron's tty (termios2): it re-enumerates in DFU mode and is
# identified as far as DFU allows.
station enter-dfu --port 1-2 --serial
station identify --device e00fce68ae40e8a1f5b40002 --json > /tmp/dfu.json
python3 - <<'PY'
import json
d = json.load(open("/tmp/dfu.json"))[0]
assert d["platform"] == "electron" and d["mode"] == "dfu" and d["deviceOSVersion"] == "2.3.1", d
assert d["sources"]["modules"] == "dfu" and len(d["modules"]) == 4 and all(m["valid"] for m in d["modules"]), d["modules"]
assert d["iccid"] is None and d["imei"] is None, d
print("electron in DFU mode:", [(m["moduleFunction"], m["moduleIndex"], m["moduleVersion"]) for m in d["modules"]])
PY
