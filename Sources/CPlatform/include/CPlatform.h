#pragma once
// Umbrella header of the C shim: every header of include/ is listed here, so that
// adding one changes this file and rebuilds the module (an umbrella directory
// lets a stale module cache miss new headers).
#include "dp_cpu.h"
#include "dp_epoll.h"
#include "dp_fdpass.h"
#include "dp_ioport.h"
#include "dp_mmio.h"
#include "dp_netns.h"
#include "dp_syscall.h"
#include "dp_tap.h"
#include "dp_vfio.h"
