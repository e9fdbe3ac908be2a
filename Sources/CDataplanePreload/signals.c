// Signals interrupt waits, as with the kernel. A program's signal handler
// runs while it waits in epoll_wait or poll (nginx's SIGQUIT, redis's
// SIGTERM) and expects the wait to end with EINTR; the data plane's waits
// spin in userspace, where no signal ends them. So the program's handlers
// are installed behind a trampoline that first marks every core
// interrupted (dp_interrupt: one atomic store each, async-signal-safe),
// then calls the handler: the wait returns -1/EINTR at its next turn.
#include "dp_preload.h"
#include "dataplane.h"
#include <errno.h>
#include <string.h>

static struct sigaction application_actions[NSIG];
static volatile sig_atomic_t behind_trampoline[NSIG];

static void trampoline(int number, siginfo_t *info, void *context) {
    int saved = errno;
    for (int core = 0; core < 64; core++)
        if (dp_interrupt(core) != 0) break;  /* cores are numbered from 0 without gaps */
    errno = saved;
    struct sigaction *action = &application_actions[number];
    if (action->sa_flags & SA_SIGINFO) action->sa_sigaction(number, info, context);
    else if (action->sa_handler != SIG_IGN && action->sa_handler != SIG_DFL) action->sa_handler(number);
}

static int is_handler(const struct sigaction *action) {
    return (action->sa_flags & SA_SIGINFO) ? 1 : action->sa_handler != SIG_IGN && action->sa_handler != SIG_DFL;
}

int sigaction(int number, const struct sigaction *action, struct sigaction *old) {
    if (!dp_preload_active || number <= 0 || number >= NSIG || number == SIGKILL || number == SIGSTOP)
        return DP_LIBC(sigaction)(number, action, old);
    struct sigaction previous = application_actions[number];
    int was_behind = behind_trampoline[number];
    int result;
    if (action && is_handler(action)) {
        struct sigaction ours = *action;
        ours.sa_flags |= SA_SIGINFO;
        ours.sa_sigaction = trampoline;
        /* The handler is in place before the kernel can call the trampoline. */
        application_actions[number] = *action;
        result = DP_LIBC(sigaction)(number, &ours, old);
        if (result == 0) behind_trampoline[number] = 1;
        else application_actions[number] = previous;
    } else {
        result = DP_LIBC(sigaction)(number, action, old);
        if (result == 0 && action) behind_trampoline[number] = 0;
    }
    if (result == 0 && old && was_behind) *old = previous;  /* the program sees its own handler */
    return result;
}

/* signal() with BSD semantics (glibc's): SA_RESTART, the handler stays. */
sighandler_t signal(int number, sighandler_t handler) {
    struct sigaction action, old;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, number);
    if (sigaction(number, &action, &old) != 0) return SIG_ERR;
    return (old.sa_flags & SA_SIGINFO) ? (sighandler_t)old.sa_sigaction : old.sa_handler;
}
