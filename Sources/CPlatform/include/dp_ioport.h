#pragma once
// x86 I/O-port access, for devices whose BAR is an I/O space (legacy
// virtio). From userspace it needs iopl(3) first (root, UIO path).
#include <stdint.h>

/// Raises this thread's I/O privilege level; 0 on success, -1 with errno.
int dp_iopl(int level);

static inline uint8_t  dp_inb(uint16_t port) { uint8_t  v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t dp_inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t dp_inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void dp_outb(uint16_t port, uint8_t  v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void dp_outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void dp_outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
