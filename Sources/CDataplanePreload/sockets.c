// The socket calls of an unmodified program: AF_INET and AF_INET6 stream
// and datagram sockets go to the data plane (on the calling thread's
// core), everything else to libc.
#include "dp_preload.h"
#include "dataplane.h"
#include <errno.h>

/* A call on `fd`: the data plane's when it is one of its sockets, libc's otherwise. */
#define ROUTE(fd, data_plane_call, libc_call)                                   \
    do {                                                                         \
        if (DP_ROUTED(fd)) {                                                     \
            if (dp_preload_forked) return dp_preload_refuse_forked(fd);          \
            if (dp_preload_enter_core() != 0) return -1;                         \
            int32_t s = dp_preload_socket(fd);                                   \
            return DP_INSIDE(data_plane_call);                                   \
        }                                                                        \
        return libc_call;                                                        \
    } while (0)

int socket(int domain, int type, int protocol) {
    if (!dp_preload_active || dp_preload_inside || dp_preload_forked || (domain != AF_INET && domain != AF_INET6))
        return DP_LIBC(socket)(domain, type, protocol);
    if (dp_preload_enter_core() != 0) return -1;
    int32_t s = DP_INSIDE(dp_socket(domain, type, protocol));
    if (s < 0) return -1;
    return dp_preload_wrap(s, (type & SOCK_CLOEXEC) != 0);
}

int bind(int fd, const struct sockaddr *address, socklen_t length) {
    ROUTE(fd, dp_bind(s, address, length), DP_LIBC(bind)(fd, address, length));
}

int connect(int fd, const struct sockaddr *address, socklen_t length) {
    ROUTE(fd, dp_connect(s, address, length), DP_LIBC(connect)(fd, address, length));
}

int listen(int fd, int backlog) { ROUTE(fd, dp_listen(s, backlog), DP_LIBC(listen)(fd, backlog)); }

int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    if (!DP_ROUTED(fd)) return DP_LIBC(accept4)(fd, address, length, flags);
    if (dp_preload_forked) return dp_preload_refuse_forked(fd);
    if (dp_preload_enter_core() != 0) return -1;
    int32_t child = DP_INSIDE(dp_accept4(dp_preload_socket(fd), address, length, flags));
    if (child < 0) return -1;
    return dp_preload_wrap(child, (flags & SOCK_CLOEXEC) != 0);
}

int accept(int fd, struct sockaddr *address, socklen_t *length) {
    if (!DP_ROUTED(fd)) return DP_LIBC(accept)(fd, address, length);
    return accept4(fd, address, length, 0);
}

ssize_t send(int fd, const void *buffer, size_t length, int flags) {
    ROUTE(fd, dp_send(s, buffer, length, flags), DP_LIBC(send)(fd, buffer, length, flags));
}

ssize_t sendto(int fd, const void *buffer, size_t length, int flags, const struct sockaddr *to, socklen_t to_length) {
    ROUTE(fd, dp_sendto(s, buffer, length, flags, to, to_length), DP_LIBC(sendto)(fd, buffer, length, flags, to, to_length));
}

ssize_t sendmsg(int fd, const struct msghdr *message, int flags) {
    ROUTE(fd, dp_sendmsg(s, message, flags), DP_LIBC(sendmsg)(fd, message, flags));
}

ssize_t recv(int fd, void *buffer, size_t length, int flags) {
    ROUTE(fd, dp_recv(s, buffer, length, flags), DP_LIBC(recv)(fd, buffer, length, flags));
}

ssize_t recvfrom(int fd, void *buffer, size_t length, int flags, struct sockaddr *from, socklen_t *from_length) {
    ROUTE(fd, dp_recvfrom(s, buffer, length, flags, from, from_length),
          DP_LIBC(recvfrom)(fd, buffer, length, flags, from, from_length));
}

ssize_t recvmsg(int fd, struct msghdr *message, int flags) {
    ROUTE(fd, dp_recvmsg(s, message, flags), DP_LIBC(recvmsg)(fd, message, flags));
}

int shutdown(int fd, int how) { ROUTE(fd, dp_shutdown(s, how), DP_LIBC(shutdown)(fd, how)); }

int setsockopt(int fd, int level, int name, const void *value, socklen_t length) {
    ROUTE(fd, dp_setsockopt(s, level, name, value, length), DP_LIBC(setsockopt)(fd, level, name, value, length));
}

int getsockopt(int fd, int level, int name, void *value, socklen_t *length) {
    ROUTE(fd, dp_getsockopt(s, level, name, value, length), DP_LIBC(getsockopt)(fd, level, name, value, length));
}

int getsockname(int fd, struct sockaddr *address, socklen_t *length) {
    ROUTE(fd, dp_getsockname(s, address, length), DP_LIBC(getsockname)(fd, address, length));
}

int getpeername(int fd, struct sockaddr *address, socklen_t *length) {
    ROUTE(fd, dp_getpeername(s, address, length), DP_LIBC(getpeername)(fd, address, length));
}

ssize_t read(int fd, void *buffer, size_t length) {
    ROUTE(fd, dp_read(s, buffer, length), DP_LIBC(read)(fd, buffer, length));
}

ssize_t write(int fd, const void *buffer, size_t length) {
    ROUTE(fd, dp_write(s, buffer, length), DP_LIBC(write)(fd, buffer, length));
}

ssize_t readv(int fd, const struct iovec *vectors, int count) {
    ROUTE(fd, dp_readv(s, vectors, count), DP_LIBC(readv)(fd, vectors, count));
}

ssize_t writev(int fd, const struct iovec *vectors, int count) {
    ROUTE(fd, dp_writev(s, vectors, count), DP_LIBC(writev)(fd, vectors, count));
}

/* _FORTIFY_SOURCE builds call these; the size check is libc's. */
ssize_t __read_chk(int fd, void *buffer, size_t length, size_t room) {
    if (length > room) __builtin_trap();
    return read(fd, buffer, length);
}

ssize_t __recv_chk(int fd, void *buffer, size_t length, size_t room, int flags) {
    if (length > room) __builtin_trap();
    return recv(fd, buffer, length, flags);
}

ssize_t __recvfrom_chk(int fd, void *buffer, size_t length, size_t room, int flags, struct sockaddr *from,
                       socklen_t *from_length) {
    if (length > room) __builtin_trap();
    return recvfrom(fd, buffer, length, flags, from, from_length);
}
