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

// Vectors 0..count-1 (count <= 64) of a VFIO device's interrupt index
// `index` to eventfds: VFIO_DEVICE_SET_IRQS with struct vfio_irq_set
// (linux/vfio.h); 0 or -1 with errno.
#include <string.h>
#include <sys/ioctl.h>
static inline int dp_vfio_irqs_to_eventfds(int device_fd, unsigned index, const int32_t *fds, unsigned count) {
    char buffer[sizeof(struct vfio_irq_set) + 64 * sizeof(int32_t)];
    if (count == 0 || count > 64) return -1;
    struct vfio_irq_set *set = (struct vfio_irq_set *)buffer;
    set->argsz = (uint32_t)(sizeof(struct vfio_irq_set) + count * sizeof(int32_t));
    set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    set->index = index;
    set->start = 0;
    set->count = count;
    memcpy(set->data, fds, count * sizeof(int32_t));
    return ioctl(device_fd, VFIO_DEVICE_SET_IRQS, set);
}
// INTx to an eventfd; vfio-pci masks INTx each time it fires (the unmask below).
static inline int dp_vfio_intx_to_eventfd(int device_fd, int eventfd) {
    int32_t fd = eventfd;
    return dp_vfio_irqs_to_eventfds(device_fd, VFIO_PCI_INTX_IRQ_INDEX, &fd, 1);
}
// The device request (VFIO_PCI_REQ_IRQ_INDEX) to an eventfd: vfio-pci
// signals it when the kernel wants the device back (hot unplug, unbind)
// and waits for the process to close the device (vfio_pci_core_request).
static inline int dp_vfio_request_to_eventfd(int device_fd, int eventfd) {
    int32_t fd = eventfd;
    return dp_vfio_irqs_to_eventfds(device_fd, VFIO_PCI_REQ_IRQ_INDEX, &fd, 1);
}
static inline int dp_vfio_intx_unmask(int device_fd) {
    struct vfio_irq_set set = { .argsz = sizeof set, .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
                                .index = VFIO_PCI_INTX_IRQ_INDEX, .start = 0, .count = 1 };
    return ioctl(device_fd, VFIO_DEVICE_SET_IRQS, &set);
}
// How many vectors interrupt index `index` has (VFIO_DEVICE_GET_IRQ_INFO;
// VFIO_PCI_MSIX_IRQ_INDEX: the MSI-X table's size); -1 with errno.
static const int DP_VFIO_PCI_MSIX_IRQ_INDEX = VFIO_PCI_MSIX_IRQ_INDEX;
static inline int dp_vfio_irq_count(int device_fd, unsigned index) {
    struct vfio_irq_info info = { .argsz = sizeof info, .index = index };
    if (ioctl(device_fd, VFIO_DEVICE_GET_IRQ_INFO, &info) < 0) return -1;
    return (int)info.count;
}
// MSI-X vectors 0..count-1 to eventfds: vfio-pci enables MSI-X on the
// function and signals fds[i] when vector i fires; unlike INTx nothing is
// masked after a message, so no unmask is needed.
static inline int dp_vfio_msix_to_eventfds(int device_fd, const int32_t *fds, unsigned count) {
    return dp_vfio_irqs_to_eventfds(device_fd, VFIO_PCI_MSIX_IRQ_INDEX, fds, count);
}
