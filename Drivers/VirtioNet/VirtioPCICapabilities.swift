import NetDevice

/// One virtio vendor capability (virtio 1.x, 4.1.4): a window into a BAR.
struct VirtioPCICapability: Equatable {
    enum Kind: UInt8 {
        case common = 1
        case notify = 2
        case isr = 3
        case device = 4
        case pciConfig = 5
    }

    let kind: Kind
    let configOffset: Int
    let bar: Int
    let offset: UInt32
    let length: UInt32
    /// Notify capabilities only.
    let notifyOffsetMultiplier: UInt32
}

/// The modern capabilities of a function, found by walking its PCI
/// capability list. Each one is checked to lie inside its BAR.
struct VirtioPCICapabilities {
    var common: VirtioPCICapability?
    var notify: VirtioPCICapability?
    var isr: VirtioPCICapability?
    var device: VirtioPCICapability?
    /// The first capability that failed its checks, with the reason; the
    /// transport reports it when it needs that capability.
    var problems: [VirtioPCICapability.Kind: String] = [:]

    var hasModernInterface: Bool { common != nil || notify != nil || device != nil || !problems.isEmpty }

    static let vendorCapabilityID: UInt8 = 0x09
    /// Smallest useful length of each window.
    static func minimumLength(_ kind: VirtioPCICapability.Kind) -> UInt32 {
        switch kind {
        case .common: return 0x38
        case .notify: return 2
        case .isr: return 1
        case .device: return UInt32(VirtioNetConfig.sizeUsed)
        case .pciConfig: return 0
        }
    }

    /// Walks the capability list of `function`. Malformed lists (a loop, a
    /// pointer into the header) end the walk; capabilities that point
    /// outside their BAR are recorded in `problems`.
    static func read(from function: some VirtioPCIFunction) throws(DeviceError) -> VirtioPCICapabilities {
        var result = VirtioPCICapabilities()
        let statusRegister = try function.readConfig16(0x06)
        guard statusRegister & 0x10 != 0 else { return result }  // no capability list
        var pointer = Int(try function.readConfig8(0x34) & 0xfc)
        var visited = Set<Int>()
        while pointer >= 0x40, pointer <= 0xfc, visited.insert(pointer).inserted {
            let id = try function.readConfig8(pointer)
            let next = Int(try function.readConfig8(pointer + 1) & 0xfc)
            defer { pointer = next }
            guard id == vendorCapabilityID else { continue }
            let capabilityLength = try function.readConfig8(pointer + 2)
            guard capabilityLength >= 16, let kind = VirtioPCICapability.Kind(rawValue: try function.readConfig8(pointer + 3))
            else { continue }
            let capability = VirtioPCICapability(
                kind: kind, configOffset: pointer, bar: Int(try function.readConfig8(pointer + 4)),
                offset: try function.readConfig32(pointer + 8), length: try function.readConfig32(pointer + 12),
                notifyOffsetMultiplier: kind == .notify && capabilityLength >= 20 ? try function.readConfig32(pointer + 16) : 0)
            if let problem = check(capability, in: function) {
                if result.problems[kind] == nil { result.problems[kind] = problem }
                continue
            }
            // The first usable capability of each kind counts (virtio 1.x, 4.1.4.1).
            switch kind {
            case .common: if result.common == nil { result.common = capability }
            case .notify: if result.notify == nil { result.notify = capability }
            case .isr: if result.isr == nil { result.isr = capability }
            case .device: if result.device == nil { result.device = capability }
            case .pciConfig: break
            }
        }
        return result
    }

    /// Why `capability` cannot be used, or nil.
    static func check(_ capability: VirtioPCICapability, in function: some VirtioPCIFunction) -> String? {
        let what = "virtio \(capability.kind) capability at config offset 0x\(String(capability.configOffset, radix: 16))"
        guard capability.kind != .pciConfig else { return nil }
        guard (0...5).contains(capability.bar), let bar = function.bar(capability.bar) else {
            return "\(what) names BAR\(capability.bar), which the device does not have"
        }
        let end = UInt64(capability.offset) + UInt64(capability.length)
        guard end <= UInt64(bar.size) else {
            return "\(what) describes bytes 0x\(String(capability.offset, radix: 16))..<0x\(String(end, radix: 16)) of BAR\(capability.bar), "
                + "which is only 0x\(String(bar.size, radix: 16)) bytes long"
        }
        guard capability.length >= minimumLength(capability.kind) else {
            return "\(what) is \(capability.length) bytes long, at least \(minimumLength(capability.kind)) are needed"
        }
        return nil
    }
}
