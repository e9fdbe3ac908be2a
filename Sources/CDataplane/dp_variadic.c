// dp_fcntl and dp_ioctl are variadic, which Swift cannot define: the
// argument is read here and passed on to the Swift implementation.
#include <stdarg.h>
#include "dataplane.h"

int dp_fcntl_impl(int sockfd, int cmd, long argument);
int dp_ioctl_impl(int fd, unsigned long request, void *argument);

int dp_fcntl(int sockfd, int cmd, ...) {
    long argument = 0;
    if (cmd == F_SETFL || cmd == F_SETFD) {
        va_list list;
        va_start(list, cmd);
        argument = va_arg(list, int);
        va_end(list);
    }
    return dp_fcntl_impl(sockfd, cmd, argument);
}

int dp_ioctl(int fd, unsigned long request, ...) {
    va_list list;
    va_start(list, request);
    void *argument = va_arg(list, void *);
    va_end(list);
    return dp_ioctl_impl(fd, request, argument);
}
