/*
 * epoll semantics, checked the same way on the data plane (dp_epoll_*) and,
 * built with -DKERNEL_SOCKETS, on Linux's own sockets: both builds must
 * print the same lines (Tools/test.d/51-c-epoll.sh compares them).
 *
 *   epoll-check [dp_init flags, e.g. --loopback --ip 10.5.0.1/24]
 *
 * One thread holds a listener, a client and the accepted socket, plus a
 * kernel pipe in the same epoll set. The kernel build also runs unmodified
 * under the LD_PRELOAD library (Tools/test.d/52-preload.sh).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#ifdef KERNEL_SOCKETS
#define dp_socket socket
#define dp_bind bind
#define dp_listen listen
#define dp_accept accept
#define dp_connect connect
#define dp_send send
#define dp_recv recv
#define dp_close close
#define dp_shutdown shutdown
#define dp_epoll_create1 epoll_create1
#define dp_epoll_ctl epoll_ctl
#define dp_epoll_wait epoll_wait
/* The kernel's loopback; under the LD_PRELOAD library the data plane's
 * address (EPOLL_CHECK_ADDRESS), which the kernel does not have. */
#define ADDRESS (getenv("EPOLL_CHECK_ADDRESS") ? getenv("EPOLL_CHECK_ADDRESS") : "127.0.0.1")
#else
#include "dataplane.h"
#define ADDRESS address
static const char *address = "10.5.0.1";
#endif

static int failures;

static void check(int condition, const char *what) {
    printf("%s %s\n", condition ? "ok" : "FAIL", what);
    if (!condition) failures++;
}

/* Waits up to `timeout` ms; returns how many events, the first in *first. */
static int wait_one(int ep, int timeout, struct epoll_event *first) {
    struct epoll_event events[8];
    int n = dp_epoll_wait(ep, events, 8, timeout);
    if (n > 0 && first) *first = events[0];
    return n;
}

static int add(int ep, int op, int fd, uint32_t mask, uint64_t data) {
    struct epoll_event event = { .events = mask, .data.u64 = data };
    return dp_epoll_ctl(ep, op, fd, &event);
}

