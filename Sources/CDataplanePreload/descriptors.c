// The application's descriptor numbers for data-plane sockets, and the
// library's start: DP_ARGS, libc's functions, fork.
//
// A data-plane socket gets a kernel descriptor number of its own (a
// duplicate of /dev/null kept open), so the numbers the application sees
// are small, never collide with the kernel's (the kernel cannot hand one
// out while it is open) and fit the tables of programs that index arrays
// by descriptor (redis, select's fd_set).
#include "dp_preload.h"
#include "dataplane.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

struct dp_libc dp_libc;
int dp_preload_active;
int dp_preload_forked;
__thread int dp_preload_inside;

static int32_t *socket_of;      /* application descriptor -> data-plane socket (0: a kernel file) */
static uint8_t *is_epoll;       /* application descriptor -> an epoll set made through us */
static uint16_t *numbers_of;    /* data-plane socket - base -> how many descriptors name it */
static int table_size;
static int null_source = -1;

/* As SocketDescriptor: 1 << 26 | core << 20 | slot (the span is calloc'ed: pages are touched only where sockets are). */
enum { SOCKET_BASE = 1 << 26, SOCKET_SPAN = 64 << 20 };

int32_t dp_preload_socket(int fd) {
    return fd >= 0 && fd < table_size ? socket_of[fd] : 0;
}

int dp_preload_is_epoll(int fd) { return fd >= 0 && fd < table_size && is_epoll[fd]; }

void dp_preload_mark_epoll(int fd, int on) {
    if (fd >= 0 && fd < table_size) is_epoll[fd] = (uint8_t)on;
}

int dp_preload_alias(int32_t socket, int number) {
    if (number < 0 || number >= table_size) {
        errno = EMFILE;
        return -1;
    }
    socket_of[number] = socket;
    numbers_of[socket - SOCKET_BASE]++;
    return number;
}

int dp_preload_wrap(int32_t socket, int cloexec) {
    int number = DP_LIBC(fcntl)(null_source, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
    if (number >= table_size) {
        DP_LIBC(close)(number);
        number = -1;
        errno = EMFILE;
    }
    if (number < 0) {
        int saved = errno;
        DP_INSIDE(dp_close(socket));
        errno = saved;
        return -1;
    }
    return dp_preload_alias(socket, number);
}

int dp_preload_release(int fd) {
    int32_t socket = dp_preload_socket(fd);
    int result = 0;
    if (socket != 0) {
        socket_of[fd] = 0;
        if (--numbers_of[socket - SOCKET_BASE] == 0 && !dp_preload_forked) result = DP_INSIDE(dp_close(socket));
    }
    int saved = errno;
    DP_LIBC(close)(fd);
    errno = saved;
    return result;
}

int dp_preload_refuse_forked(int fd) {
    static int told;
    if (!told) {
        told = 1;
        fprintf(stderr, "dataplane-preload: descriptor %d is a data-plane socket of the parent process; a child of fork() cannot use it (EBADF)\n", fd);
    }
    errno = EBADF;
    return -1;
}

/* 0: this thread has not asked yet; 1: it runs a core; -1: none was left. */
static __thread int thread_core_state;

int dp_preload_enter_core(void) {
    if (thread_core_state == 0) thread_core_state = DP_INSIDE(dp_preload_claim()) == 0 ? 1 : -1;
    if (thread_core_state > 0) return 0;
    errno = EPERM;
    return -1;
}

void dp_preload_resolve(void) {
#define RESOLVE(name) dp_libc.name = (__typeof__(dp_libc.name))dlsym(RTLD_NEXT, #name)
    RESOLVE(socket); RESOLVE(bind); RESOLVE(connect); RESOLVE(listen); RESOLVE(accept); RESOLVE(accept4);
    RESOLVE(send); RESOLVE(sendto); RESOLVE(sendmsg); RESOLVE(recv); RESOLVE(recvfrom); RESOLVE(recvmsg);
    RESOLVE(read); RESOLVE(write); RESOLVE(readv); RESOLVE(writev); RESOLVE(close); RESOLVE(shutdown);
    RESOLVE(setsockopt); RESOLVE(getsockopt); RESOLVE(getsockname); RESOLVE(getpeername);
    RESOLVE(fcntl); RESOLVE(fcntl64); RESOLVE(ioctl); RESOLVE(epoll_create); RESOLVE(epoll_create1);
    RESOLVE(epoll_ctl); RESOLVE(epoll_wait); RESOLVE(epoll_pwait); RESOLVE(poll); RESOLVE(ppoll);
    RESOLVE(select); RESOLVE(dup); RESOLVE(dup2); RESOLVE(dup3); RESOLVE(sendfile); RESOLVE(sigaction);
#undef RESOLVE
    if (!dp_libc.fcntl64) dp_libc.fcntl64 = dp_libc.fcntl;
}

static void child_after_fork(void) { dp_preload_forked = 1; }

static void finish(void) {
    if (dp_preload_active && !dp_preload_forked) DP_INSIDE((dp_preload_finish(), 0));
}

/* Runs before main: DP_ARGS brings the port up, or the process exits with
 * the reason. Without DP_ARGS every call goes to libc unchanged. */
__attribute__((constructor)) static void start(void) {
    dp_preload_resolve();
    const char *arguments = getenv("DP_ARGS");
    if (!arguments || !*arguments) {
        fprintf(stderr, "dataplane-preload: DP_ARGS is not set: every call goes to the kernel (set DP_ARGS=\"--tap NAME --ip A.B.C.D/P\" or \"--pci ADDR --ip ...\")\n");
        return;
    }
    struct rlimit limit;
    table_size = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_max != RLIM_INFINITY ? (int)limit.rlim_max : 65536;
    if (table_size > (1 << 20)) table_size = 1 << 20;
    socket_of = calloc((size_t)table_size, sizeof *socket_of);
    is_epoll = calloc((size_t)table_size, 1);
    numbers_of = calloc(SOCKET_SPAN, sizeof *numbers_of);
    null_source = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (!socket_of || !is_epoll || !numbers_of || null_source < 0) {
        fprintf(stderr, "dataplane-preload: cannot allocate the descriptor table (%d entries)\n", table_size);
        exit(1);
    }
    if (DP_INSIDE(dp_preload_start(arguments)) != 0) {
        fprintf(stderr, "dataplane-preload: DP_ARGS=\"%s\" was refused (the reason is above); exiting\n", arguments);
        exit(1);
    }
    pthread_atfork(NULL, NULL, child_after_fork);
    atexit(finish);
    dp_preload_active = 1;
}
