/*
 * The LD_PRELOAD library's shared state (Sources/CDataplanePreload): the
 * real libc functions, the map from the application's descriptor numbers
 * to data-plane sockets, and the guard that sends the data plane's own
 * libc calls straight to libc.
 */
#ifndef DP_PRELOAD_H
#define DP_PRELOAD_H
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/* libc's own functions (dlsym RTLD_NEXT), resolved before anything runs. */
struct dp_libc {
    int (*socket)(int, int, int);
    int (*bind)(int, const struct sockaddr *, socklen_t);
    int (*connect)(int, const struct sockaddr *, socklen_t);
    int (*listen)(int, int);
    int (*accept)(int, struct sockaddr *, socklen_t *);
    int (*accept4)(int, struct sockaddr *, socklen_t *, int);
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    ssize_t (*sendmsg)(int, const struct msghdr *, int);
    ssize_t (*recv)(int, void *, size_t, int);
    ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
    ssize_t (*recvmsg)(int, struct msghdr *, int);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*readv)(int, const struct iovec *, int);
    ssize_t (*writev)(int, const struct iovec *, int);
    int (*close)(int);
    int (*shutdown)(int, int);
    int (*setsockopt)(int, int, int, const void *, socklen_t);
    int (*getsockopt)(int, int, int, void *, socklen_t *);
    int (*getsockname)(int, struct sockaddr *, socklen_t *);
    int (*getpeername)(int, struct sockaddr *, socklen_t *);
    int (*fcntl)(int, int, ...);
    int (*fcntl64)(int, int, ...);
    int (*ioctl)(int, unsigned long, ...);
    int (*epoll_create)(int);
    int (*epoll_create1)(int);
    int (*epoll_ctl)(int, int, int, struct epoll_event *);
    int (*epoll_wait)(int, struct epoll_event *, int, int);
    int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
    int (*poll)(struct pollfd *, nfds_t, int);
    int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
    int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    ssize_t (*sendfile)(int, int, off_t *, size_t);
    int (*sigaction)(int, const struct sigaction *, struct sigaction *);
};
extern struct dp_libc dp_libc;
/* Fills dp_libc. Other libraries' constructors (the Swift runtime's
 * installs signal handlers) run before ours, so calls resolve on demand. */
void dp_preload_resolve(void);
#define DP_LIBC(name) (__builtin_expect(dp_libc.name != 0, 1) ? dp_libc.name : (dp_preload_resolve(), dp_libc.name))

/* Nonzero once DP_ARGS brought the data plane up in this process (and not
 * in a forked child). */
extern int dp_preload_active;
/* Nonzero while this thread runs data-plane code: its libc calls (the tap,
 * the kernel half of an epoll set) go straight to libc. */
extern __thread int dp_preload_inside;

/* The data-plane socket behind an application descriptor, or 0. */
int32_t dp_preload_socket(int fd);
/* Nonzero when `fd` is an epoll set made through the library. */
int dp_preload_is_epoll(int fd);
void dp_preload_mark_epoll(int fd, int on);
/* A kernel descriptor number for data-plane socket `socket` (a duplicate
 * of /dev/null held open, so the kernel never hands the number out
 * again); -1 with errno when none is left (the socket is closed then). */
int dp_preload_wrap(int32_t socket, int cloexec);
/* Another number for the same socket (dup, dup2, F_DUPFD): `fd` when >= 0. */
int dp_preload_alias(int32_t socket, int number);
/* Forgets `fd` (closing the socket when it was its last number) and
 * closes the kernel placeholder. */
int dp_preload_release(int fd);
/* Claims a core for the calling thread; -1 with EPERM when none is left. */
int dp_preload_enter_core(void);

/* From the Swift runtime (Sources/DataplaneRuntime/Preload.swift). */
int dp_preload_start(const char *arguments);
int dp_preload_claim(void);
void dp_preload_finish(void);

/* Nonzero in a child of fork(): the stack stays with the parent, and the
 * child's calls on data-plane descriptors fail with EBADF. */
extern int dp_preload_forked;
int dp_preload_refuse_forked(int fd);

/* Runs `call` with the guard set. */
#define DP_INSIDE(call) ({ dp_preload_inside = 1; __typeof__(call) _r = (call); dp_preload_inside = 0; _r; })
/* Whether an application call on `fd` belongs to the data plane. */
#define DP_ROUTED(fd) (dp_preload_active && !dp_preload_inside && dp_preload_socket(fd) != 0)

#endif
