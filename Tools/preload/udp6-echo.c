// An unmodified AF_INET6 UDP echo server (issue 20): one dual-stack socket
// on [::]:PORT echoes datagrams until one says "bye" (at most COUNT), and
// prints each new peer as recvfrom gives it (sockaddr_in6; IPv4 peers as
// ::ffff:a.b.c.d). Run under the preload library, its socket is the data
// plane's. getsockname must say [::]:PORT in a sockaddr_in6.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: udp6-echo PORT COUNT\n"); return 2; }
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    int off = 0;
    if (s < 0 || setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) != 0) { perror("socket"); return 1; }
    struct sockaddr_in6 address = { .sin6_family = AF_INET6, .sin6_port = htons(atoi(argv[1])), .sin6_addr = in6addr_any };
    if (bind(s, (struct sockaddr *)&address, sizeof address) != 0) { perror("bind"); return 1; }
    struct sockaddr_in6 name;
    socklen_t name_length = sizeof name;
    if (getsockname(s, (struct sockaddr *)&name, &name_length) != 0 || name_length != sizeof name
        || name.sin6_family != AF_INET6 || name.sin6_port != address.sin6_port) {
        fprintf(stderr, "udp6-echo: getsockname is not [::]:%s\n", argv[1]);
        return 1;
    }
    printf("udp6-echo: bound [::]:%s\n", argv[1]);
    fflush(stdout);
    static char buffer[65536];
    struct sockaddr_in6 last = { 0 };
    long bytes = 0;
    for (int echoed = 0; echoed < atoi(argv[2]); echoed++) {
        struct sockaddr_in6 peer;
        socklen_t length = sizeof peer;
        ssize_t n = recvfrom(s, buffer, sizeof buffer, 0, (struct sockaddr *)&peer, &length);
        if (n < 0) { perror("recvfrom"); return 1; }
        if (length != sizeof peer || peer.sin6_family != AF_INET6) {
            fprintf(stderr, "udp6-echo: recvfrom gave no sockaddr_in6 (length %u)\n", (unsigned)length);
            return 1;
        }
        if (memcmp(&peer.sin6_addr, &last.sin6_addr, sizeof peer.sin6_addr) != 0 || peer.sin6_port != last.sin6_port) {
            char text[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, &peer.sin6_addr, text, sizeof text);
            printf("udp6-echo: peer %s port %u\n", text, ntohs(peer.sin6_port));
            fflush(stdout);
            last = peer;
        }
        if (sendto(s, buffer, (size_t)n, 0, (struct sockaddr *)&peer, length) != n) { perror("sendto"); return 1; }
        bytes += n;
        if (n == 3 && memcmp(buffer, "bye", 3) == 0) {
            printf("udp6-echo: echoed %d datagrams, %ld bytes\n", echoed + 1, bytes);
            break;
        }
    }
    fflush(stdout);
    close(s);
    return 0;
}