static void run_checks(void) {
    struct sockaddr_in server = { .sin_family = AF_INET, .sin_port = htons(7400) };
    inet_pton(AF_INET, ADDRESS, &server.sin_addr);
    int listener = dp_socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    check(dp_bind(listener, (struct sockaddr *)&server, sizeof server) == 0, "bind");
    check(dp_listen(listener, 16) == 0, "listen");
    int client = dp_socket(AF_INET, SOCK_STREAM, 0);
    check(dp_connect(client, (struct sockaddr *)&server, sizeof server) == 0, "connect");
    int conn = dp_accept(listener, NULL, NULL);
    check(conn >= 0, "accept");
    int ep = dp_epoll_create1(EPOLL_CLOEXEC);
    check(ep >= 0, "epoll_create1");
    struct epoll_event event = { 0 };
    char buffer[256];

    /* Level-triggered: reported while data waits. */
    check(add(ep, EPOLL_CTL_ADD, conn, EPOLLIN, 0xdeadbeefcafebabeULL) == 0, "add level-triggered");
    check(wait_one(ep, 50, NULL) == 0, "LT: nothing before data");
    dp_send(client, "0123456789", 10, 0);
    check(wait_one(ep, 1000, &event) == 1 && event.events == EPOLLIN, "LT: EPOLLIN after data");
    check(event.data.u64 == 0xdeadbeefcafebabeULL, "LT: data returned as given");
    check(wait_one(ep, 50, NULL) == 1, "LT: reported again while unread");
    check(dp_recv(conn, buffer, sizeof buffer, 0) == 10, "LT: read 10");
    check(wait_one(ep, 50, NULL) == 0, "LT: quiet once read");

    /* Edge-triggered: once per arrival. */
    check(add(ep, EPOLL_CTL_MOD, conn, EPOLLIN | EPOLLET, 7) == 0, "mod to edge-triggered");
    dp_send(client, "abcdefghij", 10, 0);
    check(wait_one(ep, 1000, &event) == 1 && event.data.u64 == 7, "ET: reported on arrival");
    check(wait_one(ep, 50, NULL) == 0, "ET: not again while unread");
    check(dp_recv(conn, buffer, 4, 0) == 4, "ET: partial read");
    check(wait_one(ep, 50, NULL) == 0, "ET: not again after a partial read");
    dp_send(client, "klm", 3, 0);
    check(wait_one(ep, 1000, NULL) == 1, "ET: reported on the next arrival");
    check(dp_recv(conn, buffer, sizeof buffer, 0) == 9, "ET: the rest (6 + 3)");

    /* One-shot: once, then disarmed until EPOLL_CTL_MOD. */
    check(add(ep, EPOLL_CTL_MOD, conn, EPOLLIN | EPOLLONESHOT, 8) == 0, "mod to one-shot");
    dp_send(client, "x", 1, 0);
    check(wait_one(ep, 1000, NULL) == 1, "ONESHOT: reported once");
    dp_send(client, "y", 1, 0);
    check(wait_one(ep, 100, NULL) == 0, "ONESHOT: disarmed");
    check(add(ep, EPOLL_CTL_MOD, conn, EPOLLIN | EPOLLONESHOT, 9) == 0, "ONESHOT: re-armed");
    check(wait_one(ep, 1000, &event) == 1 && event.data.u64 == 9, "ONESHOT: reported after re-arm");
    check(dp_recv(conn, buffer, sizeof buffer, 0) == 2, "ONESHOT: read 2");

    /* A kernel pipe beside the sockets, in one set. */
    int pipes[2];
    check(pipe(pipes) == 0, "pipe");
    check(add(ep, EPOLL_CTL_ADD, pipes[0], EPOLLIN, 42) == 0, "add a pipe");
    check(add(ep, EPOLL_CTL_MOD, conn, EPOLLIN, 43) == 0, "mod socket back to LT");
    check(write(pipes[1], "p", 1) == 1, "write the pipe");
    dp_send(client, "s", 1, 0);
    struct epoll_event events[8];
    int n = 0, saw_pipe = 0, saw_socket = 0;
    for (int tries = 0; tries < 20 && !(saw_pipe && saw_socket); tries++) {
        n = dp_epoll_wait(ep, events, 8, 100);
        for (int i = 0; i < n; i++) {
            if (events[i].data.u64 == 42) saw_pipe = 1;
            if (events[i].data.u64 == 43) saw_socket = 1;
        }
    }
    check(saw_pipe && saw_socket, "mixed: the pipe and the socket both reported");
    check(read(pipes[0], buffer, 1) == 1 && dp_recv(conn, buffer, 1, 0) == 1, "mixed: both read");
    check(dp_epoll_ctl(ep, EPOLL_CTL_DEL, pipes[0], NULL) == 0, "del the pipe");

    /* EPOLLOUT, and peer close: EPOLLIN | EPOLLRDHUP, then EPOLLHUP once both sides closed. */
    check(add(ep, EPOLL_CTL_ADD, client, EPOLLOUT, 5) == 0, "add client for EPOLLOUT");
    check(wait_one(ep, 1000, &event) >= 1, "EPOLLOUT on a connected socket");
    check(dp_epoll_ctl(ep, EPOLL_CTL_DEL, client, NULL) == 0, "del client");
    check(add(ep, EPOLL_CTL_MOD, conn, EPOLLIN | EPOLLRDHUP, 6) == 0, "mod for RDHUP");
    dp_shutdown(client, SHUT_WR);
    check(wait_one(ep, 1000, &event) == 1 && event.events == (EPOLLIN | EPOLLRDHUP), "peer SHUT_WR: EPOLLIN|EPOLLRDHUP, no HUP");
    check(dp_recv(conn, buffer, sizeof buffer, 0) == 0, "peer SHUT_WR: read gives 0");
    dp_shutdown(conn, SHUT_WR);
    int hangup = 0;
    for (int tries = 0; tries < 20 && !hangup; tries++)
        if (wait_one(ep, 100, &event) == 1 && (event.events & EPOLLHUP)) hangup = 1;
    check(hangup, "both sides shut: EPOLLHUP");

    /* errno values of epoll(7). */
    errno = 0;
    check(add(ep, EPOLL_CTL_ADD, conn, EPOLLIN, 0) == -1 && errno == EEXIST, "ADD twice: EEXIST");
    check(add(ep, EPOLL_CTL_MOD, listener, EPOLLIN, 0) == -1 && errno == ENOENT, "MOD unregistered: ENOENT");
    check(dp_epoll_ctl(ep, EPOLL_CTL_DEL, listener, NULL) == -1 && errno == ENOENT, "DEL unregistered: ENOENT");
    check(add(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0) == -1 && errno == EINVAL, "ADD itself: EINVAL");
    check(add(ep, 99, conn, EPOLLIN, 0) == -1 && errno == EINVAL, "unknown op: EINVAL");
    check(dp_epoll_ctl(ep, EPOLL_CTL_ADD, listener, NULL) == -1 && errno == EFAULT, "ADD with NULL event: EFAULT");
    check(dp_epoll_wait(ep, events, 0, 0) == -1 && errno == EINVAL, "maxevents 0: EINVAL");
    check(dp_epoll_wait(-1, events, 8, 0) == -1 && errno == EBADF, "wait on -1: EBADF");
    check(dp_epoll_wait(pipes[0], events, 8, 0) == -1 && errno == EINVAL, "wait on a pipe: EINVAL");
    check(dp_epoll_create1(12345) == -1 && errno == EINVAL, "create1 with unknown flags: EINVAL");
    close(pipes[0]);
    close(pipes[1]);
    dp_close(conn);
    dp_close(client);
    dp_close(listener);
    check(dp_close(ep) == 0, "close the set");
}

#ifdef KERNEL_SOCKETS
int main(void) {
    run_checks();
    printf("%s\n", failures ? "epoll-check: FAILED" : "epoll-check: all passed");
    return failures ? 1 : 0;
}
#else
static int once(void *unused) {
    (void)unused;
    run_checks();
    return -1;
}

int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--ip") == 0) {
            static char text[32];
            snprintf(text, sizeof text, "%s", argv[i + 1]);
            char *slash = strchr(text, '/');
            if (slash) *slash = 0;
            address = text;
        }
    if (dp_init(argc, argv) != 0) return 2;
    dp_run(once, NULL);
    printf("%s\n", failures ? "epoll-check: FAILED" : "epoll-check: all passed");
    return failures ? 1 : 0;
}
#endif
