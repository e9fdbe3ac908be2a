/*
 * A plain Linux echo server with one thread per core, F-Stack's
 * FF_THREAD_SOCKET shape: each thread opens its own TCP listener and UDP
 * socket on the port (SO_REUSEPORT) and serves them from its own epoll set,
 * edge-triggered as nginx does. Nothing here knows of the data plane: under
 * the LD_PRELOAD library with DP_ARGS="... --cores N" each thread claims a
 * core (Tools/test.d/52-preload.sh).
 *
 *   threads-echo PORT THREADS CONNECTIONS DATAGRAMS SECONDS
 *
 * Stops when CONNECTIONS TCP connections were echoed and closed and
 * DATAGRAMS datagrams echoed (or after SECONDS); then one more thread tries socket() and thread 0 calls
 * getsockname on thread 1's listener, and the answers are printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>

static int port, threads, wanted, wanted_datagrams, seconds;
static atomic_int closed_total, datagram_total;
static int listeners[64];
static atomic_int ready;

struct counts { int connections, datagrams; };
static struct counts counts[64];

static int open_socket(int type) {
    int fd = socket(AF_INET, type | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) { perror("bind"); exit(2); }
    if (type == SOCK_STREAM && listen(fd, 128) != 0) { perror("listen"); exit(2); }
    return fd;
}

static void serve_connection(int fd, struct counts *mine) {
    char buffer[16384];
    for (;;) {
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n > 0) {
            ssize_t sent = 0;
            while (sent < n) {  /* the peer reads as it sends: a short wait for room is fine here */
                ssize_t m = write(fd, buffer + sent, (size_t)(n - sent));
                if (m > 0) sent += m;
                else if (m < 0 && errno != EAGAIN) { close(fd); return; }
                else { struct pollfd item = { fd, POLLOUT, 0 }; poll(&item, 1, 100); }
            }
            continue;
        }
        if (n == 0 || errno != EAGAIN) {
            close(fd);
            mine->connections++;
            atomic_fetch_add(&closed_total, 1);
        }
        return;
    }
}

static void *serve(void *argument) {
    int index = (int)(long)argument;
    struct counts *mine = &counts[index];
    int listener = open_socket(SOCK_STREAM), udp = open_socket(SOCK_DGRAM);
    listeners[index] = listener;
    int set = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event event = { .events = EPOLLIN | EPOLLET, .data.fd = listener };
    epoll_ctl(set, EPOLL_CTL_ADD, listener, &event);
    event.data.fd = udp;
    epoll_ctl(set, EPOLL_CTL_ADD, udp, &event);
    atomic_fetch_add(&ready, 1);
    printf("threads-echo: thread %d serving port %d\n", index, port);
    fflush(stdout);
    time_t end = time(NULL) + seconds;
    while ((atomic_load(&closed_total) < wanted || atomic_load(&datagram_total) < wanted_datagrams) && time(NULL) < end) {
        struct epoll_event events[64];
        int n = epoll_wait(set, events, 64, 100);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == listener) {
                int child;
                while ((child = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct epoll_event e = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.fd = child };
                    epoll_ctl(set, EPOLL_CTL_ADD, child, &e);
                }
            } else if (fd == udp) {
                char datagram[2048];
                struct sockaddr_in from;
                socklen_t length = sizeof from;
                ssize_t got;
                while ((got = recvfrom(udp, datagram, sizeof datagram, 0, (struct sockaddr *)&from, &length)) >= 0) {
                    sendto(udp, datagram, (size_t)got, 0, (struct sockaddr *)&from, length);
                    mine->datagrams++;
                    atomic_fetch_add(&datagram_total, 1);
                    length = sizeof from;
                }
            } else {
                serve_connection(fd, mine);
            }
        }
    }
    return NULL;
}

static void *extra(void *unused) {
    (void)unused;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    printf("threads-echo: an extra thread's socket(): %s\n", fd >= 0 ? "a descriptor" : strerror(errno));
    if (fd >= 0) close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: threads-echo PORT THREADS CONNECTIONS DATAGRAMS SECONDS\n"); return 2; }
    port = atoi(argv[1]), threads = atoi(argv[2]), wanted = atoi(argv[3]), wanted_datagrams = atoi(argv[4]);
    seconds = atoi(argv[5]);
    if (threads < 1 || threads > 64) return 2;
    pthread_t ids[64];
    for (int i = 0; i < threads; i++) {
        pthread_create(&ids[i], NULL, serve, (void *)(long)i);
        while (atomic_load(&ready) <= i) usleep(1000);  /* thread i claims core i */
    }
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    int total = 0;
    for (int i = 0; i < threads; i++) {
        printf("threads-echo: thread %d: %d connections, %d datagrams\n", i, counts[i].connections, counts[i].datagrams);
        total += counts[i].connections;
    }
    printf("threads-echo: %d connections in all\n", total);
    pthread_t other;
    pthread_create(&other, NULL, extra, NULL);
    pthread_join(other, NULL);
    if (threads > 1) {
        struct sockaddr_in name;
        socklen_t length = sizeof name;
        int result = getsockname(listeners[1], (struct sockaddr *)&name, &length);
        printf("threads-echo: the main thread's getsockname on thread 1's listener: %s\n", result == 0 ? "0" : strerror(errno));
    }
    return total >= wanted ? 0 : 1;
}
