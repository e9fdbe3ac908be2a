// IPv6 multicast with plain libc calls (issue 20), run under the preload
// library (its sockets are the data plane's) and, for `errnos`, natively
// on Linux so the two outputs can be compared line for line.
//
//   mcast6 errnos GROUP            each multicast option call's errno, one a line
//   mcast6 listen PORT GROUP OUTGROUP OUTPORT GOFILE
//       waits for GOFILE, then two sockets on [::]:PORT (SO_REUSEADDR) join
//       GROUP; once both received a datagram (and 3 s passed) they leave, count what still
//       arrives for 2 s, then send 20 datagrams to [OUTGROUP]:OUTPORT.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct ipv6_mreq request(const char *group, unsigned interface) {
    struct ipv6_mreq mreq = { .ipv6mr_interface = interface };
    if (inet_pton(AF_INET6, group, &mreq.ipv6mr_multiaddr) != 1) { fprintf(stderr, "mcast6: bad group %s\n", group); exit(2); }
    return mreq;
}

static int result(int status) { return status == 0 ? 0 : errno; }

static void report(const char *what, int status) {
    printf("%s: %s\n", what, status == 0 ? "ok" : strerrorname_np(status));
}

static int set_int(int s, int name, int value) { return result(setsockopt(s, IPPROTO_IPV6, name, &value, sizeof value)); }

static int errnos(const char *group) {
    int s = socket(AF_INET6, SOCK_DGRAM, 0), t = socket(AF_INET6, SOCK_STREAM, 0), four = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0 || t < 0 || four < 0) { perror("socket"); return 1; }
    struct ipv6_mreq mreq = request(group, 0), unicast = request("fd42::9", 0), nowhere = request(group, 999);
    report("join", result(setsockopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq)));
    report("join again", result(setsockopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq)));
    report("join short", result(setsockopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq - 1)));
    report("join unicast", result(setsockopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP, &unicast, sizeof unicast)));
    report("join no such interface", result(setsockopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP, &nowhere, sizeof nowhere)));
    report("join on tcp", result(setsockopt(t, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq)));
    report("join on AF_INET", result(setsockopt(four, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq)));
    report("leave", result(setsockopt(s, IPPROTO_IPV6, IPV6_LEAVE_GROUP, &mreq, sizeof mreq)));
    report("leave again", result(setsockopt(s, IPPROTO_IPV6, IPV6_LEAVE_GROUP, &mreq, sizeof mreq)));
    report("leave unicast", result(setsockopt(s, IPPROTO_IPV6, IPV6_LEAVE_GROUP, &unicast, sizeof unicast)));
    report("hops 255", set_int(s, IPV6_MULTICAST_HOPS, 255));
    report("hops 256", set_int(s, IPV6_MULTICAST_HOPS, 256));
    report("hops -2", set_int(s, IPV6_MULTICAST_HOPS, -2));
    report("hops -1", set_int(s, IPV6_MULTICAST_HOPS, -1));
    report("hops on tcp", set_int(t, IPV6_MULTICAST_HOPS, 5));
    report("loop 0", set_int(s, IPV6_MULTICAST_LOOP, 0));
    report("loop 2", set_int(s, IPV6_MULTICAST_LOOP, 2));
    report("if 999", set_int(s, IPV6_MULTICAST_IF, 999));
    report("if 0", set_int(s, IPV6_MULTICAST_IF, 0));
    report("if on tcp", set_int(t, IPV6_MULTICAST_IF, 0));
    int value = -5;
    socklen_t length = sizeof value;
    int got = result(getsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &value, &length));
    printf("get hops: %s %d\n", got == 0 ? "ok" : strerrorname_np(got), value);
    length = sizeof value;
    got = result(getsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &value, &length));
    printf("get loop: %s %d\n", got == 0 ? "ok" : strerrorname_np(got), value);
    close(s); close(t); close(four);
    return 0;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

