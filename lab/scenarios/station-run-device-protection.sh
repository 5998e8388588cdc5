# about: Device Protection under station run on the real USB stack: a protected Boron in DFU mode (sm=p) and a Boron in Service Mode arriving in normal mode (active SIM) are both refused with PLAN-PROTECTED before anything is written, the screen's lines giving the rework action; the report counts them as protected, not failed; on a second line with allow_service_mode and the protected product's release the Service Mode unit is flashed and passes, its record saying so, while the protected one is refused again; neither ever connects
# spec: lab/specs/device-protection.toml
# serve: --cloud-port 8080 --cloud-product 4242:boron --cloud-token 0123456789abcdef0123456789abcdef01234567
set -e
printf 'product_token = "0123456789abcdef0123456789abcdef01234567"\n' > /tmp/lab-credentials.toml
chmod 600 /tmp/lab-credentials.toml
station lab firmware --platform boron --device-os 6.2.0 --product 4242 --out /tmp/lab-firmware
station lab firmware --platform boron --device-os 6.2.0 --product 4242 --version 2 --device-protection --out /tmp/lab-firmware-protected
station manifest verify /tmp/lab-firmware-protected | tee /tmp/verify.txt
grep -q "Device Protection: on" /tmp/verify.txt
grep -q "protected variant (SECURITY_MODE)" /tmp/verify.txt
protected_id=$(sed -n "s/^serving 1-1 boron dfu \([0-9a-f]*\).*protection=protected/\1/p" /tmp/lab-serve.log)
service_id=$(sed -n "s/^serving 1-2 boron normal \([0-9a-f]*\).*protection=service/\1/p" /tmp/lab-serve.log)
[ -n "$protected_id" ] && [ -n "$service_id" ] || { cat /tmp/lab-serve.log; echo "the spec's units are not served as expected"; exit 1; }

# The line that does not flash Service Mode units (lab-boron.toml: the open product).
station run --config "$STATION_REPO/lab/stations/lab-boron.toml" --plain --stop-after 2 < /dev/null > /tmp/run.log 2>&1 &
run_pid=$!
for i in $(seq 1 100); do grep -q "^bench ready" /tmp/run.log && break; sleep 0.2; done
grep -q "^bench ready" /tmp/run.log || { echo "station run did not start:"; cat /tmp/run.log; exit 1; }
lab_attach 1-1
lab_attach 1-2
for i in $(seq 1 300); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$run_pid" 2>/dev/null && { echo "station run did not finish"; cat /tmp/run.log; exit 1; }
wait "$run_pid"
cat /tmp/run.log
# Each refused with PLAN-PROTECTED, the reason and the rework action on its line.
grep "$protected_id" /tmp/run.log | grep "FAIL \[PLAN-PROTECTED\]" | grep "online rework bench" | grep -q "(next: route to online rework)$"
grep "$service_id" /tmp/run.log | grep "FAIL \[PLAN-PROTECTED\]" | grep "allow_service_mode" | grep -q "(next: route to online rework)$"
! grep -q "WAITING FOR SCAN" /tmp/run.log
grep -q "done: 0 passed, 0 failed, 2 protected (to the online rework bench)" /tmp/run.log
station report --store /tmp/lab-run/station.sqlite --format json > /tmp/report1.json
PROTECTED="$protected_id" SERVICE="$service_id" python3 - <<'PY'
import json, os
report = json.load(open("/tmp/report1.json"))
assert report["devices"] == 2 and report["protected"] == 2 and report["failed"] == 0 and report["passed"] == 0, report
assert report["failuresByCode"] == {}, report["failuresByCode"]
states = {r["deviceID"]: (r["failureCode"], r["protection"], r["written"]) for r in report["records"]}
assert states == {os.environ["PROTECTED"]: ("PLAN-PROTECTED", "protected", []), os.environ["SERVICE"]: ("PLAN-PROTECTED", "service", [])}, states
print("both refused before anything was written, counted as protected:", states)
PY

# The rework line flashes Service Mode units, from the protected product's release. Both
# units are still plugged in: the station sees them at start.
mkfifo /tmp/scans
station run --config "$STATION_REPO/lab/stations/lab-boron-service-mode.toml" --plain --stop-after 2 < /tmp/scans > /tmp/run2.log 2>&1 &
run_pid=$!
exec 3>/tmp/scans
serial=$(sed -n "s/^identity 1-2 serial=\([^ ]*\) .*/\1/p" /tmp/lab-serve.log)
for i in $(seq 1 200); do grep -q "$service_id.*WAITING FOR SCAN" /tmp/run2.log && break; sleep 0.2; done
grep -q "$service_id.*WAITING FOR SCAN" /tmp/run2.log || { echo "the Service Mode unit was not taken:"; cat /tmp/run2.log; exit 1; }
echo "$serial" >&3
for i in $(seq 1 450); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$run_pid" 2>/dev/null && { echo "station run did not finish"; cat /tmp/run2.log; exit 1; }
wait "$run_pid"
exec 3>&-
cat /tmp/run2.log
grep "$service_id" /tmp/run2.log | grep -q ": PASS$"
grep "$protected_id" /tmp/run2.log | grep -q "FAIL \[PLAN-PROTECTED\]"
grep -q "done: 1 passed, 0 failed, 1 protected" /tmp/run2.log
station queue sync --config "$STATION_REPO/lab/stations/lab-boron-service-mode.toml"
sleep 1
station report --store /tmp/lab-run/station.sqlite --store /tmp/lab-run-service/station.sqlite --format json > /tmp/report.json
PROTECTED="$protected_id" SERVICE="$service_id" python3 - <<'PY'
import json, os
report = json.load(open("/tmp/report.json"))
# Across both lines: the Service Mode unit passed in the end, the protected one is counted
# apart; no failure of either bench.
assert report["devices"] == 2 and report["passed"] == 1 and report["protected"] == 1 and report["failed"] == 0, report
passed = [r for r in report["records"] if r["passed"]]
assert [r["deviceID"] for r in passed] == [os.environ["SERVICE"]], passed
record = passed[0]
assert record["protection"] == "service" and record["stationID"] == "lab-rework-bench", record
assert any(m["function"] == "systemPart" and m["version"] == 6200 and m["valid"] for m in record["modulesAfter"]), record["modulesAfter"]
assert any(w["file"].startswith("demo-boron-product-4242-v2") and w["action"] == "written" for w in record["written"]), record["written"]
cloud = json.load(open("/tmp/lab-cloud.json"))
assert cloud["members"]["4242"] == [os.environ["SERVICE"]], cloud
print("the Service Mode unit passed on the rework line (record: protection service); the protected unit never did")
PY
sleep 1
grep '^cloud' /tmp/lab-serve.log || true
! grep -q '^cloud .*connected' /tmp/lab-serve.log
