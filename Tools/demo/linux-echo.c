/* The Linux kernel stack's side of the guest comparison in ./Tools/demo.sh:
 * UDP echo and TCP echo on one port, on every address, one thread with epoll
 * (as dp-echo serves on one core). Runs for at most SECONDS, or until a
 * UDP datagram "stop" arrives on STOP_PORT (as dp-echo --stop-port).
 * With SINK_PORT and SOURCE_PORT it also serves the one-way transfers of
 * Tools/demo/tcp_oneway.py (dp-echo --tcp-sink/--tcp-source, the same
 * protocol): each connection in a thread of its own with blocking calls, the
 * kernel stack's plainest bulk path. The sink keeps what arrives in storage
 * written once at start (as dp-echo's SinkStorage), so a transfer does not
 * page-fault in a fresh 128 MiB (a fault per 4 KiB, each zeroing its page,
 * in the guest's timed transfer).
 * Usage: linux-echo PORT SECONDS STOP_PORT [SINK_PORT SOURCE_PORT] */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include "sha256.h"

static int bound(int type, int port) {
    int fd = socket(AF_INET, type | SOCK_NONBLOCK, 0), one = 1;
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY) };
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) < 0) { perror("linux-echo: bind"); exit(2); }
    if (type == SOCK_STREAM && listen(fd, 1024) < 0) { perror("linux-echo: listen"); exit(2); }
    return fd;
}

#define SINK_CAPACITY (128 << 20)
#define PERIOD 65521 /* prime, as TCPOneWay.period */

static int write_all(int fd, const void *data, size_t n) {
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w; n -= (size_t)w;
    }
    return 0;
}

/* Sink: keep everything to the end of the stream, answer "COUNT\n" at once
 * (the peer's clock stops there), then "SHA256HEX\n" of what arrived. */
/* The sink's storage, lent to one sink at a time (another at once gets its own). */
static uint8_t *kept_storage;
static atomic_int kept_storage_busy;

static void keep_sink_storage(void) {
    kept_storage = malloc(SINK_CAPACITY);
    if (kept_storage) memset(kept_storage, 0, SINK_CAPACITY); /* every page faulted in now */
}

static uint8_t *take_storage(int *own) {
    *own = !(kept_storage && !atomic_exchange(&kept_storage_busy, 1));
    return *own ? malloc(SINK_CAPACITY) : kept_storage;
}

static void give_storage(uint8_t *storage, int own) {
    if (own) free(storage); else atomic_store(&kept_storage_busy, 0);
}

static void sink(int fd) {
    int own;
    uint8_t *storage = take_storage(&own);
    if (!storage) return;
    size_t got = 0;
    ssize_t n;
    int overflow = 0;
    while ((n = read(fd, storage + (got < SINK_CAPACITY - 65536 ? got : SINK_CAPACITY - 65536), 65536)) > 0) {
        got += (size_t)n;
        overflow |= got > SINK_CAPACITY - 65536;
    }
    char line[96];
    int length = snprintf(line, sizeof line, "%zu\n", got);
    write_all(fd, line, (size_t)length);
    struct sha256 hash;
    char hex[65];
    sha256_init(&hash);
    sha256_update(&hash, storage, got < SINK_CAPACITY ? got : SINK_CAPACITY);
    sha256_finish_hex(&hash, hex);
    length = snprintf(line, sizeof line, "%s\n", overflow ? "overflow" : hex);
    write_all(fd, line, (size_t)length);
    printf("linux-echo: tcp sink %zu bytes, sha256 %s\n", got, overflow ? "overflow" : hex);
    give_storage(storage, own);
}

/* Source: read "COUNT\n", send COUNT bytes of the xorshift pattern, then
 * "SHA256HEX\n" of them. */
static void source(int fd) {
    char request[24];
    size_t used = 0;
    while (used < sizeof request - 1 && read(fd, request + used, 1) == 1 && request[used] != '\n') used++;
    request[used] = 0;
    size_t wanted = strtoul(request, NULL, 10), sent = 0;
    if (wanted > (1u << 30)) wanted = 1u << 30;
    static uint8_t pattern[2 * PERIOD];
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < PERIOD; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        pattern[i] = pattern[i + PERIOD] = (uint8_t)(x >> 32);
    }
    while (sent < wanted) {
        size_t n = wanted - sent < PERIOD ? wanted - sent : PERIOD;
        ssize_t w = write(fd, pattern + sent % PERIOD, n);
        if (w <= 0) return;
        sent += (size_t)w;
    }
    struct sha256 hash;
    char hex[65], line[80];
    sha256_init(&hash);
    for (size_t left = sent; left > 0;) {
        size_t n = left < PERIOD ? left : PERIOD;
        sha256_update(&hash, pattern, n);
        left -= n;
    }
    sha256_finish_hex(&hash, hex);
    int length = snprintf(line, sizeof line, "%s\n", hex);
    write_all(fd, line, (size_t)length);
    printf("linux-echo: tcp source %zu bytes, sha256 %s\n", sent, hex);
}