// One datagram from s within its receive timeout, printed with its source; 1 when one came.
static int take(int s, const char *name) {
    char buffer[2048], text[INET6_ADDRSTRLEN];
    struct sockaddr_in6 peer;
    socklen_t length = sizeof peer;
    ssize_t n = recvfrom(s, buffer, sizeof buffer - 1, 0, (struct sockaddr *)&peer, &length);
    if (n < 0) return 0;
    buffer[n] = 0;
    if (name == NULL) return 1;
    inet_ntop(AF_INET6, &peer.sin6_addr, text, sizeof text);
    printf("%s got \"%s\" from %s\n", name, buffer, text);
    fflush(stdout);
    return 1;
}

static int listen_and_send(int port, const char *group, const char *outgroup, int outport, const char *go) {
    struct stat info;
    for (int i = 0; i < 400 && stat(go, &info) != 0; i++) usleep(50000);
    int sockets[2];
    struct ipv6_mreq mreq = request(group, 0);
    for (int i = 0; i < 2; i++) {
        int s = socket(AF_INET6, SOCK_DGRAM, 0), on = 1;
        struct timeval timeout = { .tv_sec = 0, .tv_usec = 50000 };
        struct sockaddr_in6 address = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any };
        if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0
            || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0
            || bind(s, (struct sockaddr *)&address, sizeof address) != 0
            || setsockopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq) != 0) { perror("mcast6: socket"); return 1; }
        sockets[i] = s;
    }
    printf("mcast6: two sockets on [::]:%d joined %s\n", port, group);
    fflush(stdout);
    int got[2] = { 0, 0 };
    // Joined for 3 s at least: the bridge's querier (every second) gets answers.
    double joined = now();
    for (double end = joined + 30; now() < end && (!(got[0] && got[1]) || now() < joined + 3);) {
        got[0] += take(sockets[0], got[0] ? NULL : "socket 1");  // the first of each printed
        got[1] += take(sockets[1], got[1] ? NULL : "socket 2");
    }
    if (!(got[0] && got[1])) { printf("mcast6: FAIL: the group's datagrams did not reach both sockets\n"); return 1; }
    for (int i = 0; i < 2; i++) {
        if (setsockopt(sockets[i], IPPROTO_IPV6, IPV6_LEAVE_GROUP, &mreq, sizeof mreq) != 0) { perror("mcast6: leave"); return 1; }
    }
    // Datagrams queued before the leave (one may have arrived while the loop
    // above waited on the other socket) are not "after the leave": the leave
    // ran on the core that delivers, so whatever is queued now came before it.
    char scratch[2048];
    int queued = 0;
    for (int i = 0; i < 2; i++) {
        while (recv(sockets[i], scratch, sizeof scratch, MSG_DONTWAIT) >= 0) queued++;
    }
    printf("mcast6: left %s (%d datagrams queued before the leave, not counted)\n", group, queued);
    fflush(stdout);
    int after = 0;
    for (double end = now() + 2; now() < end;) after += take(sockets[0], "after leave, socket 1") + take(sockets[1], "after leave, socket 2");
    printf("mcast6: %d datagrams after leave\n", after);
    int hops = 1;
    setsockopt(sockets[0], IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops);
    struct sockaddr_in6 out = { .sin6_family = AF_INET6, .sin6_port = htons(outport) };
    inet_pton(AF_INET6, outgroup, &out.sin6_addr);
    for (int i = 0; i < 20; i++) {
        char text[64];
        int n = snprintf(text, sizeof text, "from the data plane %d", i);
        if (sendto(sockets[0], text, (size_t)n, 0, (struct sockaddr *)&out, sizeof out) != n) { perror("mcast6: sendto"); return 1; }
        take(sockets[1], "socket 2 (should stay quiet)");
        usleep(50000);
    }
    printf("mcast6: sent 20 datagrams to [%s]:%d\n", outgroup, outport);
    fflush(stdout);
    close(sockets[0]);
    close(sockets[1]);
    return after == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "errnos") == 0) return errnos(argv[2]);
    if (argc == 7 && strcmp(argv[1], "listen") == 0) return listen_and_send(atoi(argv[2]), argv[3], argv[4], atoi(argv[5]), argv[6]);
    fprintf(stderr, "usage: mcast6 errnos GROUP | mcast6 listen PORT GROUP OUTGROUP OUTPORT GOFILE\n");
    return 2;
}
