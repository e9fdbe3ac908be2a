import Wire

/// The layer whose header Wire rejected, for `StackCounters.malformed`.
public enum ProtocolLayer: Int, CaseIterable, Sendable {
    case ethernet, arp, ipv4, icmp, udp, tcp, ipv6, icmpv6

    public var name: String {
        switch self {
        case .ethernet: "ethernet"
        case .arp: "arp"
        case .ipv4: "ipv4"
        case .icmp: "icmp"
        case .udp: "udp"
        case .tcp: "tcp"
        case .ipv6: "ipv6"
        case .icmpv6: "icmpv6"
        }
    }
}

/// A stack's counters: plain integers in one block, written only by the
/// core that owns the stack, read for reports.
public struct StackCounters: Sendable {
    @usableFromInline var values: [UInt64]
    @usableFromInline var malformedValues: [UInt64]

    init(values: [UInt64], malformedValues: [UInt64]) {
        self.values = values
        self.malformedValues = malformedValues
    }

    init() {
        values = [UInt64](repeating: 0, count: StackCounter.allCases.count)
        malformedValues = [UInt64](repeating: 0, count: ProtocolLayer.allCases.count * Self.reasonStride)
    }

    @inlinable
    public subscript(_ counter: StackCounter) -> UInt64 {
        get { values[counter.rawValue] }
        set { values[counter.rawValue] = newValue }
    }

    /// Room per layer for Wire's reasons (a constant: `allCases` allocates).
    @usableFromInline static let reasonStride = 16

    @usableFromInline
    static func index(_ layer: ProtocolLayer, _ error: WireError) -> Int {
        // A switch, not the table: counting a drop must not hash.
        let reason: Int
        switch error {
        case .truncated: reason = 0
        case .badLength: reason = 1
        case .badVersion: reason = 2
        case .badHeaderLength: reason = 3
        case .badChecksum: reason = 4
        case .badOptionLength: reason = 5
        case .badFragmentOffset: reason = 6
        case .unsupported: reason = 7
        case .badAddress: reason = 8
        case .extensionChainTooLong: reason = 9
        case .badExtensionHeader: reason = 10
        case .deprecatedRoutingHeader: reason = 11
        case .badHopLimit: reason = 12
        }
        return layer.rawValue * reasonStride + reason
    }

    /// Headers of `layer` that Wire rejected for `error`.
    public func malformed(_ layer: ProtocolLayer, _ error: WireError) -> UInt64 {
        malformedValues[Self.index(layer, error)]
    }

    mutating func countMalformed(_ layer: ProtocolLayer, _ error: WireError) {
        malformedValues[Self.index(layer, error)] += 1
    }

    /// A copy in buffers of its own, for another thread to read (telemetry):
    /// a plain copy would share the arrays, and the core's next count would
    /// then copy them on the fast path.
    public func detachedCopy() -> StackCounters {
        var copy = self
        copy.values = values.withUnsafeBufferPointer { Array($0) }
        copy.malformedValues = malformedValues.withUnsafeBufferPointer { Array($0) }
        return copy
    }

    /// Every drop counted, whatever the reason.
    public var totalDropped: UInt64 {
        var total: UInt64 = 0
        for counter in StackCounter.allCases where counter.name.hasPrefix("drop.") { total += values[counter.rawValue] }
        return malformedValues.reduce(total, +)
    }

    /// Every non-zero counter by name ("drop.ipv4.bad_checksum": 3), for
    /// reports and statistics JSON.
    public var named: [String: UInt64] {
        var result = [String: UInt64]()
        for counter in StackCounter.allCases where values[counter.rawValue] != 0 {
            result[counter.name] = values[counter.rawValue]
        }
        for layer in ProtocolLayer.allCases {
            for error in WireError.allCases {
                let value = malformedValues[Self.index(layer, error)]
                if value != 0 { result["drop.\(layer.name).\(error.name)"] = value }
            }
        }
        return result
    }
}