struct one_way_job { int fd; void (*serve)(int); };

static void *run_one_way(void *argument) {
    struct one_way_job job = *(struct one_way_job *)argument;
    free(argument);
    job.serve(job.fd);
    close(job.fd);
    fflush(stdout);
    return NULL;
}

/* Accepts on a one-way listener; each connection runs in a thread. */
static void one_way(int listener, void (*serve)(int)) {
    int client;
    while ((client = accept(listener, NULL, NULL)) >= 0) {
        struct one_way_job *job = malloc(sizeof *job);
        pthread_t thread;
        if (!job) { close(client); continue; }
        job->fd = client;
        job->serve = serve;
        if (pthread_create(&thread, NULL, run_one_way, job) != 0) { free(job); close(client); continue; }
        pthread_detach(thread);
    }
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 6) { fprintf(stderr, "usage: linux-echo PORT SECONDS STOP_PORT [SINK_PORT SOURCE_PORT]\n"); return 2; }
    int port = atoi(argv[1]);
    time_t end = time(NULL) + atoi(argv[2]);
    int udp = bound(SOCK_DGRAM, port), tcp = bound(SOCK_STREAM, port), stop = bound(SOCK_DGRAM, atoi(argv[3]));
    int stopped = 0;
    int ep = epoll_create1(0);
    struct epoll_event event = { .events = EPOLLIN, .data.fd = udp };
    epoll_ctl(ep, EPOLL_CTL_ADD, udp, &event);
    event.data.fd = tcp;
    epoll_ctl(ep, EPOLL_CTL_ADD, tcp, &event);
    event.data.fd = stop;
    epoll_ctl(ep, EPOLL_CTL_ADD, stop, &event);
    int sink_listener = -1, source_listener = -1;
    if (argc == 6) {
        sink_listener = bound(SOCK_STREAM, atoi(argv[4]));
        keep_sink_storage();
        source_listener = bound(SOCK_STREAM, atoi(argv[5]));
        event.data.fd = sink_listener;
        epoll_ctl(ep, EPOLL_CTL_ADD, sink_listener, &event);
        event.data.fd = source_listener;
        epoll_ctl(ep, EPOLL_CTL_ADD, source_listener, &event);
    }
    static char buffer[65536];
    unsigned long datagrams = 0, connections = 0, bytes = 0;
    printf("linux-echo: udp and tcp echo on %d\n", port);
    fflush(stdout);
    while (!stopped && time(NULL) < end) {
        struct epoll_event events[64];
        int n = epoll_wait(ep, events, 64, 500);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == sink_listener || fd == source_listener) {
                one_way(fd, fd == sink_listener ? sink : source);
            } else if (fd == stop) {
                ssize_t got = recv(stop, buffer, sizeof buffer, 0);
                stopped = got >= 4 && memcmp(buffer, "stop", 4) == 0;
            } else if (fd == udp) {
                for (int k = 0; k < 64; k++) {
                    struct sockaddr_in from; socklen_t length = sizeof from;
                    ssize_t got = recvfrom(udp, buffer, sizeof buffer, 0, (struct sockaddr *)&from, &length);
                    if (got < 0) break;
                    sendto(udp, buffer, got, 0, (struct sockaddr *)&from, length);
                    datagrams++;
                }
            } else if (fd == tcp) {
                int client;
                while ((client = accept4(tcp, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct epoll_event add = { .events = EPOLLIN, .data.fd = client };
                    epoll_ctl(ep, EPOLL_CTL_ADD, client, &add);
                    connections++;
                }
            } else {
                ssize_t got = read(fd, buffer, sizeof buffer);
                if (got > 0) {
                    /* Echo it all: block briefly on a full send buffer rather than lose bytes. */
                    ssize_t sent = 0;
                    while (sent < got) {
                        ssize_t w = write(fd, buffer + sent, got - sent);
                        if (w > 0) sent += w;
                        else if (w < 0 && errno != EAGAIN) break;
                        else usleep(50);
                    }
                    bytes += got;
                } else if (got == 0 || errno != EAGAIN) {
                    close(fd);
                }
            }
        }
    }
    printf("linux-echo: %lu datagrams echoed, %lu TCP connections, %lu TCP bytes echoed\n", datagrams, connections, bytes);
    return 0;
}
