// peer-load: the demo's load generator, run by demo-peer.py in the lab's
// namespace. Written in C so that the figures measure the guest, not the
// peer: one Python process tops out near 50k UDP round trips/s, which is
// what the guest stacks reach here.
//
//   peer-load udp IP PORT SECONDS WINDOW   UDP echo, WINDOW 18-byte datagrams in flight
//   peer-load conn IP PORT SECONDS         sequential TCP connect, 1 byte echoed, close
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

static int connection_rate(struct sockaddr_in *to, double seconds) {
    long done = 0, failed = 0;
    double start = now(), end = start + seconds;
    while (now() < end) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0) { perror("peer-load: tcp socket"); return 1; }
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct timeval timeout = {.tv_sec = 0, .tv_usec = 500000};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        char byte = 'x';
        if (connect(c, (struct sockaddr *)to, sizeof *to) == 0 && send(c, &byte, 1, 0) == 1 && recv(c, &byte, 1, 0) == 1)
            done++;
        else
            failed++;
        close(c);
    }
    if (done == 0) { fprintf(stderr, "peer-load: no connection succeeded (%ld failed)\n", failed); return 1; }
    printf("%.0f connections/s\n", done / (now() - start));
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: peer-load udp IP PORT SECONDS WINDOW | peer-load conn IP PORT SECONDS\n");
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
    if (strcmp(argv[1], "conn") == 0) return connection_rate(&to, seconds);
    fprintf(stderr, "peer-load: unknown mode '%s'\n", argv[1]);
    return 2;
}
