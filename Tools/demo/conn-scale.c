/* Both Linux ends of the connection scale run (Tools/demo/conn-scale.sh).
 *
 *   conn-scale client SERVER PORT COUNT SOURCES ID READY_FILE
 *     Opens COUNT TCP connections to SERVER:PORT from the addresses listed
 *     in SOURCES (comma separated, round robin, kernel-chosen ports), at most
 *     256 handshakes at once (CONN_SCALE_INFLIGHT). Each sends 16 bytes (its own pattern) and
 *     checks the echo. Then it writes READY_FILE ("ramp SECONDS") and holds
 *     every connection until SIGUSR1; then each sends 16 more bytes, checks
 *     the echo and closes. Prints one line: counts, failures, times.
 *     Exits 0 only when every connection was answered byte for byte both times.
 *   conn-scale server PORT SECONDS
 *     The Linux side of the comparison: an epoll echo server, one thread;
 *     SO_REUSEPORT, so several processes share the port when one process may
 *     not hold every descriptor (RLIMIT_NOFILE).
 *
 * Bounded: a client gives up after 300 s in a phase; the server stops after SECONDS. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MESSAGE = 16, PHASE_LIMIT = 300 };

/* Connections not yet answered, per client (CONN_SCALE_INFLIGHT, default 256;
 * larger makes a faster ramp, the listen path's test). */
static long INFLIGHT = 256;

struct conn { int fd; uint8_t state; uint8_t got; };  /* 0 connecting, 1 sent, 2 answered, 3 failed */

static volatile sig_atomic_t go;
static void on_usr1(int s) { (void)s; go = 1; }

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void pattern(uint8_t *out, int id, long index, int phase) {
    uint64_t x = ((uint64_t)id << 40) ^ ((uint64_t)index << 8) ^ (uint64_t)phase ^ 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < MESSAGE; i++) { x = x * 6364136223846793005ull + 1442695040888963407ull; out[i] = (uint8_t)(x >> 56); }
}

