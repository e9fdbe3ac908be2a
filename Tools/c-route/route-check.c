/*
 * Routes and static neighbours through the C API (dataplane.h), checked
 * against a Linux peer behind a Linux router (Tools/test.d/64-routes.sh):
 *
 *   route-check [dp_init flags] --router R --far B --port P --lost L --far-net N/LEN [--wait-file F]
 *
 * (--wait-file: start the traffic once F exists, i.e. once the script has
 * configured the kernel side of the tap.)
 *
 * Before dp_run: the errno of refused changes (ENETUNREACH, EINVAL, ESRCH).
 * On the core: a UDP connect to B fails with ENETUNREACH while there is no
 * route; with dp_route_add(N/LEN via R) a datagram to B's UDP echo on P
 * comes back; a second add is EEXIST; after dp_route_del a send fails with
 * ENETUNREACH again and a second delete is ESRCH. A TCP connect to L (on
 * our subnet, nobody there) fails with EHOSTUNREACH once ARP gives up, as
 * Linux reports it. Prints "route-check: ok" and exits 0, else the first
 * failed step and exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "dataplane.h"

static struct in_addr router, far, lost, far_net;
static int far_len, port;
static int failed;
static const char *wait_file;

#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "route-check: FAILED: " __VA_ARGS__); \
    fprintf(stderr, " (errno %d: %s)\n", errno, strerror(errno)); failed = 1; dp_stop(); return -1; } } while (0)

static struct sockaddr_in address(struct in_addr a, int p) {
    struct sockaddr_in s;
    memset(&s, 0, sizeof s);
    s.sin_family = AF_INET;
    s.sin_addr = a;
    s.sin_port = htons((unsigned short)p);
    return s;
}

static int udp_socket(void) {
    int fd = dp_socket(AF_INET, SOCK_DGRAM, 0);
    struct timeval timeout = { .tv_sec = 8, .tv_usec = 0 };
    if (fd >= 0) dp_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return fd;
}

static int run(void *arg) {
    (void)arg;
    char buffer[64];
    int fd = udp_socket();
    CHECK(fd >= 0, "dp_socket");
    struct sockaddr_in target = address(far, port);
    errno = 0;
    CHECK(dp_connect(fd, (struct sockaddr *)&target, sizeof target) == -1 && errno == ENETUNREACH,
          "connect to %s without a route should fail with ENETUNREACH", inet_ntoa(far));
    CHECK(dp_route_add(far_net, far_len, &router, -1) == 0, "dp_route_add");
    errno = 0;
    CHECK(dp_route_add(far_net, far_len, &router, -1) == -1 && errno == EEXIST, "a second dp_route_add should be EEXIST");
    CHECK(dp_connect(fd, (struct sockaddr *)&target, sizeof target) == 0, "connect through the route");
    CHECK(dp_send(fd, "through R", 9, 0) == 9, "send through the route");
    ssize_t n = dp_recv(fd, buffer, sizeof buffer, 0);
    CHECK(n == 9 && memcmp(buffer, "through R", 9) == 0, "the echo from %s through the router", inet_ntoa(far));
    printf("route-check: echo through the static route ok\n");
    CHECK(dp_route_del(far_net, far_len, NULL) == 0, "dp_route_del");
    errno = 0;
    CHECK(dp_route_del(far_net, far_len, NULL) == -1 && errno == ESRCH, "a second dp_route_del should be ESRCH");
    errno = 0;
    CHECK(dp_send(fd, "no route", 8, 0) == -1 && errno == ENETUNREACH, "send after dp_route_del should be ENETUNREACH");
    dp_close(fd);
    printf("route-check: removed at run time ok\n");

    /* As Linux: a TCP connect whose SYN's next hop never answers ARP fails
       with EHOSTUNREACH (a UDP socket would hear nothing: a soft error). */
    fd = dp_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0, "dp_socket(SOCK_STREAM)");
    struct sockaddr_in nobody = address(lost, port);
    errno = 0;
    CHECK(dp_connect(fd, (struct sockaddr *)&nobody, sizeof nobody) == -1 && errno == EHOSTUNREACH,
          "connect to %s (on our subnet, nobody there) should fail with EHOSTUNREACH once ARP gives up", inet_ntoa(lost));
    dp_close(fd);
    printf("route-check: EHOSTUNREACH after ARP failure ok\n");
    dp_stop();
    return -1;
}

int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "--router")) inet_aton(argv[++i], &router);
        else if (!strcmp(argv[i], "--far")) inet_aton(argv[++i], &far);
        else if (!strcmp(argv[i], "--lost")) inet_aton(argv[++i], &lost);
        else if (!strcmp(argv[i], "--port")) port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--wait-file")) wait_file = argv[++i];
        else if (!strcmp(argv[i], "--far-net")) {
            char *slash = strchr(argv[++i], '/');
            if (!slash) { fprintf(stderr, "--far-net A.B.C.D/LEN\n"); return 2; }
            *slash = 0;
            inet_aton(argv[i], &far_net);
            far_len = atoi(slash + 1);
        }
    }
    if (dp_init(argc, argv) != 0) { perror("dp_init"); return 1; }
    /* Refused before dp_run, with Linux's errno. */
    struct in_addr offlink;
    inet_aton("192.0.2.1", &offlink);
    errno = 0;
    if (dp_route_add(far_net, far_len, &offlink, -1) != -1 || errno != ENETUNREACH) {
        fprintf(stderr, "route-check: FAILED: a gateway off our subnet should be ENETUNREACH (errno %d)\n", errno);
        return 1;
    }
    errno = 0;
    if (dp_route_add(far_net, 33, &router, -1) != -1 || errno != EINVAL) {
        fprintf(stderr, "route-check: FAILED: prefix length 33 should be EINVAL (errno %d)\n", errno);
        return 1;
    }
    errno = 0;
    if (dp_arp_del(lost) != -1 || errno != ESRCH) {
        fprintf(stderr, "route-check: FAILED: dp_arp_del of nothing should be ESRCH (errno %d)\n", errno);
        return 1;
    }
    printf("route-check: refused changes ok\n");
    fflush(stdout);
    for (int i = 0; wait_file && access(wait_file, F_OK) != 0 && i < 300; i++) usleep(100000);
    dp_run(run, NULL);
    if (failed) return 1;
    printf("route-check: ok\n");
    return 0;
}
