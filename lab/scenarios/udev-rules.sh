# about: the station's udev rules applied by a real systemd-udevd: group and mode of the USB node and the tty, ModemManager told to ignore them, a symlink per device ID, and a USB serial holding spaces escaped into one link inside /dev/particle
# spec: lab/specs/udev-rules.toml
set -e
mkdir -p /run/udev/rules.d
cp "$STATION_REPO/udev-rules/50-particle-station.rules" /run/udev/rules.d/
udevadm control --reload
# The normal-mode Boron (1-2) enumerated before the rules were there: apply them to it now.
udevadm trigger --subsystem-match=tty --action=add
udevadm settle
m="$STATION_SHARED/fixtures/modules"
# Leave DFU so the device re-enumerates in normal mode (a tty appears) under the rules.
station flash --port 1-1 "$m/boron-softdevice@4.1.0.bin" "$m/boron-system-part1@4.1.0.bin" "$m/tinker-0.8.0-rc.27-boron.bin" > /tmp/flash.txt
for i in $(seq 1 50); do [ -e /dev/particle/e00fce68ae40e8a1f5b40001 ] && break; sleep 0.2; done
udevadm settle
ls -l /dev/particle/
tty=$(readlink -f /dev/particle/e00fce68ae40e8a1f5b40001)
echo "symlink -> $tty"
case "$tty" in /dev/ttyACM*) ;; *) echo "the symlink does not point at a ttyACM"; exit 1 ;; esac
stat -c '%n %G %a' "$tty"
[ "$(stat -c '%G %a' "$tty")" = "plugdev 660" ]
udevadm info -q property -n "$tty" | grep -x 'ID_MM_DEVICE_IGNORE=1'
node=$(for d in /sys/bus/usb/devices/*; do [ "$(cat "$d/idVendor" 2>/dev/null)" = 2b04 ] && echo "/dev/bus/usb/$(printf %03d "$(cat "$d/busnum")")/$(printf %03d "$(cat "$d/devnum")")"; done | head -n 1)
stat -c '%n %G %a' "$node"
[ "$(stat -c '%G %a' "$node")" = "plugdev 660" ]
udevadm info -q property -n "$node" | grep -x 'ID_MM_DEVICE_IGNORE=1'
# A serial string with spaces (string_escape=replace): one link, /dev/particle/e00fce68_ae40_b40002,
# and none outside /dev/particle (unescaped, SYMLINK+= would split it into three names).
for i in $(seq 1 50); do [ -e /dev/particle/e00fce68_ae40_b40002 ] && break; sleep 0.2; done
ls -l /dev/particle/
[ -L /dev/particle/e00fce68_ae40_b40002 ] || { echo "no escaped link for the serial with spaces"; exit 1; }
case "$(readlink -f /dev/particle/e00fce68_ae40_b40002)" in /dev/ttyACM*) ;; *) echo "the escaped link does not point at a ttyACM"; exit 1 ;; esac
for stray in /dev/ae40 /dev/b40002 /dev/particle/e00fce68; do
    [ ! -e "$stray" ] || { echo "an unescaped serial made $stray"; exit 1; }
done
echo "the serial with spaces got one link: /dev/particle/e00fce68_ae40_b40002"
