#pragma once
// Linux tap devices (/dev/net/tun): struct ifreq and the TUNSETIFF /
// SIOCSIFFLAGS ioctls are awkward from Swift, so these wrap them.
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/// TUNSETIFF from <linux/if_tun.h>.
#define DP_TUNSETIFF 0x400454caUL
#define DP_IFF_TAP 0x0002
#define DP_IFF_NO_PI 0x1000

/// Opens /dev/net/tun non-blocking and attaches it to the tap `name` in the
/// current network namespace (creating it when absent) with IFF_TAP |
/// IFF_NO_PI. Writes the kernel's name of the device into `actual_name`
/// (16 bytes). Returns the file descriptor, or -errno.
int dp_tap_open(const char *name, char *actual_name);
/// Sets IFF_UP on interface `name` (SIOCSIFFLAGS); 0 or -errno.
int dp_interface_set_up(const char *name);
/// The interface's MTU (SIOCGIFMTU), or -errno.
int dp_interface_mtu(const char *name);
/// read(2) and writev(2) returning -errno on failure (errno is awkward in
/// hot loops from Swift).
long dp_read_nonblocking(int fd, void *buffer, size_t length);
long dp_writev_nonblocking(int fd, const struct iovec *vectors, int count);
/// close(2).
int dp_fd_close(int fd);
