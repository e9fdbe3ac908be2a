#pragma once
// CPU helpers for poll loops: time-stamp counter, spin hint, prefetch, and
// the calling thread's core id (a thread-local, read in one instruction).
#include <stdint.h>

static inline uint64_t dp_rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline void dp_pause(void) { __asm__ volatile("pause"); }
static inline void dp_prefetch0(const void *p) { __builtin_prefetch(p, 0, 3); }
static inline void dp_prefetch_write(const void *p) { __builtin_prefetch(p, 1, 3); }

/// The Dataplane core index of this thread, or -1 on a thread that is not a
/// Dataplane core (per-core caches are skipped there).
extern __thread int32_t dp_thread_core_index;
static inline int32_t dp_current_core(void) { return dp_thread_core_index; }
static inline void dp_set_current_core(int32_t core) { dp_thread_core_index = core; }

/// Gives the CPU to another thread (sched_yield): for spin loops that wait
/// on a thread that may have been preempted.
void dp_yield(void);
