#pragma once
// Non-variadic wrappers for system calls Swift cannot call directly
// (ioctl is variadic) and thread-affinity helpers.
#include <stdint.h>
#include <sys/types.h>

/// ioctl(fd, request, argument) with a pointer argument.
int dp_ioctl_ptr(int fd, unsigned long request, void *argument);
/// ioctl(fd, request, argument) with an integer argument.
int dp_ioctl_int(int fd, unsigned long request, unsigned long argument);
/// Pins the calling thread to one CPU; 0 or an errno value.
int dp_pin_current_thread(int cpu);
/// Pins the calling thread to the CPUs whose bits are set in `mask`.
int dp_pin_current_thread_to_set(const uint8_t *mask, int bytes);
/// The CPU the calling thread runs on now, or -1.
int dp_current_cpu(void);
/// open(path, flags) without the variadic mode argument.
int dp_open(const char *path, int flags);
/// Writes the CPUs this process may run on as a bit mask into `mask`
/// (`bytes` long); 0 or -1 with errno.
int dp_allowed_cpus(uint8_t *mask, int bytes);
