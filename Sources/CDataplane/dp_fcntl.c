// dp_fcntl is variadic, which Swift cannot define: the argument is read
// here and passed on to the Swift implementation.
#include <stdarg.h>
#include "dataplane.h"

int dp_fcntl_impl(int sockfd, int cmd, long argument);

int dp_fcntl(int sockfd, int cmd, ...) {
    long argument = 0;
    if (cmd == F_SETFL) {
        va_list list;
        va_start(list, cmd);
        argument = va_arg(list, int);
        va_end(list);
    }
    return dp_fcntl_impl(sockfd, cmd, argument);
}
