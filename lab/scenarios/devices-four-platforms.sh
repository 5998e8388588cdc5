# about: four emulated devices of different platforms at once; station devices --json lists exactly them
# devices: boron:dfu bsom:dfu electron:dfu tracker:dfu
set -e
station devices
station devices --json --record /tmp/devices-recording.json > /tmp/devices.json
grep -c '"bRequest"' /tmp/devices-recording.json
python3 - <<'PY'
import json
devices = json.load(open("/tmp/devices.json"))
want = {
    "e00fce68ae40e8a1f5b40001": ("boron", 13, 0xD00D, "1-1"),
    "e00fce68ae40e8a1f5b40002": ("bsom", 23, 0xD017, "1-2"),
    "e00fce68ae40e8a1f5b40003": ("electron", 10, 0xD00A, "1-3"),
    "e00fce68ae40e8a1f5b40004": ("tracker", 26, 0xD01A, "1-4"),
}
assert len(devices) == 4, f"expected exactly 4 devices, got {len(devices)}"
for d in devices:
    platform, pid, product, port = want.pop(d["deviceID"])
    assert (d["platform"], d["platformID"], d["usbProductID"], d["usbVendorID"], d["mode"]) == (platform, pid, product, 0x2B04, "dfu"), d
    assert d["port"].endswith(port[2:]) and "-" in d["port"], d
    print("ok", platform, d["port"], d["deviceID"])
assert not want, f"missing: {want}"
PY
