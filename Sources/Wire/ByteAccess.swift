/// Network-byte-order field access at fixed offsets. Views use these so that
/// offsets and byte order live in one place; bounds are the view's checked
/// constructor's job (only debug builds check them here).
extension UnsafeMutableRawBufferPointer {
    @inlinable @inline(__always)
    func u8(at offset: Int) -> UInt8 { load(fromByteOffset: offset, as: UInt8.self) }

    @inlinable @inline(__always)
    func u16(at offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable @inline(__always)
    func u32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable @inline(__always)
    func setU8(_ value: UInt8, at offset: Int) { storeBytes(of: value, toByteOffset: offset, as: UInt8.self) }

    @inlinable @inline(__always)
    func setU16(_ value: UInt16, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
    }

    @inlinable @inline(__always)
    func setU32(_ value: UInt32, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
    }

    @inlinable @inline(__always)
    func mac(at offset: Int) -> MACAddress { MACAddress(loadingFrom: baseAddress! + offset) }

    @inlinable @inline(__always)
    func setMAC(_ value: MACAddress, at offset: Int) { value.store(to: baseAddress! + offset) }

    @inlinable @inline(__always)
    func ipv4(at offset: Int) -> IPv4Address { IPv4Address(u32(at: offset)) }

    @inlinable @inline(__always)
    func setIPv4(_ value: IPv4Address, at offset: Int) { setU32(value.value, at: offset) }

    /// The bytes in `range` as their own buffer (no copy).
    @inlinable @inline(__always)
    func slice(_ range: Range<Int>) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: self[range])
    }

    /// A read-only view of the same bytes.
    @inlinable @inline(__always)
    var readOnly: UnsafeRawBufferPointer { UnsafeRawBufferPointer(self) }
}

extension UnsafeMutableRawBufferPointer {
    @inlinable @inline(__always)
    func ipv6(at offset: Int) -> IPv6Address { IPv6Address(loadingFrom: baseAddress! + offset) }

    @inlinable @inline(__always)
    func setIPv6(_ value: IPv6Address, at offset: Int) { value.store(to: baseAddress! + offset) }
}
