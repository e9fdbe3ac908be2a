// epoll(7) and the socket ioctls for Swift: Glibc's module map leaves
// <sys/epoll.h> and <sys/ioctl.h> out.
#ifndef DP_EPOLL_H
#define DP_EPOLL_H
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>  /* the wake-up of an idle core (Stack CoreIdle) */
#include <linux/sockios.h>
#endif
