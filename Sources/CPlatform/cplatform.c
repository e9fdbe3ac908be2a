#define _GNU_SOURCE
#include "dp_cpu.h"
#include "dp_ioport.h"
#include "dp_syscall.h"
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/io.h>
#include <sys/ioctl.h>

__thread int32_t dp_thread_core_index = -1;

int dp_iopl(int level) { return iopl(level); }

int dp_ioctl_ptr(int fd, unsigned long request, void *argument) {
    return ioctl(fd, request, argument);
}

int dp_ioctl_int(int fd, unsigned long request, unsigned long argument) {
    return ioctl(fd, request, argument);
}

int dp_pin_current_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int dp_pin_current_thread_to_set(const uint8_t *mask, int bytes) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu = 0; cpu < bytes * 8 && cpu < CPU_SETSIZE; cpu++) {
        if (mask[cpu / 8] & (1u << (cpu % 8))) CPU_SET(cpu, &set);
    }
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int dp_current_cpu(void) { return sched_getcpu(); }

int dp_open(const char *path, int flags) { return open(path, flags); }

int dp_allowed_cpus(uint8_t *mask, int bytes) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    for (int cpu = 0; cpu < bytes * 8 && cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &set)) mask[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
        else mask[cpu / 8] &= (uint8_t)~(1u << (cpu % 8));
    }
    return 0;
}

void dp_yield(void) { sched_yield(); }
