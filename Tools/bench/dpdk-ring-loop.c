// DPDK's rte_ring on one core in the loop of ring_perf_autotest's legacy
// API (enqueue n, dequeue n; 4096 slots, 8-byte elements), on memory set up
// with rte_ring_init (no EAL needed): the peer side of the instruction
// counts in Tools/bench/instructions.sh.
// Usage: dpdk-ring-loop sp|mp bulk|burst|single SIZE ITERATIONS
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rte_ring.h>
#include <rte_cycles.h>
int main(int argc, char **argv) {
    int multi = argc > 1 && strcmp(argv[1], "mp") == 0;
    int burst = argc > 2 && strcmp(argv[2], "burst") == 0;
    unsigned size = argc > 3 ? atoi(argv[3]) : 32;
    long iterations = argc > 4 ? atol(argv[4]) : (1 << 21) / size;
    unsigned flags = multi ? 0 : (RING_F_SP_ENQ | RING_F_SC_DEQ);
    ssize_t bytes = rte_ring_get_memsize(4096);
    struct rte_ring *r = aligned_alloc(128, (bytes + 127) & ~127);
    if (rte_ring_init(r, "peer", 4096, flags) != 0) { fprintf(stderr, "init\n"); return 1; }
    void *burstv[32];
    for (unsigned i = 0; i < 32; i++) burstv[i] = (void *)0x1000;
    uint64_t start = rte_rdtsc();
    for (long i = 0; i < iterations; i++) {
        if (size == 1) {
            void *o;
            if (multi) { rte_ring_mp_enqueue(r, burstv[0]); rte_ring_mc_dequeue(r, &o); }
            else { rte_ring_sp_enqueue(r, burstv[0]); rte_ring_sc_dequeue(r, &o); }
        } else if (burst) {
            if (multi) { rte_ring_mp_enqueue_burst(r, burstv, size, NULL); rte_ring_mc_dequeue_burst(r, burstv, size, NULL); }
            else { rte_ring_sp_enqueue_burst(r, burstv, size, NULL); rte_ring_sc_dequeue_burst(r, burstv, size, NULL); }
        } else {
            if (multi) { rte_ring_mp_enqueue_bulk(r, burstv, size, NULL); rte_ring_mc_dequeue_bulk(r, burstv, size, NULL); }
            else { rte_ring_sp_enqueue_bulk(r, burstv, size, NULL); rte_ring_sc_dequeue_bulk(r, burstv, size, NULL); }
        }
    }
    uint64_t end = rte_rdtsc();
    printf("%s %s %u: %.3f cycles/elem\n", multi ? "MP/MC" : "SP/SC", size == 1 ? "single" : burst ? "burst" : "bulk", size,
           (double)(end - start) / (double)(iterations * size));
    return 0;
}
