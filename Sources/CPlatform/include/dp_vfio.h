#pragma once
// VFIO request numbers and structures for Swift.
//
// The request numbers are built by the _IO() macro family, which Swift
// cannot import, so they are computed here as constants. The structures
// (vfio_group_status, vfio_device_info, vfio_region_info,
// vfio_iommu_type1_dma_map/unmap) come straight from <linux/vfio.h>.
#include <linux/vfio.h>
#include <stdint.h>

static const unsigned long DP_VFIO_GET_API_VERSION = VFIO_GET_API_VERSION;
static const unsigned long DP_VFIO_CHECK_EXTENSION = VFIO_CHECK_EXTENSION;
static const unsigned long DP_VFIO_SET_IOMMU = VFIO_SET_IOMMU;
static const unsigned long DP_VFIO_GROUP_GET_STATUS = VFIO_GROUP_GET_STATUS;
static const unsigned long DP_VFIO_GROUP_SET_CONTAINER = VFIO_GROUP_SET_CONTAINER;
static const unsigned long DP_VFIO_GROUP_UNSET_CONTAINER = VFIO_GROUP_UNSET_CONTAINER;
static const unsigned long DP_VFIO_GROUP_GET_DEVICE_FD = VFIO_GROUP_GET_DEVICE_FD;
static const unsigned long DP_VFIO_DEVICE_GET_INFO = VFIO_DEVICE_GET_INFO;
static const unsigned long DP_VFIO_DEVICE_GET_REGION_INFO = VFIO_DEVICE_GET_REGION_INFO;
static const unsigned long DP_VFIO_DEVICE_RESET = VFIO_DEVICE_RESET;
static const unsigned long DP_VFIO_IOMMU_MAP_DMA = VFIO_IOMMU_MAP_DMA;
static const unsigned long DP_VFIO_IOMMU_UNMAP_DMA = VFIO_IOMMU_UNMAP_DMA;

static const int DP_VFIO_API_VERSION = VFIO_API_VERSION;
static const int DP_VFIO_TYPE1_IOMMU = VFIO_TYPE1_IOMMU;
static const int DP_VFIO_PCI_CONFIG_REGION_INDEX = VFIO_PCI_CONFIG_REGION_INDEX;
static const int DP_VFIO_PCI_BAR0_REGION_INDEX = VFIO_PCI_BAR0_REGION_INDEX;
