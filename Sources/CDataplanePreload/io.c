// Descriptor calls that may touch a data-plane socket: close, fcntl,
// ioctl, dup, poll, select, epoll, sendfile. An epoll set made here holds
// data-plane sockets and kernel descriptors together (dp_epoll_*).
#include "dp_preload.h"
#include "dataplane.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int application_call(void) { return dp_preload_active && !dp_preload_inside; }

int close(int fd) {
    if (!application_call()) return DP_LIBC(close)(fd);
    if (dp_preload_socket(fd)) return dp_preload_release(fd);
    if (dp_preload_is_epoll(fd)) {
        dp_preload_mark_epoll(fd, 0);
        if (!dp_preload_forked) return DP_INSIDE(dp_close(fd));
    }
    return DP_LIBC(close)(fd);
}

/* F_DUPFD / F_DUPFD_CLOEXEC give the socket another number; the flag
 * commands go to the socket. */
static int socket_fcntl(int fd, int command, void *argument) {
    if (dp_preload_forked) return dp_preload_refuse_forked(fd);
    int32_t s = dp_preload_socket(fd);
    if (command == F_DUPFD || command == F_DUPFD_CLOEXEC) {
        int number = DP_LIBC(fcntl)(fd, command, argument);
        return number < 0 ? -1 : dp_preload_alias(s, number);
    }
    if (command == F_SETFD) DP_LIBC(fcntl)(fd, F_SETFD, argument);  /* the placeholder too */
    if (dp_preload_enter_core() != 0) return -1;
    return DP_INSIDE(dp_fcntl(s, command, (int)(intptr_t)argument));
}

int fcntl(int fd, int command, ...) {
    va_list list;
    va_start(list, command);
    void *argument = va_arg(list, void *);
    va_end(list);
    if (application_call() && dp_preload_socket(fd)) return socket_fcntl(fd, command, argument);
    return DP_LIBC(fcntl)(fd, command, argument);
}

int fcntl64(int fd, int command, ...) {
    va_list list;
    va_start(list, command);
    void *argument = va_arg(list, void *);
    va_end(list);
    if (application_call() && dp_preload_socket(fd)) return socket_fcntl(fd, command, argument);
    return DP_LIBC(fcntl64)(fd, command, argument);
}

int ioctl(int fd, unsigned long request, ...) {
    va_list list;
    va_start(list, request);
    void *argument = va_arg(list, void *);
    va_end(list);
    if (!application_call() || !dp_preload_socket(fd)) return DP_LIBC(ioctl)(fd, request, argument);
    if (dp_preload_forked) return dp_preload_refuse_forked(fd);
    if (request == FIOCLEX || request == FIONCLEX) {
        DP_LIBC(ioctl)(fd, request, argument);
        int cloexec = request == FIOCLEX ? FD_CLOEXEC : 0;
        return dp_preload_enter_core() != 0 ? -1 : DP_INSIDE(dp_fcntl(dp_preload_socket(fd), F_SETFD, cloexec));
    }
    if (dp_preload_enter_core() != 0) return -1;
    return DP_INSIDE(dp_ioctl(dp_preload_socket(fd), request, argument));
}

int dup(int fd) {
    if (!application_call() || !dp_preload_socket(fd)) return DP_LIBC(dup)(fd);
    int number = DP_LIBC(dup)(fd);
    return number < 0 ? -1 : dp_preload_alias(dp_preload_socket(fd), number);
}

int dup3(int old, int new, int flags) {
    if (!application_call()) return DP_LIBC(dup3)(old, new, flags);
    if (old == new) return DP_LIBC(dup3)(old, new, flags);  /* EINVAL, as the kernel says */
    int32_t s = dp_preload_socket(old);
    if (dp_preload_socket(new)) dp_preload_release(new);
    int number = DP_LIBC(dup3)(old, new, flags);
    return number < 0 || !s ? number : dp_preload_alias(s, number);
}

