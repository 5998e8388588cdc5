# Sourced inside the VM by every job: loopback, the emulator's USB/IP server, and attaching
# the devices named in LAB_DEVICES (PLATFORM:MODE ...) or the spec file LAB_SPEC as bus IDs
# 1-1, 1-2, ...
# systemd's tools refuse to act inside a chroot unless told this is intended.
export SYSTEMD_IGNORE_CHROOT=1

lab_attach_devices() {
    ip link set lo up
    # udevd: libusb's hotplug listens to udev, and udev rules apply device permissions. A
    # scenario headed `# udevd: no` runs without it (LAB_NO_UDEVD=1).
    if [ "${LAB_NO_UDEVD:-0}" != 1 ] && [ -x /lib/systemd/systemd-udevd ]; then
        /lib/systemd/systemd-udevd --daemon >/dev/null 2>&1 || echo "lab: systemd-udevd did not start"
        udevadm trigger --action=add >/dev/null 2>&1 || true
        udevadm settle --timeout=10 >/dev/null 2>&1 || true
    fi
    [ -n "$LAB_DEVICES" ] || [ -n "$LAB_SPEC" ] || return 0
    if [ -n "$LAB_SPEC" ]; then
        args="--spec $LAB_SPEC"
    else
        args=""
        for d in $LAB_DEVICES; do args="$args --device $d"; done
    fi
    [ "${LAB_PHYSICAL:-0}" = 1 ] && args="$args --physical"
    # A scenario's `# serve:` header adds options (e.g. the fake cloud).
    args="$args ${LAB_SERVE_ARGS:-}"
    station lab serve $args > /tmp/lab-serve.log 2>&1 &
    LAB_SERVER_PID=$!
    for i in $(seq 1 100); do grep -q '^ready' /tmp/lab-serve.log 2>/dev/null && break; sleep 0.1; done
    grep -q '^ready' /tmp/lab-serve.log || { echo "lab: the emulator did not start:"; cat /tmp/lab-serve.log; exit 1; }
    n=0
    for bus in $(sed -n '/attach-by-scenario/d; s/^serving \([0-9-]*\) .*/\1/p' /tmp/lab-serve.log); do
        # Scanners are attached too, but only Particle devices are counted below.
        grep -q "^serving $bus scanner" /tmp/lab-serve.log || n=$((n + 1))
        lab_attach "$bus" --no-wait || exit 1
    done
    # Wait until the kernel has enumerated every device.
    for i in $(seq 1 100); do
        [ "$(lsusb -d 2b04: 2>/dev/null | wc -l)" -ge "$n" ] && return 0
        sleep 0.1
    done
    echo "lab: only $(lsusb -d 2b04: | wc -l) of $n devices appeared"; exit 1
}

# Plugs an emulated device in (its bus ID, e.g. 1-2): USB/IP attach, retried while vhci is
# busy with the previous device; then waits until the kernel has enumerated it unless
# --no-wait. A device that is plugged in powers on (its cloud timer starts) at this moment.
lab_attach() {
    bus="$1"
    before="$(lsusb -d 2b04: 2>/dev/null | wc -l)"
    attached=no
    for try in 1 2 3 4 5 6 7 8; do
        # usbip reads vhci's state through sysfs; it can fail while the previous device is
        # still enumerating, so retry a few times.
        if usbip attach -r 127.0.0.1 -b "$bus" 2>/tmp/usbip-attach.err; then attached=yes; break; fi
        sleep 0.5
    done
    [ "$attached" = yes ] || { echo "lab: usbip attach $bus failed: $(cat /tmp/usbip-attach.err)"; return 1; }
    [ "${2:-}" = --no-wait ] && return 0
    for i in $(seq 1 100); do
        [ "$(lsusb -d 2b04: 2>/dev/null | wc -l)" -gt "$before" ] && return 0
        sleep 0.1
    done
    echo "lab: $bus did not enumerate after attach"; return 1
}

# Waits up to POLLS x 0.2 s for the station run PID to end. Whenever the station says keys of
# a keyboard scan were lost (a loaded machine can read the kernel's events too slowly; the
# station refuses such a scan), scans again each of the named buses still waiting for its
# sticker, as a technician would (at most 6 times). Each bus's sticker is in /tmp/sticker-BUS.
#   lab_wait_rescanning PID POLLS BUS...
lab_wait_rescanning() {
    pid="$1"; polls="$2"; shift 2
    rescans=0
    for i in $(seq 1 "$polls"); do
        kill -0 "$pid" 2>/dev/null || return 0
        lost=$(grep -c "keys of that scan were lost" /tmp/run.log || true)
        if [ "$lost" -gt "$rescans" ] && [ "$rescans" -lt 6 ]; then
            rescans=$lost
            for bus in "$@"; do
                id=$(sed -n "s/^serving $bus [a-z0-9]* normal \([0-9a-f]*\).*/\1/p" /tmp/lab-serve.log)
                if grep " $id " /tmp/run.log | grep -v "^>" | tail -n 1 | grep -q "WAITING FOR SCAN"; then
                    echo "the station lost keys of a scan; scanning $bus again"
                    sleep 0.5
                    cat "/tmp/sticker-$bus" > /tmp/lab-scan-keyboard
                fi
            done
        fi
        sleep 0.2
    done
}
