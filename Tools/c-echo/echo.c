/*
 * A TCP + UDP echo server written against BSD sockets and ported to
 * Dataplane by renaming the calls (socket -> dp_socket, ...). Build it with
 * -DKERNEL_SOCKETS to get the original kernel-socket program back: the
 * only differences are the names below and the runtime (dp_init/dp_run).
 * With dp_init's --cores N the loop runs on N cores at once: each core has
 * its own server state (indexed by dp_core_id) and its own listening and
 * UDP sockets on the port (SO_REUSEPORT), as with one process per core.
 *
 *   echo [dp_init flags: --tap NAME --ip A.B.C.D/P --cores N ...] --port N [--seconds S]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#ifdef KERNEL_SOCKETS
#include <sys/socket.h>
#include <fcntl.h>
#define dp_socket socket
#define dp_bind bind
#define dp_listen listen
#define dp_accept accept
#define dp_recv recv
#define dp_send send
#define dp_recvfrom recvfrom
#define dp_sendto sendto
#define dp_close close
#define dp_fcntl fcntl
#define dp_setsockopt setsockopt
static volatile sig_atomic_t stop_requested;
static void dp_stop(void) { stop_requested = 1; }
static int dp_init(int argc, char **argv) { (void)argc; (void)argv; return 0; }
static int dp_core_id(void) { return 0; }
static int dp_run(int (*loop)(void *), void *arg) {
    while (!stop_requested && loop(arg) >= 0) usleep(100);
    return 0;
}
#else
#include "dataplane.h"
#endif

#define MAX_CORES 64
#define MAX_CLIENTS 1024
#define BUFFER 65536

struct client {
    int fd;
    size_t pending;   /* bytes received and not yet echoed */
    char data[BUFFER];
};

struct server {
    int port;
    double seconds;
    struct timespec started;
    int tcp, udp;
    struct client *clients[MAX_CLIENTS];
    unsigned long tcp_bytes, udp_datagrams, connections;
};

static double elapsed(const struct server *s) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - s->started.tv_sec) + (now.tv_nsec - s->started.tv_nsec) / 1e9;
}

static int set_nonblocking(int fd) {
    int flags = dp_fcntl(fd, F_GETFL, 0);
    return flags < 0 ? -1 : dp_fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Opens the listening TCP socket and the UDP socket on the port. */
static int open_sockets(struct server *s) {
    struct sockaddr_in address;
    int one = 1;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)s->port);
    address.sin_addr.s_addr = htonl(INADDR_ANY);

    s->tcp = dp_socket(AF_INET, SOCK_STREAM, 0);
    if (s->tcp < 0) { perror("socket(SOCK_STREAM)"); return -1; }
    if (dp_setsockopt(s->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) { perror("setsockopt"); return -1; }
    if (dp_setsockopt(s->tcp, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) { perror("setsockopt"); return -1; }
    if (dp_bind(s->tcp, (struct sockaddr *)&address, sizeof address) < 0) { perror("bind(tcp)"); return -1; }
    if (dp_listen(s->tcp, 128) < 0) { perror("listen"); return -1; }
    if (set_nonblocking(s->tcp) < 0) { perror("fcntl"); return -1; }

    s->udp = dp_socket(AF_INET, SOCK_DGRAM, 0);
    if (s->udp < 0) { perror("socket(SOCK_DGRAM)"); return -1; }
    if (dp_setsockopt(s->udp, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) { perror("setsockopt"); return -1; }
    if (dp_bind(s->udp, (struct sockaddr *)&address, sizeof address) < 0) { perror("bind(udp)"); return -1; }
    if (set_nonblocking(s->udp) < 0) { perror("fcntl"); return -1; }
    printf("echo: core %d serving TCP and UDP echo on port %d\n", dp_core_id(), s->port);
    fflush(stdout);
    return 0;
}

static void drop(struct server *s, int i) {
    dp_close(s->clients[i]->fd);
    free(s->clients[i]);
    s->clients[i] = NULL;
}

static void accept_clients(struct server *s) {
    for (;;) {
        struct sockaddr_in peer;
        socklen_t length = sizeof peer;
        int fd = dp_accept(s->tcp, (struct sockaddr *)&peer, &length);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) perror("accept");
            return;
        }
        int i;
        for (i = 0; i < MAX_CLIENTS && s->clients[i]; i++) {}
        if (i == MAX_CLIENTS || set_nonblocking(fd) < 0) { dp_close(fd); continue; }
        s->clients[i] = calloc(1, sizeof(struct client));
        if (!s->clients[i]) { dp_close(fd); continue; }
        s->clients[i]->fd = fd;
        s->connections++;
    }
}

