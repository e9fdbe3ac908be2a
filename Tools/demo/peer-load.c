// peer-load: the demo's load generator, run by demo-peer.py in the lab's
// namespace. Written in C so that the figures measure the guest, not the
// peer: one Python process tops out near 50k UDP round trips/s, which is
// what the guest stacks reach here.
//
//   peer-load udp IP PORT SECONDS WINDOW   UDP echo, WINDOW 18-byte datagrams in flight
//   peer-load conn IP PORT SECONDS [PARALLEL]
//                                          TCP connect, 1 byte echoed, close; PARALLEL
//                                          connections at a time (default 1)
//
// Prints one line "RATE UNIT" on success; exits 1 with a message otherwise.
// Every loop ends at SECONDS (and each wait at 0.5 s): bounded by time.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

// Waits up to `ms` for `events` on `fd`; 1 when ready.
static int wait_for(int fd, short events, int ms) {
    struct pollfd p = {.fd = fd, .events = events};
    return poll(&p, 1, ms) == 1 && (p.revents & events);
}

static int udp_rate(struct sockaddr_in *to, double seconds, int window) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)to, sizeof *to) < 0) { perror("peer-load: udp socket"); return 1; }
    char payload[18] = "dataplane-peerload", buffer[2048];
    long sent = 0, received = 0, lost = 0;
    double start = now(), end = start + seconds;
    while (now() < end) {
        while (sent - received - lost < window) {
            if (send(s, payload, sizeof payload, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != ECONNREFUSED) {
                perror("peer-load: send");  // refused: an ICMP error for an earlier datagram; counted lost
                return 1;
            }
            sent++;
        }
        if (!wait_for(s, POLLIN, 500)) { lost = sent - received; continue; }  // refill the window
        while (recv(s, buffer, sizeof buffer, MSG_DONTWAIT) > 0) received++;
    }
    printf("%.0f round-trips/s\n", received / (now() - start));
    close(s);
    return 0;
}

// One connection slot of `conn`: a non-blocking socket going through
// connect, a 1-byte send and the 1-byte echo, then closed and reopened.
struct slot {
    int fd;
    int state;        // 0 connecting, 1 waiting for the echo
    double deadline;  // a slot stuck past this counts as failed and restarts
};

// Source ports are chosen here, in turn over 10000-65535, not by the
// kernel: each connection we close leaves a TIME-WAIT entry on our side,
// and once some ten thousand exist Linux's connect() spends milliseconds
// searching for a free port, which would cap the rate we measure.
static int next_port = 0;

static void bind_next_port(int fd) {
    if (next_port == 0) next_port = 10000 + (int)(getpid() % 50000);
    for (int attempt = 0; attempt < 64; attempt++) {
        struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(next_port)};
        next_port = next_port >= 65535 ? 10000 : next_port + 1;
        if (bind(fd, (struct sockaddr *)&local, sizeof local) == 0) return;
    }
    // None free: leave it to connect()'s own search.
}

static int open_slot(struct slot *slot, struct sockaddr_in *to) {
    slot->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (slot->fd < 0) { perror("peer-load: tcp socket"); return -1; }
    int one = 1;
    setsockopt(slot->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Binding a port whose earlier connections are in TIME-WAIT needs this.
    setsockopt(slot->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bind_next_port(slot->fd);
    slot->state = 0;
    slot->deadline = now() + 0.5;
    if (connect(slot->fd, (struct sockaddr *)to, sizeof *to) < 0 && errno != EINPROGRESS) {
        close(slot->fd);
        slot->fd = -1;
        return 1;  // refused at once: counted failed by the caller
    }
    return 0;
}

// PARALLEL slots each do connect / 1 byte echoed / close, one after another,
// until SECONDS: with 1 it measures a connection's latency, with more the
// server's connection rate (as wrk -c or ab -c do).
static int connection_rate(struct sockaddr_in *to, double seconds, int parallel) {
    struct slot slots[256];
    struct pollfd polls[256];
    long done = 0, failed = 0;
    double start = now(), end = start + seconds;
    for (int i = 0; i < parallel; i++) {
        int status = open_slot(&slots[i], to);
        if (status < 0) return 1;
        if (status > 0) failed++;
    }
    while (now() < end) {
        for (int i = 0; i < parallel; i++) {
            polls[i].fd = slots[i].fd;
            polls[i].events = slots[i].state == 0 ? POLLOUT : POLLIN;
            polls[i].revents = 0;
        }
        poll(polls, parallel, 50);
        double t = now();
        for (int i = 0; i < parallel; i++) {
            struct slot *slot = &slots[i];
            int finished = 0, ok = 0;
            if (slot->fd < 0) {
                finished = 1;  // a connect refused at once: try again
            } else if (polls[i].revents & (POLLERR | POLLHUP)) {
                finished = 1;
            } else if (slot->state == 0 && (polls[i].revents & POLLOUT)) {
                int error = 0;
                socklen_t length = sizeof error;
                getsockopt(slot->fd, SOL_SOCKET, SO_ERROR, &error, &length);
                char byte = 'x';
                if (error == 0 && send(slot->fd, &byte, 1, MSG_NOSIGNAL) == 1) slot->state = 1;
                else finished = 1;
            } else if (slot->state == 1 && (polls[i].revents & POLLIN)) {
                char byte;
                ok = recv(slot->fd, &byte, 1, 0) == 1 && byte == 'x';
                finished = 1;
            } else if (t > slot->deadline) {
                finished = 1;
            }
            if (!finished) continue;
            if (ok) done++; else failed++;
            if (slot->fd >= 0) close(slot->fd);
            if (t >= end) { slot->fd = -1; continue; }
            int status = open_slot(slot, to);
            if (status < 0) return 1;
        }
    }
    double elapsed = now() - start;
    for (int i = 0; i < parallel; i++) if (slots[i].fd >= 0) close(slots[i].fd);
    if (done == 0) { fprintf(stderr, "peer-load: no connection succeeded (%ld failed)\n", failed); return 1; }
    if (failed > done / 100) fprintf(stderr, "peer-load: %ld of %ld connections failed\n", failed, done + failed);
    printf("%.0f connections/s\n", done / elapsed);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: peer-load udp IP PORT SECONDS WINDOW | peer-load conn IP PORT SECONDS [PARALLEL]\n");
        return 2;
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
    double seconds = atof(argv[4]);
    if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1 || !(seconds > 0 && seconds <= 600)) {
        fprintf(stderr, "peer-load: bad address '%s' or seconds '%s' (0 < seconds <= 600)\n", argv[2], argv[4]);
        return 2;
    }
    if (strcmp(argv[1], "udp") == 0 && argc == 6) {
        int window = atoi(argv[5]);
        if (window < 1 || window > 1024) { fprintf(stderr, "peer-load: window 1...1024\n"); return 2; }
        return udp_rate(&to, seconds, window);
    }
    if (strcmp(argv[1], "conn") == 0) {
        int parallel = argc >= 6 ? atoi(argv[5]) : 1;
        if (parallel < 1 || parallel > 256) { fprintf(stderr, "peer-load: parallel 1...256\n"); return 2; }
        return connection_rate(&to, seconds, parallel);
    }
    fprintf(stderr, "peer-load: unknown mode '%s'\n", argv[1]);
    return 2;
}
