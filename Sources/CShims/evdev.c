#include "cshims.h"
#include <errno.h>
#include <linux/input.h>
#include <sys/ioctl.h>

int cshim_evdev_grab(int fd, int grab) {
    return ioctl(fd, EVIOCGRAB, grab ? 1 : 0) == 0 ? 0 : -errno;
}
