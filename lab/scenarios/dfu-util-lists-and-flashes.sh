# about: Debian's dfu-util sees the emulated Boron as a DfuSe device, lists its alt settings and flashes it
# devices: boron:dfu
set -e
dfu-util -l > /tmp/list.txt 2>&1 || true
cat /tmp/list.txt
grep -q 'Found DFU: \[2b04:d00d\]' /tmp/list.txt
grep -q 'name="@Internal Flash   /0x00000000/1\*004Ka,47\*004Kg' /tmp/list.txt
grep -q 'serial="e00fce68ae40e8a1f5b40001"' /tmp/list.txt
head -c 20000 /dev/urandom > /tmp/image.bin
dfu-util -d 2b04:d00d -a 0 -s 0xd4000 -D /tmp/image.bin
dfu-util -d 2b04:d00d -a 0 -s 0xd4000:20000 -U /tmp/back.bin
cmp /tmp/image.bin /tmp/back.bin
echo "dfu-util wrote and read back 20000 bytes"
