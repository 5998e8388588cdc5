# about: devices attached and detached while station watches; each arrival and departure reported once
# devices: boron:dfu electron:dfu
set -e
station devices --watch --for 14 > /tmp/watch.log 2>&1 &
watcher=$!
sleep 4
port=$(usbip port | awk '/^Port/ {p=$2} /1-2$/ {sub(":", "", p); print p+0}' | head -n 1)
[ -n "$port" ] || { usbip port; echo "cannot find the vhci port of 1-2"; exit 1; }
usbip detach -p "$port"
sleep 3
usbip attach -r 127.0.0.1 -b 1-2
sleep 4
wait $watcher || true
cat /tmp/watch.log
[ "$(grep -c '^arrived .* boron dfu 2b04:d00d e00fce68ae40e8a1f5b40001$' /tmp/watch.log)" -eq 1 ]
[ "$(grep -c '^arrived .* electron dfu 2b04:d00a e00fce68ae40e8a1f5b40002$' /tmp/watch.log)" -eq 2 ]
[ "$(grep -c '^left .* 2b04:d00a$' /tmp/watch.log)" -eq 1 ]
[ "$(grep -c '^left .* 2b04:d00d$' /tmp/watch.log)" -eq 0 ]
