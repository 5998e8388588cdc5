#include "cshims.h"
#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

int cshim_uevent_open(void) {
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
    if (fd < 0) return -errno;
    int size = 4 << 20;
    // Root may raise the buffer past rmem_max; anyone else gets what the kernel allows.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    struct sockaddr_nl address = {.nl_family = AF_NETLINK, .nl_groups = 1};
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

long cshim_uevent_receive(int fd, void *buffer, unsigned long capacity, int timeout_ms) {
    struct pollfd ready = {.fd = fd, .events = POLLIN};
    int count = poll(&ready, 1, timeout_ms);
    if (count < 0) return errno == EINTR ? 0 : -errno;
    if (count == 0) return 0;
    struct sockaddr_nl sender;
    socklen_t length = sizeof sender;
    ssize_t received = recvfrom(fd, buffer, capacity, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&sender, &length);
    if (received < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
    // Only the kernel (port 0) sends on this group; a message from a process is dropped, and
    // so is one longer than the buffer.
    if (length != sizeof sender || sender.nl_pid != 0 || (unsigned long)received > capacity) return 0;
    return (long)received;
}
