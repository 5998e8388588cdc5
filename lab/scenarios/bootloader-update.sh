# about: a bootloader update through control requests on an emulated Boron in normal mode (Device OS 3.3.0): 250/253/251, the device resets and applies it, re-enumerates, and module info shows the new bootloader valid with the image's own SHA-256 (the suffix field at N-38, read from the file here); setup-done is set (Gen 3 below 4.0); request 50 then brings it back in DFU mode, where DFU identify finds the bootloader, with the same hash, in flash
# spec: lab/specs/bootloader-update.toml
set -e
station lab image --platform boron --bootloader 3200 --out /tmp/bootloader.bin
station flash --port 1-1 /tmp/bootloader.bin | tee /tmp/flash.log
grep -q 'control request (normal mode)' /tmp/flash.log
grep -q 'verified by module info: bootloader #0 v3200, valid' /tmp/flash.log
grep -q 'setup done set' /tmp/flash.log
grep -q '^update 1-1: applied bootloader' /tmp/lab-serve.log
grep -q '^re-enumerating 1-1 in normal mode after reset' /tmp/lab-serve.log
station identify --port 1-1 --json > /tmp/after.json
python3 - <<'PY'
import json
d = json.load(open("/tmp/after.json"))[0]
image = open("/tmp/bootloader.bin", "rb").read()
field = image[len(image) - 38:len(image) - 6].hex()
boot = [m for m in d["modules"] if m["moduleFunction"] == 2]
assert boot == [{"moduleFunction": 2, "moduleIndex": 0, "moduleVersion": 3200, "sha256": field, "valid": True}], (boot, field)
assert d["sources"]["modules"] == "control-request" and d["mode"] == "listening", d
print("bootloader v3200 valid after the update, per module info, its hash the image's:", field)
PY
# Control request 50: the device re-enumerates in DFU mode; DFU identifies it as far as DFU
# can, and its flash holds the applied bootloader.
station enter-dfu --port 1-1
id=$(python3 -c 'import json; print(json.load(open("/tmp/after.json"))[0]["deviceID"])')
station identify --device "$id" --json > /tmp/dfu.json
python3 - <<'PY'
import json
d = json.load(open("/tmp/dfu.json"))[0]
image = open("/tmp/bootloader.bin", "rb").read()
field = image[len(image) - 38:len(image) - 6].hex()
assert d["mode"] == "dfu" and d["sources"]["modules"] == "dfu" and d["sources"]["deviceID"] == "usb-descriptor", d
assert {"moduleFunction": 2, "moduleIndex": 0, "moduleVersion": 3200, "sha256": field, "valid": True} in d["modules"], (d["modules"], field)
assert d["deviceOSVersion"] == "3.3.0" and d["sources"]["deviceOSVersion"] == "dfu", d
assert d["serialNumber"] is None and d["iccid"] is None and d["imei"] is None, d
assert any("need normal mode" in n for n in d["notes"]), d["notes"]
print("in DFU mode: bootloader v3200 in flash, Device OS 3.3.0 from the system part; serial, ICCID, IMEI null (need normal mode)")
PY
