#define _GNU_SOURCE
#include "dp_tap.h"
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int dp_tap_open(const char *name, char *actual_name) {
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct ifreq request;
    memset(&request, 0, sizeof(request));
    request.ifr_flags = DP_IFF_TAP | DP_IFF_NO_PI;
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, DP_TUNSETIFF, &request) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    memcpy(actual_name, request.ifr_name, IFNAMSIZ);
    actual_name[IFNAMSIZ - 1] = 0;
    return fd;
}

static int interface_request(const char *name, unsigned long op, struct ifreq *request) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return -errno;
    strncpy(request->ifr_name, name, IFNAMSIZ - 1);
    int result = ioctl(sock, op, request);
    int error = errno;
    close(sock);
    return result < 0 ? -error : 0;
}

int dp_interface_set_up(const char *name) {
    struct ifreq request;
    memset(&request, 0, sizeof(request));
    int result = interface_request(name, SIOCGIFFLAGS, &request);
    if (result < 0) return result;
    request.ifr_flags |= IFF_UP;
    return interface_request(name, SIOCSIFFLAGS, &request);
}

int dp_interface_mtu(const char *name) {
    struct ifreq request;
    memset(&request, 0, sizeof(request));
    int result = interface_request(name, SIOCGIFMTU, &request);
    return result < 0 ? result : request.ifr_mtu;
}

long dp_read_nonblocking(int fd, void *buffer, size_t length) {
    ssize_t n = read(fd, buffer, length);
    return n < 0 ? -errno : n;
}

long dp_writev_nonblocking(int fd, const struct iovec *vectors, int count) {
    ssize_t n = writev(fd, vectors, count);
    return n < 0 ? -errno : n;
}

int dp_fd_close(int fd) { return close(fd); }
