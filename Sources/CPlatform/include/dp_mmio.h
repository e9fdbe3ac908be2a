#pragma once
// Volatile device-register access and memory barriers.
//
// Nothing else in Dataplane writes device memory: a plain Swift store may be
// merged or reordered by the optimiser, a volatile one may not. Each
// function inlines to a single instruction.
#include <stdint.h>

static inline uint8_t  dp_read8 (const volatile void *a) { return *(const volatile uint8_t  *)a; }
static inline uint16_t dp_read16(const volatile void *a) { return *(const volatile uint16_t *)a; }
static inline uint32_t dp_read32(const volatile void *a) { return *(const volatile uint32_t *)a; }
static inline uint64_t dp_read64(const volatile void *a) { return *(const volatile uint64_t *)a; }

static inline void dp_write8 (volatile void *a, uint8_t  v) { *(volatile uint8_t  *)a = v; }
static inline void dp_write16(volatile void *a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void dp_write32(volatile void *a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void dp_write64(volatile void *a, uint64_t v) { *(volatile uint64_t *)a = v; }

// Barriers as DPDK defines them on x86-64.
/// Stops the compiler from moving memory accesses across it; emits nothing.
static inline void dp_compiler_barrier(void) { __asm__ volatile("" ::: "memory"); }
/// rte_rmb: loads before it complete before loads after it.
static inline void dp_rmb(void) { __asm__ volatile("lfence" ::: "memory"); }
/// rte_wmb: stores before it are visible before stores after it (also to
/// write-combining memory).
static inline void dp_wmb(void) { __asm__ volatile("sfence" ::: "memory"); }
/// rte_mb: a full barrier.
static inline void dp_mb(void) { __asm__ volatile("mfence" ::: "memory"); }
/// rte_smp_mb: a full barrier between cores on cacheable memory (cheaper
/// than mfence on x86).
static inline void dp_smp_mb(void) {
    __asm__ volatile("lock addl $0, -128(%%rsp)" ::: "memory");
}
/// rte_io_wmb / rte_io_rmb / rte_smp_wmb / rte_smp_rmb: x86 keeps
/// store-store and load-load order on cacheable memory, so only the
/// compiler must be held back (descriptor writes before the doorbell).
static inline void dp_io_wmb(void) { dp_compiler_barrier(); }
static inline void dp_io_rmb(void) { dp_compiler_barrier(); }
