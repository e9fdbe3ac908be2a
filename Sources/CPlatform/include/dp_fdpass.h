#ifndef DP_FDPASS_H
#define DP_FDPASS_H
#include <stddef.h>
#include <sys/types.h>

// Unix-socket messages that carry one file descriptor (SCM_RIGHTS): the
// CMSG_* macros are not callable from Swift.

/// Sends `length` bytes and, when `fd` >= 0, the descriptor with them.
ssize_t dp_send_with_fd(int sock, const void *bytes, size_t length, int fd);

/// Receives up to `capacity` bytes; a descriptor that came with them is
/// stored in *fd (else -1). Returns what recvmsg returns.
ssize_t dp_receive_with_fd(int sock, void *bytes, size_t capacity, int *fd);

#endif
