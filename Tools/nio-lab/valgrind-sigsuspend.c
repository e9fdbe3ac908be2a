// valgrind 3.19 writes to the mask sigsuspend is given; libdispatch's
// dispatch_main passes one in read-only memory: hand it a writable copy.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    int (*real)(const sigset_t *) = (int (*)(const sigset_t *))dlsym(RTLD_NEXT, "sigsuspend");
    return real(&copy);
}
