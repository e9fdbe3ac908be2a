import NetDevice

/// VIRTIO_NET_CTRL_MQ_RSS_CONFIG (virtio 1.2, 5.1.6.5.7.1): the hash types,
/// redirection table and key a device with VIRTIO_NET_F_RSS steers by.
/// The command also sets the transmit queues in use (`max_tx_vq`), so it
/// replaces VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET.
enum VirtioRSSConfiguration {
    /// In class VIRTIO_NET_CTRL_MQ (4).
    static let command: UInt8 = 1
    // VIRTIO_NET_RSS_HASH_TYPE_* (5.1.6.4.3.1).
    static let hashIPv4: UInt32 = 1 << 0
    static let hashTCPv4: UInt32 = 1 << 1
    static let hashUDPv4: UInt32 = 1 << 2
    static let hashIPv6: UInt32 = 1 << 3
    static let hashTCPv6: UInt32 = 1 << 4
    static let hashUDPv6: UInt32 = 1 << 5

    /// The hash types asked for: IPv4's 2- and 4-tuples, and TCP/UDP over
    /// IPv6 by 4-tuple when the device has them, as `FlowKey` hashes. Not
    /// IPv6's 2-tuple: ICMPv6 (NDP) must stay unclassified, on queue 0,
    /// whence neighbour advertisements are copied to every core (an
    /// advertisement hashed to one core would leave the others' caches
    /// unresolved), and so must IPv6 fragments, as the stack expects.
    static func hashTypes(supported: UInt32) -> UInt32 {
        let ipv6 = hashTCPv6 | hashUDPv6
        return hashIPv4 | hashTCPv4 | hashUDPv4 | (supported & ipv6 == ipv6 ? ipv6 : 0)
    }

    /// The command's payload, checked against the device's limits:
    /// le32 hash_types, le16 indirection_table_mask, le16 unclassified_queue,
    /// le16 indirection_table[mask + 1], le16 max_tx_vq, u8 key length, key.
    static func payload(_ settings: RSSSettings, queuePairs: Int, maximumKeySize: Int, maximumTableLength: Int,
                        supportedHashTypes: UInt32) throws(DeviceError) -> [UInt8] {
        let table = settings.table.entries
        guard settings.key.count <= maximumKeySize, !settings.key.isEmpty else {
            throw DeviceError(.invalidConfiguration, "RSS key of \(settings.key.count) bytes: the device takes 1...\(maximumKeySize)")
        }
        guard table.count <= maximumTableLength else {
            throw DeviceError(.invalidConfiguration, "RSS table of \(table.count) entries: the device takes at most \(maximumTableLength)")
        }
        guard table.allSatisfy({ Int($0) < queuePairs }) else {
            throw DeviceError(.invalidConfiguration, "the RSS table names a queue beyond the \(queuePairs) queue pairs in use")
        }
        // The tuples the stack's own hash computes (FlowKey).
        let needed = hashIPv4 | hashTCPv4 | hashUDPv4
        guard supportedHashTypes & needed == needed else {
            throw DeviceError(.unsupported, "the device hashes types 0x\(String(supportedHashTypes, radix: 16)); IPv4, TCPv4 and UDPv4 (0x7) are needed")
        }
        let wanted = hashTypes(supported: supportedHashTypes)
        var bytes: [UInt8] = []
        func append16(_ value: Int) { bytes += [UInt8(value & 0xff), UInt8(value >> 8 & 0xff)] }
        bytes += [UInt8(wanted & 0xff), 0, 0, 0]
        append16(table.count - 1)          // indirection_table_mask
        append16(0)                        // unclassified_queue: non-IP frames (ARP) to queue 0
        for entry in table { append16(Int(entry)) }
        append16(queuePairs)               // max_tx_vq
        bytes.append(UInt8(settings.key.count))
        bytes += settings.key
        return bytes
    }
}
