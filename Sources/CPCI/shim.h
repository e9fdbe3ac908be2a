#pragma once
// libpci, read-only use: listing devices and naming them from pci.ids.
#include <pci/pci.h>

/// pci_lookup_name is variadic, which Swift cannot call: this names a
/// device (vendor and device id) into `buffer`.
static inline const char *dp_pci_device_name(struct pci_access *access, char *buffer,
                                             int size, unsigned vendor, unsigned device) {
    return pci_lookup_name(access, buffer, size, PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE,
                           vendor, device);
}

/// Names a device class (for example "Ethernet controller").
static inline const char *dp_pci_class_name(struct pci_access *access, char *buffer,
                                            int size, unsigned deviceClass) {
    return pci_lookup_name(access, buffer, size, PCI_LOOKUP_CLASS, deviceClass);
}