int dup2(int old, int new) {
    if (!application_call()) return DP_LIBC(dup2)(old, new);
    if (old == new) return DP_LIBC(dup2)(old, new);
    int32_t s = dp_preload_socket(old);
    if (dp_preload_socket(new)) dp_preload_release(new);
    int number = DP_LIBC(dup2)(old, new);
    return number < 0 || !s ? number : dp_preload_alias(s, number);
}

// MARK: poll and select

/* Whether any of the descriptors is a data-plane socket. */
static int holds_sockets(const struct pollfd *items, nfds_t count) {
    for (nfds_t i = 0; i < count; i++)
        if (dp_preload_socket(items[i].fd)) return 1;
    return 0;
}

/* poll over the data plane's numbers: a copy with each socket's own
 * descriptor, the events copied back. */
static int socket_poll(struct pollfd *items, nfds_t count, int timeout) {
    if (dp_preload_forked) return dp_preload_refuse_forked(-1);
    if (dp_preload_enter_core() != 0) return -1;
    struct pollfd small[64];
    struct pollfd *copy = count <= 64 ? small : malloc(count * sizeof *copy);
    if (!copy) {
        errno = ENOMEM;
        return -1;
    }
    for (nfds_t i = 0; i < count; i++) {
        copy[i] = items[i];
        int32_t s = dp_preload_socket(items[i].fd);
        if (s) copy[i].fd = s;
    }
    int found = DP_INSIDE(dp_poll(copy, count, timeout));
    for (nfds_t i = 0; i < count; i++) items[i].revents = copy[i].revents;
    if (copy != small) free(copy);
    return found;
}

int poll(struct pollfd *items, nfds_t count, int timeout) {
    if (!application_call() || !items || !holds_sockets(items, count)) return DP_LIBC(poll)(items, count, timeout);
    return socket_poll(items, count, timeout);
}

int __poll_chk(struct pollfd *items, nfds_t count, int timeout, size_t room) {
    if (count > room / sizeof *items) __builtin_trap();
    return poll(items, count, timeout);
}

int ppoll(struct pollfd *items, nfds_t count, const struct timespec *timeout, const sigset_t *mask) {
    if (!application_call() || !items || !holds_sockets(items, count)) return DP_LIBC(ppoll)(items, count, timeout, mask);
    int milliseconds = timeout ? (int)(timeout->tv_sec * 1000 + (timeout->tv_nsec + 999999) / 1000000) : -1;
    sigset_t saved;
    if (mask) pthread_sigmask(SIG_SETMASK, mask, &saved);
    int found = socket_poll(items, count, milliseconds);
    if (mask) pthread_sigmask(SIG_SETMASK, &saved, NULL);
    return found;
}

int select(int count, fd_set *reads, fd_set *writes, fd_set *errors, struct timeval *timeout) {
    int sockets = 0;
    if (application_call() && count > 0 && count <= FD_SETSIZE)
        for (int fd = 0; fd < count && !sockets; fd++)
            if (dp_preload_socket(fd) && ((reads && FD_ISSET(fd, reads)) || (writes && FD_ISSET(fd, writes)) ||
                                          (errors && FD_ISSET(fd, errors))))
                sockets = 1;
    if (!sockets) return DP_LIBC(select)(count, reads, writes, errors, timeout);
    struct pollfd items[FD_SETSIZE];
    nfds_t used = 0;
    for (int fd = 0; fd < count; fd++) {
        short events = (short)((reads && FD_ISSET(fd, reads) ? POLLIN : 0) | (writes && FD_ISSET(fd, writes) ? POLLOUT : 0) |
                               (errors && FD_ISSET(fd, errors) ? POLLPRI : 0));
        if (events) items[used++] = (struct pollfd){ .fd = fd, .events = events };
    }
    int milliseconds = timeout ? (int)(timeout->tv_sec * 1000 + (timeout->tv_usec + 999) / 1000) : -1;
    int found = socket_poll(items, used, milliseconds);
    if (found < 0) return -1;
    if (reads) FD_ZERO(reads);
    if (writes) FD_ZERO(writes);
    if (errors) FD_ZERO(errors);
    int bits = 0;
    for (nfds_t i = 0; i < used; i++) {
        short r = items[i].revents;
        if (r & POLLNVAL) {
            errno = EBADF;
            return -1;
        }
        if (reads && (r & (POLLIN | POLLHUP | POLLERR)) && (items[i].events & POLLIN)) { FD_SET(items[i].fd, reads); bits++; }
        if (writes && (r & (POLLOUT | POLLERR)) && (items[i].events & POLLOUT)) { FD_SET(items[i].fd, writes); bits++; }
        if (errors && (r & POLLPRI)) { FD_SET(items[i].fd, errors); bits++; }
    }
    if (timeout) *timeout = (struct timeval){ 0, 0 };
    return bits;
}

