// An unmodified AF_INET6 TCP echo server (issue 20): one dual-stack socket
// on [::]:PORT serves COUNT connections, one at a time, and prints each
// peer as getpeername/accept give it (IPv4 clients as ::ffff:a.b.c.d).
// Run under the preload library, its socket is the data plane's.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: ipv6-echo PORT COUNT\n"); return 2; }
    int listener = socket(AF_INET6, SOCK_STREAM, 0);
    int off = 0, on = 1;
    if (listener < 0 || setsockopt(listener, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) != 0
        || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) { perror("socket"); return 1; }
    struct sockaddr_in6 address = { .sin6_family = AF_INET6, .sin6_port = htons(atoi(argv[1])), .sin6_addr = in6addr_any };
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 16) != 0) { perror("bind/listen"); return 1; }
    printf("ipv6-echo: listening on [::]:%s\n", argv[1]);
    fflush(stdout);
    for (int served = 0; served < atoi(argv[2]); served++) {
        struct sockaddr_in6 peer;
        socklen_t length = sizeof peer;
        int connection = accept(listener, (struct sockaddr *)&peer, &length);
        if (connection < 0) { perror("accept"); return 1; }
        char text[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &peer.sin6_addr, text, sizeof text);
        struct sockaddr_in6 name;
        socklen_t name_length = sizeof name;
        if (length != sizeof peer || peer.sin6_family != AF_INET6
            || getsockname(connection, (struct sockaddr *)&name, &name_length) != 0 || name.sin6_family != AF_INET6) {
            fprintf(stderr, "ipv6-echo: not an AF_INET6 address (length %u)\n", (unsigned)length);
            return 1;
        }
        long total = 0;
        char buffer[65536];
        ssize_t n;
        while ((n = read(connection, buffer, sizeof buffer)) > 0) {
            for (ssize_t sent = 0; sent < n;) {
                ssize_t w = write(connection, buffer + sent, n - sent);
                if (w <= 0) { perror("write"); return 1; }
                sent += w;
            }
            total += n;
        }
        // The process exits after the last one: let close wait for the peer's ACKs.
        struct linger linger = { .l_onoff = 1, .l_linger = 5 };
        setsockopt(connection, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
        close(connection);
        printf("ipv6-echo: peer %s port %u echoed %ld bytes\n", text, ntohs(peer.sin6_port), total);
        fflush(stdout);
    }
    close(listener);
    sleep(1);  // our FIN's ACK and any retransmission before the data plane stops
    return 0;
}