static void serve_client(struct server *s, int i) {
    struct client *c = s->clients[i];
    if (c->pending < BUFFER) {
        ssize_t n = dp_recv(c->fd, c->data + c->pending, BUFFER - c->pending, 0);
        if (n == 0) { drop(s, i); return; }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { drop(s, i); return; }
        if (n > 0) { c->pending += (size_t)n; s->tcp_bytes += (unsigned long)n; }
    }
    if (c->pending > 0) {
        ssize_t n = dp_send(c->fd, c->data, c->pending, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { drop(s, i); return; }
        if (n > 0) {
            memmove(c->data, c->data + n, c->pending - (size_t)n);
            c->pending -= (size_t)n;
        }
    }
}

static void serve_datagrams(struct server *s) {
    static char datagram[65536];
    for (;;) {
        struct sockaddr_in peer;
        socklen_t length = sizeof peer;
        ssize_t n = dp_recvfrom(s->udp, datagram, sizeof datagram, 0, (struct sockaddr *)&peer, &length);
        if (n < 0) return;
        if (dp_sendto(s->udp, datagram, (size_t)n, 0, (struct sockaddr *)&peer, length) == n) s->udp_datagrams++;
    }
}

/* Called on every turn of each core's poll loop: the core's own server. */
static int loop(void *argument) {
    struct server *s = (struct server *)argument + dp_core_id();
    if (s->tcp < 0 && open_sockets(s) < 0) return -1;
    accept_clients(s);
    for (int i = 0; i < MAX_CLIENTS; i++) if (s->clients[i]) serve_client(s, i);
    serve_datagrams(s);
    if (s->seconds > 0 && elapsed(s) >= s->seconds) return -1;
    return 0;
}

/* SIGINT/SIGTERM: every core stops after its current turn. */
static void on_signal(int signal_number) {
    (void)signal_number;
    dp_stop();
}

int main(int argc, char **argv) {
    static struct server servers[MAX_CORES];
    int port = 7;
    double seconds = 0;
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
    }
    if (dp_init(argc, argv) < 0) { perror("dp_init"); return 2; }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    for (int c = 0; c < MAX_CORES; c++) {
        servers[c].tcp = servers[c].udp = -1;
        servers[c].port = port;
        servers[c].seconds = seconds;
        clock_gettime(CLOCK_MONOTONIC, &servers[c].started);
    }
    if (dp_run(loop, servers) < 0) { perror("dp_run"); return 2; }
    unsigned long connections = 0, tcp_bytes = 0, datagrams = 0;
    for (int c = 0; c < MAX_CORES; c++) {
        if (servers[c].tcp < 0) continue;
        printf("echo: core %d: %lu connections, %lu TCP bytes, %lu datagrams\n",
               c, servers[c].connections, servers[c].tcp_bytes, servers[c].udp_datagrams);
        connections += servers[c].connections;
        tcp_bytes += servers[c].tcp_bytes;
        datagrams += servers[c].udp_datagrams;
    }
    printf("echo: %lu connections, %lu TCP bytes echoed, %lu datagrams echoed\n", connections, tcp_bytes, datagrams);
    return 0;
}
