/*
 * fork() under the LD_PRELOAD library: the stack stays with the parent.
 * The child's calls on a data-plane socket fail with EBADF (the kernel
 * would have shared the socket); the parent's socket keeps working.
 * Prints one line per call (Tools/test.d/52-preload.sh checks them).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/wait.h>

int main(void) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
    inet_pton(AF_INET, "10.5.0.1", &to.sin_addr);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        ssize_t sent = sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof to);
        printf("fork-check: child sendto: %s\n", sent == 1 ? "1" : strerror(errno));
        printf("fork-check: child close: %d\n", close(fd));
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    ssize_t sent = sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof to);
    printf("fork-check: parent sendto: %s\n", sent == 1 ? "1" : strerror(errno));
    return sent == 1 ? 0 : 1;
}
