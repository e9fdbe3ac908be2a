#pragma once
#include <numa.h>