/* Reads what arrived for connection i and compares it; 1 when all 16 are in. */
static int check(struct conn *c, int id, long i, int phase, long *bad) {
    uint8_t expect[MESSAGE], got[MESSAGE];
    pattern(expect, id, i, phase);
    for (;;) {
        ssize_t n = recv(c->fd, got, MESSAGE - c->got, 0);
        if (n > 0) {
            if (memcmp(got, expect + c->got, (size_t)n) != 0) { (*bad)++; c->state = 3; return 0; }
            c->got += (uint8_t)n;
            if (c->got == MESSAGE) return 1;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
        c->state = 3;  /* EOF or error before the echo */
        return 0;
    }
}

static int send_message(struct conn *c, int id, long i, int phase) {
    uint8_t message[MESSAGE];
    pattern(message, id, i, phase);
    c->got = 0;
    return send(c->fd, message, MESSAGE, MSG_NOSIGNAL) == MESSAGE;
}

static int client(int argc, char **argv) {
    if (argc != 8) { fprintf(stderr, "usage: conn-scale client SERVER PORT COUNT SOURCES ID READY_FILE\n"); return 2; }
    struct sockaddr_in server = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3])) };
    inet_pton(AF_INET, argv[2], &server.sin_addr);
    long count = atol(argv[4]);
    int id = atoi(argv[6]);
    struct in_addr sources[256];
    int nsources = 0;
    for (char *s = strtok(argv[5], ","); s && nsources < 256; s = strtok(NULL, ",")) inet_pton(AF_INET, s, &sources[nsources++]);
    signal(SIGUSR1, on_usr1);
    if (getenv("CONN_SCALE_INFLIGHT")) INFLIGHT = atol(getenv("CONN_SCALE_INFLIGHT"));
    struct conn *conns = calloc((size_t)count, sizeof *conns);
    int ep = epoll_create1(0);
    struct epoll_event events[1024];
    long opened = 0, answered = 0, failed = 0, bad = 0, pending = 0, swept = 0;
    double start = now();
    /* Phase 1: ramp, with at most INFLIGHT connections not yet answered. */
    while (answered + failed < count && now() - start < PHASE_LIMIT) {
        while (opened < count && pending < INFLIGHT) {
            struct conn *c = &conns[opened];
            c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            int one = 1;
            setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
            struct sockaddr_in local = { .sin_family = AF_INET, .sin_addr = sources[opened % nsources] };
            if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&local, sizeof local) < 0 ||
                (connect(c->fd, (struct sockaddr *)&server, sizeof server) < 0 && errno != EINPROGRESS)) {
                c->state = 3; failed++; opened++;
                continue;
            }
            struct epoll_event e = { .events = EPOLLOUT | EPOLLIN, .data.u64 = (uint64_t)opened };
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
            opened++; pending++;
        }
        int n = epoll_wait(ep, events, 1024, 100);
        if (n == 0) {
            /* Quiet for 100 ms: look at every connection still waiting for
             * its echo (a safety net, counted as "swept"; the unread echoes
             * once seen above ~65,000 connections were this loop stuck in
             * slow connect() calls, not epoll: see conn-scale.sh). */
            for (long i = 0; i < opened; i++) {
                struct conn *c = &conns[i];
                if (c->state != 1) continue;
                if (check(c, id, i, 1, &bad)) { c->state = 2; answered++; pending--; swept++; epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); }
                else if (c->state == 3) { failed++; pending--; epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); }
            }
        }
        for (int k = 0; k < n; k++) {
            long i = (long)events[k].data.u64;
            struct conn *c = &conns[i];
            if (c->state == 0 && (events[k].events & EPOLLOUT)) {
                int error = 0; socklen_t len = sizeof error;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len);
                if (error || !send_message(c, id, i, 1)) c->state = 3;
                else {
                    c->state = 1;
                    struct epoll_event e = { .events = EPOLLIN, .data.u64 = (uint64_t)i };
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
                }
            } else if (c->state == 1 && check(c, id, i, 1, &bad)) {
                c->state = 2; answered++; pending--;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            }
            if (c->state == 3) { failed++; pending--; epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); }
        }
    }
    double ramp = now() - start;
    FILE *ready = fopen(argv[7], "w");
    if (ready) { fprintf(ready, "ramp %.3f answered %ld failed %ld\n", ramp, answered, failed); fclose(ready); }
    /* Hold until told (bounded). */
    double hold = now();
    while (!go && now() - hold < 3 * PHASE_LIMIT) usleep(20000);
    /* Phase 2: echo again on every held connection, then close it; at most
     * INFLIGHT unanswered, as in the ramp (all at once overflowed the tap's
     * queue, and the synchronised retransmissions overflowed it again). */
    double second = now();
    long again = 0, lost = 0, held = answered, next = 0;
    pending = 0;
    while (again + lost < held && now() - second < PHASE_LIMIT) {
        for (; next < count && pending < INFLIGHT; next++) {
            struct conn *c = &conns[next];
            if (c->state != 2) continue;
            if (!send_message(c, id, next, 2)) { c->state = 3; lost++; continue; }
            c->state = 1;
            pending++;
            struct epoll_event e = { .events = EPOLLIN, .data.u64 = (uint64_t)next };
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
        }
        int n = epoll_wait(ep, events, 1024, 100);
        for (long i = 0; n == 0 && i < count; i++) {  /* the same sweep as in phase 1 */
            struct conn *c = &conns[i];
            if (c->state != 1) continue;
            if (check(c, id, i, 2, &bad)) { c->state = 4; again++; swept++; pending--; close(c->fd); }
            else if (c->state == 3) { lost++; pending--; close(c->fd); }
        }
        for (int k = 0; k < n; k++) {
            long i = (long)events[k].data.u64;
            struct conn *c = &conns[i];
            if (c->state != 1) continue;
            if (check(c, id, i, 2, &bad)) { c->state = 4; again++; pending--; close(c->fd); }
            else if (c->state == 3) { lost++; pending--; close(c->fd); }
        }
    }
    printf("client %d: opened %ld answered %ld (swept %ld) failed %ld held %ld answered-again %ld lost %ld mismatched %ld ramp %.3f s second %.3f s\n",
           id, opened, answered, swept, failed, held, again, lost, bad, ramp, now() - second);
    return answered == count && again == count && bad == 0 ? 0 : 1;
}

static int server(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: conn-scale server PORT SECONDS\n"); return 2; }
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(listener, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 65535) < 0) { perror("conn-scale server"); return 2; }
    int ep = epoll_create1(0);
    struct epoll_event e = { .events = EPOLLIN, .data.fd = listener }, events[1024];
    epoll_ctl(ep, EPOLL_CTL_ADD, listener, &e);
    double end = now() + atof(argv[3]);
    printf("conn-scale server: listening on %s\n", argv[2]);
    fflush(stdout);
    while (now() < end) {
        int n = epoll_wait(ep, events, 1024, 200);
        for (int k = 0; k < n; k++) {
            int fd = events[k].data.fd;
            if (fd == listener) {
                int c;
                while ((c = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct epoll_event ce = { .events = EPOLLIN, .data.fd = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
                continue;
            }
            char buffer[512];
            ssize_t r = recv(fd, buffer, sizeof buffer, 0);
            if (r > 0) { send(fd, buffer, (size_t)r, MSG_NOSIGNAL); continue; }
            if (r == 0 || (errno != EAGAIN && errno != EINTR)) close(fd);
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "client") == 0) return client(argc, argv);
    if (argc > 1 && strcmp(argv[1], "server") == 0) return server(argc, argv);
    fprintf(stderr, "usage: conn-scale client ... | conn-scale server PORT SECONDS\n");
    return 2;
}
