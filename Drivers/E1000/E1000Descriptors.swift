import CPlatform

/// Descriptor layouts of the 82540EM rings (16 bytes each, little endian),
/// as byte offsets: Swift gives no layout guarantee for structs, the device
/// needs exact ones. x86 is little endian, so fields are stored as is.
public enum E1000Descriptor {
    public static let size = 16
    /// Rings must start on 128 bytes (RDLEN/TDLEN are multiples of 128).
    public static let ringAlignment = 128
}

/// Legacy receive descriptor: buffer address (0), length (8), packet
/// checksum (10), status (12), errors (13), special/VLAN (14).
public enum E1000ReceiveDescriptor {
    public static let bufferAddressOffset = 0
    public static let lengthOffset = 8
    public static let checksumOffset = 10
    public static let statusOffset = 12
    public static let errorsOffset = 13
    public static let specialOffset = 14

    // Status bits
    public static let descriptorDone: UInt8 = 1 << 0
    public static let endOfPacket: UInt8 = 1 << 1
    public static let ignoreChecksum: UInt8 = 1 << 2
    public static let vlanPacket: UInt8 = 1 << 3
    public static let tcpChecksumChecked: UInt8 = 1 << 5
    public static let ipChecksumChecked: UInt8 = 1 << 6

    // Error bits
    public static let crcError: UInt8 = 1 << 0
    public static let symbolError: UInt8 = 1 << 1
    public static let sequenceError: UInt8 = 1 << 2
    public static let carrierExtensionError: UInt8 = 1 << 4
    public static let tcpChecksumError: UInt8 = 1 << 5
    public static let ipChecksumError: UInt8 = 1 << 6
    public static let dataError: UInt8 = 1 << 7
    /// Errors that make the frame unusable (checksum errors do not).
    public static let frameErrors: UInt8 = crcError | symbolError | sequenceError | carrierExtensionError | dataError

    /// Hands an empty buffer to the device: address, cleared status.
    @inlinable @inline(__always)
    public static func arm(_ descriptor: UnsafeMutableRawPointer, bufferIOVA: UInt64) {
        descriptor.storeBytes(of: bufferIOVA, toByteOffset: bufferAddressOffset, as: UInt64.self)
        descriptor.storeBytes(of: 0, toByteOffset: 8, as: UInt64.self)  // length, checksum, status, errors, special
    }

    /// The status byte, read from memory the device writes (volatile).
    @inlinable @inline(__always)
    public static func status(_ descriptor: UnsafeMutableRawPointer) -> UInt8 {
        dp_read8(descriptor + statusOffset)
    }
}

/// Transmit data descriptor (extended, DEXT=1, DTYP=data): buffer address
/// (0), length | DTYP | DCMD (8), status (12), POPTS (13), special (14).
public enum E1000TransmitDescriptor {
    public static let bufferAddressOffset = 0
    public static let commandOffset = 8
    public static let statusOffset = 12
    public static let optionsOffset = 13

    public static let lengthMask: UInt32 = 0x000F_FFFF
    /// DTYP = 0001: data descriptor; 0000: context descriptor.
    public static let typeData: UInt32 = 1 << 20
    public static let typeContext: UInt32 = 0
    // DCMD bits (byte 3 of the command dword)
    public static let endOfPacket: UInt32 = 1 << 24
    public static let insertFCS: UInt32 = 1 << 25
    public static let tcpSegmentation: UInt32 = 1 << 26
    public static let reportStatus: UInt32 = 1 << 27
    public static let extended: UInt32 = 1 << 29
    public static let vlanEnable: UInt32 = 1 << 30
    public static let interruptDelay: UInt32 = 1 << 31
    // Context TUCMD bits (same byte)
    public static let contextTCP: UInt32 = 1 << 24
    public static let contextIPv4: UInt32 = 1 << 25

    // Status
    public static let descriptorDone: UInt8 = 1 << 0
    // POPTS (packet options, first data descriptor of a packet)
    public static let insertIPChecksum: UInt8 = 1 << 0
    public static let insertL4Checksum: UInt8 = 1 << 1

    @inlinable @inline(__always)
    public static func writeData(
        _ descriptor: UnsafeMutableRawPointer, bufferIOVA: UInt64, command: UInt32, options: UInt8
    ) {
        descriptor.storeBytes(of: bufferIOVA, toByteOffset: bufferAddressOffset, as: UInt64.self)
        descriptor.storeBytes(of: command, toByteOffset: commandOffset, as: UInt32.self)
        descriptor.storeBytes(of: UInt32(options) << 8, toByteOffset: statusOffset, as: UInt32.self)
    }

    @inlinable @inline(__always)
    public static func status(_ descriptor: UnsafeMutableRawPointer) -> UInt8 {
        dp_read8(descriptor + statusOffset)
    }
}

/// Transmit context descriptor: where the checksums go for the data
/// descriptors that follow. IPCSS (0), IPCSO (1), IPCSE (2, 16 bits),
/// TUCSS (4), TUCSO (5), TUCSE (6, 16 bits), length | DTYP | TUCMD (8),
/// status (12), header length (13), MSS (14).
public enum E1000ContextDescriptor {
    /// The fields of a context; a new one is written only when they change.
    public struct Layout: Equatable {
        public var ipStart: UInt8 = 0
        public var ipOffset: UInt8 = 0
        public var ipEnd: UInt16 = 0
        public var l4Start: UInt8 = 0
        public var l4Offset: UInt8 = 0
        /// 0: to the end of the packet.
        public var l4End: UInt16 = 0
        public var command: UInt32 = 0
        /// TCP segmentation (command has TSE): PAYLEN (bytes after the
        /// headers), HDRLEN (headers copied in front of each piece), MSS.
        public var payloadLength: UInt32 = 0
        public var headerLength: UInt8 = 0
        public var segmentSize: UInt16 = 0

        public init() {}
    }

    @inlinable @inline(__always)
    public static func write(_ descriptor: UnsafeMutableRawPointer, _ layout: Layout) {
        let ipSetup = UInt32(layout.ipStart) | UInt32(layout.ipOffset) << 8 | UInt32(layout.ipEnd) << 16
        let l4Setup = UInt32(layout.l4Start) | UInt32(layout.l4Offset) << 8 | UInt32(layout.l4End) << 16
        descriptor.storeBytes(of: ipSetup, toByteOffset: 0, as: UInt32.self)
        descriptor.storeBytes(of: l4Setup, toByteOffset: 4, as: UInt32.self)
        descriptor.storeBytes(
            of: layout.command | E1000TransmitDescriptor.extended | E1000TransmitDescriptor.typeContext
                | (layout.payloadLength & E1000TransmitDescriptor.lengthMask),
            toByteOffset: 8, as: UInt32.self)
        // status (12) = 0, HDRLEN (13), MSS (14)
        let segmentation = UInt32(layout.headerLength) << 8 | UInt32(layout.segmentSize) << 16
        descriptor.storeBytes(of: segmentation, toByteOffset: 12, as: UInt32.self)
    }
}
