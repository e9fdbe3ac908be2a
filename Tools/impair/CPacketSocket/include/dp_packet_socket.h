#pragma once
// AF_PACKET raw sockets for dp-impair: struct sockaddr_ll, the PACKET_*
// socket options and MSG_TRUNC lengths are awkward from Swift, so these wrap
// them. Every function returns -errno on failure.
#include <stddef.h>
#include <stdint.h>

/// The interface index of `name` in the current network namespace, or 0
/// when there is no such interface.
unsigned int dp_packet_interface_index(const char *name);

/// Opens a SOCK_RAW AF_PACKET socket for every protocol (ETH_P_ALL), bound
/// to interface `ifindex`, that ignores the frames the interface sends
/// (PACKET_IGNORE_OUTGOING, so the relay never sees its own output), with a
/// receive buffer of `receive_buffer` bytes (SO_RCVBUFFORCE, falling back to
/// SO_RCVBUF). Receives never block (MSG_DONTWAIT); sends block for at most
/// 100 ms (SO_SNDTIMEO). Returns the descriptor or -errno.
int dp_packet_socket_open(unsigned int ifindex, int receive_buffer);

/// Receives one frame into `buffer`. Returns the frame's full length (it may
/// exceed `length`: the frame was cut short and must be dropped), 0 when
/// the frame was one the interface sent (an outgoing frame that slipped
/// through, e.g. on a kernel without PACKET_IGNORE_OUTGOING), or -errno
/// (-EAGAIN when nothing is waiting).
long dp_packet_receive(int fd, void *buffer, size_t length);

/// Sends one frame out of the interface the socket is bound to; the number
/// of bytes sent or -errno.
long dp_packet_send(int fd, const void *buffer, size_t length);

/// Frames the kernel dropped on this socket since the last call because the
/// receive buffer was full (PACKET_STATISTICS tp_drops), or -errno.
long dp_packet_kernel_drops(int fd);
