// termios2 for the serial port: any baud rate (14400 asks a Particle device for DFU mode;
// it is not a standard termios speed). Kept apart from shims.c: <asm/termbits.h> and
// <termios.h> cannot share a file.
#include <asm/termbits.h>
#include <asm/ioctls.h>
#include <errno.h>

extern int ioctl(int fd, unsigned long request, ...);

int cshim_tty_configure(int fd, unsigned int baud) {
    struct termios2 t;
    if (ioctl(fd, TCGETS2, &t) != 0) return -errno;
    t.c_iflag = 0;
    t.c_oflag = 0;
    t.c_lflag = 0;
    t.c_cflag &= ~(CBAUD | CSIZE | PARENB | CSTOPB | CRTSCTS);
    t.c_cflag |= BOTHER | CS8 | CREAD | CLOCAL;
    t.c_ispeed = baud;
    t.c_ospeed = baud;
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    if (ioctl(fd, TCSETS2, &t) != 0) return -errno;
    return 0;
}
