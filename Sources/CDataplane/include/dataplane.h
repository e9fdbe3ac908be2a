/*
 * Dataplane: the BSD socket API of a userspace, poll-mode TCP/UDP/IPv4
 * stack, for C applications. Every dp_* call mirrors the libc call of the
 * same name (same arguments, standard <sys/socket.h> constants and
 * structs), returns -1 and sets errno on failure. A program written
 * against BSD sockets ports by renaming socket() to dp_socket() and so on.
 *
 * Descriptors belong to the core (thread) that made them: use them inside
 * the loop function given to dp_run, on that core. A descriptor of another
 * core, or a number that is no socket, is EBADF; a kernel file descriptor
 * is ENOTSOCK. See Docs/SOCKETS.md for every errno.
 */
#ifndef DATAPLANE_H
#define DATAPLANE_H

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <fcntl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Runtime. dp_init takes dp-echo's port and address flags:
 *   --tap NAME | --pci ADDR | --loopback,  --ip A.B.C.D/PREFIX,
 *   [--gateway A.B.C.D] [--mac XX:..] [--mtu N] [--cores N] [--idle-sleep-us N]
 *   [--pool-size N] [--privileged-ports capability|allowed|denied]
 *   [--capture PORT:FILE [--capture-snaplen N] [--capture-count N] [--capture-filter 'EXPR']]
 *   [--telemetry-name NAME | --no-telemetry]   (Docs/OPERATIONS.md)
 *   [--route 'PREFIX via GW [dev PORT]'] [--arp IP=MAC] [--route-config FILE]
 *   [--max-sockets N] [--max-sockets-total N] [--max-time-wait N]
 *   [--max-udp-endpoints N] [--tcp-buffer-mib N]   (Docs/SOCKETS.md "Limits")
 * --cores N (1...64): one stack and socket table per core, each on its own
 * queue of the port (the device's RSS queues where it has them, else the
 * port's frames spread in software by core 0); dp_run runs the loop on
 * every core. Each core opens its own sockets (SO_REUSEPORT to share a
 * port) and keeps its own state: see Docs/SOCKETS.md "An application on N
 * cores".
 * Unknown arguments are left alone (so applications can add their own).
 * Returns 0, or -1 with errno set and a message on stderr. */
int dp_init(int argc, char **argv);
/* Calls loop(arg) on every core on each turn of its poll loop (the calling
 * thread is core 0). loop returns 0 to go on, a negative value to stop every
 * core (as dp_stop). Returns 0 once all cores have stopped. */
int dp_run(int (*loop)(void *), void *arg);
/* The calling thread's core, or -1 outside dp_run. */
int dp_core_id(void);
/* Makes the call blocked on `core` return -1/EINTR (async-signal-safe). */
int dp_interrupt(int core);
/* Asks every core to stop after its current turn (async-signal-safe). */
void dp_stop(void);

/* Routes and static neighbours (Docs/SOCKETS.md "Routes and neighbours").
 * Addresses in network byte order. Call after dp_init: before dp_run from
 * any thread, during dp_run from a core (the change reaches the other
 * cores at their next poll step). Returns 0, or -1 with errno:
 *   EEXIST (a route to that prefix is there), ESRCH (no such route or entry),
 *   ENETUNREACH (the gateway or neighbour is on no interface's subnet),
 *   EINVAL (bad prefix length, no gateway and no port, bad MAC), ENOBUFS (table full).
 * dp_route_add: gateway NULL = on-link out of `port`; port -1 = the port whose
 * subnet holds the gateway. prefix_len 0 is the default route. */
int dp_route_add(struct in_addr destination, int prefix_len, const struct in_addr *gateway, int port);
/* gateway NULL: the route to that prefix through any gateway. */
int dp_route_del(struct in_addr destination, int prefix_len, const struct in_addr *gateway);
/* A permanent ARP entry (no ARP request is sent for it, no ARP reply changes it). */
int dp_arp_add(struct in_addr address, const unsigned char mac[6], int port);
int dp_arp_del(struct in_addr address);

/* Sockets (AF_INET; SOCK_STREAM, SOCK_DGRAM; SOCK_NONBLOCK). */
int dp_socket(int domain, int type, int protocol);
int dp_bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
int dp_connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
int dp_listen(int sockfd, int backlog);
int dp_accept(int sockfd, struct sockaddr *addr, socklen_t *addrlen);
ssize_t dp_send(int sockfd, const void *buf, size_t len, int flags);
ssize_t dp_sendto(int sockfd, const void *buf, size_t len, int flags,
                  const struct sockaddr *to, socklen_t tolen);
ssize_t dp_recv(int sockfd, void *buf, size_t len, int flags);
ssize_t dp_recvfrom(int sockfd, void *buf, size_t len, int flags,
                    struct sockaddr *from, socklen_t *fromlen);
int dp_setsockopt(int sockfd, int level, int option, const void *value, socklen_t value_len);
int dp_getsockopt(int sockfd, int level, int option, void *value, socklen_t *value_len);
int dp_close(int sockfd);
int dp_shutdown(int sockfd, int how);
int dp_getsockname(int sockfd, struct sockaddr *addr, socklen_t *addrlen);
int dp_getpeername(int sockfd, struct sockaddr *addr, socklen_t *addrlen);
/* Data-plane sockets and kernel descriptors in one set. */
int dp_poll(struct pollfd *fds, nfds_t nfds, int timeout);
/* F_GETFL/F_SETFL (O_NONBLOCK) and F_GETFD/F_SETFD (FD_CLOEXEC). */
int dp_fcntl(int sockfd, int cmd, ...);

/* Linux calls (Docs/SOCKETS.md "Linux calls" has their errno tables). */
int dp_accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
ssize_t dp_read(int fd, void *buf, size_t count);
ssize_t dp_write(int fd, const void *buf, size_t count);
ssize_t dp_readv(int fd, const struct iovec *iov, int iovcnt);
ssize_t dp_writev(int fd, const struct iovec *iov, int iovcnt);
/* msg_name, scatter/gather, MSG_TRUNC in and out; no control messages. */
ssize_t dp_sendmsg(int sockfd, const struct msghdr *msg, int flags);
ssize_t dp_recvmsg(int sockfd, struct msghdr *msg, int flags);
/* FIONBIO, FIONREAD (SIOCINQ), SIOCOUTQ, SIOCATMARK; others ENOTTY. */
int dp_ioctl(int fd, unsigned long request, ...);
/* epoll(7) as Linux has it: level- and edge-triggered, EPOLLONESHOT,
 * EPOLLIN/OUT/ERR/HUP/RDHUP/PRI, data returned as given. The set's
 * descriptor is a kernel epoll instance: it may hold kernel descriptors
 * (pipes, eventfd, timerfd) beside data-plane sockets of one core, and
 * dp_epoll_wait runs that core while it waits. Close it with dp_close. */
int dp_epoll_create(int size);
int dp_epoll_create1(int flags);
int dp_epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
int dp_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);

#ifdef __cplusplus
}
#endif
#endif
