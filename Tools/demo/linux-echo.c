/* The Linux kernel stack's side of the guest comparison in ./Tools/demo.sh:
 * UDP echo and TCP echo on one port, on every address, one thread with epoll
 * (as dp-echo serves on one core). Runs for at most SECONDS, or until a
 * UDP datagram "stop" arrives on STOP_PORT (as dp-echo --stop-port).
 * Usage: linux-echo PORT SECONDS STOP_PORT */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int bound(int type, int port) {
    int fd = socket(AF_INET, type | SOCK_NONBLOCK, 0), one = 1;
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY) };
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) < 0) { perror("linux-echo: bind"); exit(2); }
    if (type == SOCK_STREAM && listen(fd, 1024) < 0) { perror("linux-echo: listen"); exit(2); }
    return fd;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: linux-echo PORT SECONDS STOP_PORT\n"); return 2; }
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
    static char buffer[65536];
    unsigned long datagrams = 0, connections = 0, bytes = 0;
    printf("linux-echo: udp and tcp echo on %d\n", port);
    fflush(stdout);
    while (!stopped && time(NULL) < end) {
        struct epoll_event events[64];
        int n = epoll_wait(ep, events, 64, 500);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == stop) {
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