// MARK: epoll

int epoll_create1(int flags) {
    if (!application_call() || dp_preload_forked) return DP_LIBC(epoll_create1)(flags);
    int fd = DP_INSIDE(dp_epoll_create1(flags));
    if (fd >= 0) dp_preload_mark_epoll(fd, 1);
    return fd;
}

int epoll_create(int size) {
    if (size <= 0) {
        errno = EINVAL;
        return -1;
    }
    return epoll_create1(0);
}

int epoll_ctl(int epfd, int operation, int fd, struct epoll_event *event) {
    if (!application_call() || !dp_preload_is_epoll(epfd)) return DP_LIBC(epoll_ctl)(epfd, operation, fd, event);
    int32_t s = dp_preload_socket(fd);
    if (s && dp_preload_forked) return dp_preload_refuse_forked(fd);
    if (dp_preload_forked) return DP_LIBC(epoll_ctl)(epfd, operation, fd, event);
    if (s && dp_preload_enter_core() != 0) return -1;
    return DP_INSIDE(dp_epoll_ctl(epfd, operation, s ? s : fd, event));
}

int epoll_wait(int epfd, struct epoll_event *events, int capacity, int timeout) {
    if (!application_call() || dp_preload_forked || !dp_preload_is_epoll(epfd))
        return DP_LIBC(epoll_wait)(epfd, events, capacity, timeout);
    return DP_INSIDE(dp_epoll_wait(epfd, events, capacity, timeout));
}

int epoll_pwait(int epfd, struct epoll_event *events, int capacity, int timeout, const sigset_t *mask) {
    if (!application_call() || dp_preload_forked || !dp_preload_is_epoll(epfd))
        return DP_LIBC(epoll_pwait)(epfd, events, capacity, timeout, mask);
    sigset_t saved;
    if (mask) pthread_sigmask(SIG_SETMASK, mask, &saved);
    int found = DP_INSIDE(dp_epoll_wait(epfd, events, capacity, timeout));
    if (mask) pthread_sigmask(SIG_SETMASK, &saved, NULL);
    return found;
}

// MARK: sendfile

/* sendfile to a data-plane socket: the file is read in pieces and sent;
 * what the socket did not take is given back to the file position. */
ssize_t sendfile(int out, int in, off_t *offset, size_t count) {
    if (!application_call() || !dp_preload_socket(out)) return DP_LIBC(sendfile)(out, in, offset, count);
    if (dp_preload_forked) return dp_preload_refuse_forked(out);
    if (dp_preload_enter_core() != 0) return -1;
    int32_t s = dp_preload_socket(out);
    char piece[16384];
    size_t total = 0;
    while (total < count) {
        size_t want = count - total < sizeof piece ? count - total : sizeof piece;
        ssize_t got = offset ? pread(in, piece, want, *offset) : DP_LIBC(read)(in, piece, want);
        if (got <= 0) {
            if (got < 0 && total == 0) return -1;
            break;
        }
        ssize_t sent = DP_INSIDE(dp_send(s, piece, (size_t)got, 0));
        if (sent < 0) {
            if (!offset) lseek(in, -got, SEEK_CUR);
            if (total == 0) return -1;
            break;
        }
        total += (size_t)sent;
        if (offset) *offset += sent;
        else if (sent < got) lseek(in, sent - got, SEEK_CUR);
        if (sent < got) break;
    }
    return (ssize_t)total;
}

ssize_t sendfile64(int out, int in, off_t *offset, size_t count) __attribute__((alias("sendfile")));
