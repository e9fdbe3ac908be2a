#define _GNU_SOURCE
#include "dp_packet_socket.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

unsigned int dp_packet_interface_index(const char *name) { return if_nametoindex(name); }

int dp_packet_socket_open(unsigned int ifindex, int receive_buffer) {
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) return -errno;
    // Sends block (a relay that dropped on a full send buffer would add loss
    // nobody asked for), but never for long: veth and tap free the buffer at once.
    struct timeval send_timeout = {.tv_sec = 0, .tv_usec = 100000};
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
    int one = 1;
    // Older kernels lack the option; the pkttype check in dp_packet_receive covers them.
    (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
    if (receive_buffer > 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer, sizeof(receive_buffer)) < 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    }
    struct sockaddr_ll address;
    memset(&address, 0, sizeof(address));
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = (int)ifindex;
    if (bind(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

long dp_packet_receive(int fd, void *buffer, size_t length) {
    struct sockaddr_ll from;
    socklen_t from_length = sizeof(from);
    ssize_t n = recvfrom(fd, buffer, length, MSG_TRUNC | MSG_DONTWAIT, (struct sockaddr *)&from, &from_length);
    if (n < 0) return -errno;
    if (from.sll_pkttype == PACKET_OUTGOING) return 0;
    return n;
}

long dp_packet_send(int fd, const void *buffer, size_t length) {
    ssize_t n = send(fd, buffer, length, 0);
    return n < 0 ? -errno : n;
}

long dp_packet_kernel_drops(int fd) {
    struct tpacket_stats stats;
    socklen_t length = sizeof(stats);
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &stats, &length) < 0) return -errno;
    return (long)stats.tp_drops;
}
