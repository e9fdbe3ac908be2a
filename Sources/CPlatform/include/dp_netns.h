#pragma once
// Moving the calling thread between network namespaces (setns), so that a
// test can open a tap inside a namespace it made.

/// Opens the calling thread's current network namespace (to come back to);
/// a file descriptor or -errno.
int dp_netns_current(void);
/// Moves the calling thread into the namespace at `path` (for example
/// /var/run/netns/NAME); 0 or -errno.
int dp_netns_enter_path(const char *path);
/// Moves the calling thread into the namespace `fd`; 0 or -errno.
int dp_netns_enter_fd(int fd);
