// The packet path of a DPDK mbuf pool, measured as mempool_perf_autotest
// measures raw objects: keep 128 mbufs, get them in bulks of n with
// rte_pktmbuf_alloc_bulk (which resets each header), free them in bulks of
// n with rte_pktmbuf_free_bulk, repeat for SECONDS; one line per case:
//   pktmbuf cache=C n_bulk=N rate_persec=R
// Built and run by `dp-bench pool` (PktmbufPeer.swift) as the peer of our
// PacketPool.allocate/PacketBuffer.free rows.
// Usage: dpdk-pktmbuf-perf SECONDS [EAL options...]
// A negative SECONDS, -B, runs B blocks of 64 rounds per case instead (for
// instruction counts under callgrind); the environment variable RAW=1
// measures rte_mempool_get_bulk/put_bulk instead (mempool_perf_autotest's
// operations, to count their instructions the same way); CACHE=C and
// BULK=N run only that case.
#include <stdio.h>
#include <stdlib.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#define KEEP 128

static int raw;

static double measure(struct rte_mempool *pool, unsigned bulk, double seconds) {
    struct rte_mbuf *table[KEEP];
    uint64_t hz = rte_get_tsc_hz();
    uint64_t budget = seconds > 0 ? (uint64_t)(seconds * (double)hz) : 0;
    uint64_t blocks = seconds < 0 ? (uint64_t)-seconds : 0;
    uint64_t objects = 0;
    uint64_t start = rte_rdtsc();
    for (uint64_t block = 0; blocks ? block < blocks : rte_rdtsc() - start < budget; block++) {
        for (int round = 0; round < 64; round++) {
            for (unsigned i = 0; i < KEEP; i += bulk)
                if ((raw ? rte_mempool_get_bulk(pool, (void **)(table + i), bulk)
                         : rte_pktmbuf_alloc_bulk(pool, table + i, bulk)) != 0) {
                    fprintf(stderr, "pool ran dry\n");
                    exit(1);
                }
            for (unsigned i = 0; i < KEEP; i += bulk) {
                if (raw)
                    rte_mempool_put_bulk(pool, (void **)(table + i), bulk);
                else
                    rte_pktmbuf_free_bulk(table + i, bulk);
            }
            objects += KEEP;
        }
    }
    double elapsed = (double)(rte_rdtsc() - start) / (double)hz;
    return (double)objects / elapsed;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: dpdk-pktmbuf-perf SECONDS [EAL options...]\n");
        return 2;
    }
    double seconds = atof(argv[1]);
    raw = getenv("RAW") != NULL && atoi(getenv("RAW")) == 1;
    argv[1] = argv[0];
    if (rte_eal_init(argc - 1, argv + 1) < 0) {
        fprintf(stderr, "rte_eal_init failed\n");
        return 1;
    }
    static const unsigned caches[] = {0, 512};
    static const unsigned bulks[] = {1, 8, 32};
    const char *onlyCache = getenv("CACHE"), *onlyBulk = getenv("BULK");
    for (unsigned c = 0; c < 2; c++) {
        if (onlyCache && (unsigned)atoi(onlyCache) != caches[c])
            continue;
        char name[32];
        snprintf(name, sizeof name, "pktmbuf%u", caches[c]);
        // The sizes of our benchmark pool: 16383 buffers, 2048 + 128 bytes.
        struct rte_mempool *pool = rte_pktmbuf_pool_create(
            name, 16383, caches[c], 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
        if (pool == NULL) {
            fprintf(stderr, "rte_pktmbuf_pool_create failed\n");
            return 1;
        }
        for (unsigned b = 0; b < 3; b++) {
            if (onlyBulk && (unsigned)atoi(onlyBulk) != bulks[b])
                continue;
            double rate = measure(pool, bulks[b], seconds);
            printf("%s cache=%u n_bulk=%u rate_persec=%.0f\n", raw ? "mempool" : "pktmbuf", caches[c], bulks[b], rate);
            fflush(stdout);
        }
        rte_mempool_free(pool);
    }
    rte_eal_cleanup();
    return 0;
}
