/*
 * Socket limits through the C API (issue 18; Tools/test.d/53-c-limits.sh):
 *
 *   limits-check --loopback --ip A.B.C.D/24 --cores 2 --max-sockets N
 *                --max-sockets-total N+10 --max-udp-endpoints B [other dp_init flags]
 *
 * Core 0 opens N UDP sockets with dp_socket (nothing is reserved per
 * socket, so all succeed) and the next one fails with EMFILE (the core's
 * limit); it binds the first B of them to ports 1024... of the address and
 * the next bind fails with EMFILE (the core's UDP endpoints). (No datagram
 * is passed between them: with 2 cores the loopback's frames are spread by
 * flow, so it may arrive on core 1.) Then core 1 opens sockets until
 * the group's limit: 10 succeed and the next fails with ENFILE. Closing
 * one on core 0 lets core 1 open one more. Every socket is closed again.
 * Never ENOMEM. Prints "limits-check: ok ..." and exits 0, else the first
 * failed step and exits 1.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include "dataplane.h"

static long per_core = -1, bound_limit = -1;
static struct in_addr local;
static int *fds;
static atomic_int phase;  /* 0 core 0 opening, 1 core 1's turn, 2 core 0 closed one, 3 core 1 done, 4 core 0 done */
static atomic_int failed;

#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "limits-check: FAILED: " __VA_ARGS__); \
    fprintf(stderr, " (errno %d: %s)\n", errno, strerror(errno)); atomic_store(&failed, 1); return -1; } } while (0)

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static struct sockaddr_in address(int port) {
    struct sockaddr_in s;
    memset(&s, 0, sizeof s);
    s.sin_family = AF_INET;
    s.sin_addr = local;
    s.sin_port = htons((unsigned short)port);
    return s;
}

/* Core 0: open to the core's limit, bind to the UDP endpoints' limit, one datagram. */
static int fill_core0(void) {
    double start = seconds();
    for (long i = 0; i < per_core; i++) {
        fds[i] = dp_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        CHECK(fds[i] >= 0, "dp_socket %ld of %ld", i + 1, per_core);
    }
    errno = 0;
    CHECK(dp_socket(AF_INET, SOCK_DGRAM, 0) == -1 && errno == EMFILE, "socket %ld should fail with EMFILE", per_core + 1);
    double opened = seconds();
    for (long i = 0; i < bound_limit; i++) {
        struct sockaddr_in a = address(1024 + (int)i);
        CHECK(dp_bind(fds[i], (struct sockaddr *)&a, sizeof a) == 0, "bind of socket %ld to port %ld", i + 1, 1024 + i);
    }
    struct sockaddr_in next = address(1024 + (int)bound_limit);
    errno = 0;
    CHECK(dp_bind(fds[bound_limit], (struct sockaddr *)&next, sizeof next) == -1 && errno == EMFILE,
          "bind %ld should fail with EMFILE (--max-udp-endpoints)", bound_limit + 1);
    struct sockaddr_in used = address(1024);
    errno = 0;
    CHECK(dp_close(fds[0]) == 0 && (fds[0] = dp_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) >= 0,
          "close and reopen one socket at the limit");
    CHECK(dp_bind(fds[1], (struct sockaddr *)&used, sizeof used) == -1 && errno == EINVAL, "a second bind should be EINVAL");
    errno = 0;
    CHECK(dp_bind(fds[0], (struct sockaddr *)&used, sizeof used) == 0, "port 1024 is free again after its socket closed");
    printf("limits-check: core 0: %ld UDP sockets opened in %.2f s (EMFILE next), %ld bound in %.2f s (EMFILE next)\n",
           per_core, opened - start, bound_limit, seconds() - opened);
    return 0;
}

static int core0(void) {
    static int step;
    static double start;
    if (step == 0) {
        start = seconds();
        if (fill_core0() != 0) return -1;
        atomic_store(&phase, 1);
        step = 1;
    }
    if (step == 1 && atomic_load(&phase) == 2) {
        CHECK(dp_close(fds[per_core - 1]) == 0, "close one socket on core 0");
        atomic_store(&phase, 3);
        step = 2;
    }
    if (step == 2 && atomic_load(&phase) == 4) {
        for (long i = 0; i < per_core - 1; i++) CHECK(dp_close(fds[i]) == 0, "close of socket %ld", i + 1);
        errno = 0;
        CHECK(dp_close(fds[0]) == -1 && errno == EBADF, "a closed descriptor should be EBADF");
        printf("limits-check: ok: every socket closed, %.2f s in all\n", seconds() - start);
        return -1;  /* done: stop every core */
    }
    if (seconds() - start < 60) return 0;
    fprintf(stderr, "limits-check: FAILED: timed out in step %d, phase %d\n", step, atomic_load(&phase));
    atomic_store(&failed, 1);
    return -1;
}

/* Core 1: the group's limit (ENFILE), and the slot core 0 gives back. */
static int core1(void) {
    static int mine[16], count;
    if (atomic_load(&phase) == 1) {
        for (count = 0; count < 16; count++) {
            errno = 0;
            mine[count] = dp_socket(AF_INET, SOCK_STREAM, 0);
            if (mine[count] < 0) break;
        }
        CHECK(count == 10 && errno == ENFILE, "core 1 opened %d sockets before errno %d (expected 10, then ENFILE)", count, errno);
        atomic_store(&phase, 2);
    }
    if (atomic_load(&phase) == 3) {
        mine[count] = dp_socket(AF_INET, SOCK_STREAM, 0);
        CHECK(mine[count] >= 0, "core 1: a socket after core 0 closed one");
        count++;
        errno = 0;
        CHECK(dp_socket(AF_INET, SOCK_STREAM, 0) == -1 && errno == ENFILE, "core 1: ENFILE again");
        for (int i = 0; i < count; i++) CHECK(dp_close(mine[i]) == 0, "core 1: close");
        printf("limits-check: core 1: %d sockets, then ENFILE at the group's limit\n", count);
        atomic_store(&phase, 4);
    }
    return 0;
}

static int loop(void *arg) {
    (void)arg;
    if (atomic_load(&failed)) return -1;
    return dp_core_id() == 0 ? core0() : core1();
}

int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--max-sockets") == 0) per_core = atol(argv[i + 1]);
        if (strcmp(argv[i], "--max-udp-endpoints") == 0) bound_limit = atol(argv[i + 1]);
        if (strcmp(argv[i], "--ip") == 0) {
            char text[32];
            snprintf(text, sizeof text, "%s", argv[i + 1]);
            char *slash = strchr(text, '/');
            if (slash) *slash = 0;
            inet_pton(AF_INET, text, &local);
        }
    }
    if (per_core < 2 || bound_limit < 2 || bound_limit >= per_core || bound_limit > 64000) {
        fprintf(stderr, "limits-check: give --max-sockets N and --max-udp-endpoints B (2 <= B < N, B <= 64000)\n");
        return 2;
    }
    fds = calloc((size_t)per_core, sizeof *fds);
    if (!fds || dp_init(argc, argv) != 0) { perror("limits-check: dp_init"); return 1; }
    dp_run(loop, NULL);
    return atomic_load(&failed) || atomic_load(&phase) != 4 ? 1 : 0;
}
