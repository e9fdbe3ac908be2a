#define _GNU_SOURCE
#include "dp_netns.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

int dp_netns_current(void) {
    int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int dp_netns_enter_fd(int fd) { return setns(fd, CLONE_NEWNET) < 0 ? -errno : 0; }

int dp_netns_enter_path(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int result = dp_netns_enter_fd(fd);
    close(fd);
    return result;
}
