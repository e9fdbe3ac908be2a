import NetDevice

/// The control virtqueue (virtio 1.x, 5.1.6.5): one command at a time,
/// each a chain of class+command, payload and an acknowledgement byte the
/// device writes. Set-up path only: the caller waits for the answer.
struct VirtioControlQueue {
    var ring: SplitVirtqueue
    /// A DMA page for the command, payload and ack.
    let buffer: UnsafeMutableRawPointer
    let bufferIOVA: UInt64

    enum Class: UInt8 {
        case rx = 0
        case mac = 1
        case multiqueue = 4
    }
    // Commands by class.
    static let rxPromiscuous: UInt8 = 0
    static let rxAllMulticast: UInt8 = 1
    static let macAddressSet: UInt8 = 1
    static let multiqueuePairsSet: UInt8 = 0

    static let acknowledgeOK: UInt8 = 0
    static let bufferSize = 4096
    private static let payloadOffset = 64
    /// Room for RSS_CONFIG: 10 + 2 × 128 table entries + 41 bytes of key.
    private static let ackOffset = 1024
    static let maximumPayload = ackOffset - payloadOffset

    init(ring: SplitVirtqueue, buffer: UnsafeMutableRawPointer, bufferIOVA: UInt64) {
        self.ring = ring
        self.buffer = buffer
        self.bufferIOVA = bufferIOVA
    }

    /// Sends one command and waits for the device's answer.
    mutating func send(_ commandClass: Class, _ command: UInt8, payload: [UInt8], timeout: Duration) throws(DeviceError) {
        let what = "control command class \(commandClass.rawValue) command \(command)"
        guard payload.count <= Self.maximumPayload else {
            throw DeviceError(.invalidConfiguration, "\(what): \(payload.count) bytes of payload, at most \(Self.maximumPayload)")
        }
        // One command at a time: one that timed out is still the device's.
        guard ring.availIndex == ring.lastUsedIndex, ring.freeCount >= 3 else {
            throw DeviceError(.deviceFailed, "\(what): the control queue still holds an unanswered command; restart the port (stop, start)")
        }
        buffer.storeBytes(of: commandClass.rawValue, as: UInt8.self)
        buffer.storeBytes(of: command, toByteOffset: 1, as: UInt8.self)
        for (i, byte) in payload.enumerated() { buffer.storeBytes(of: byte, toByteOffset: Self.payloadOffset + i, as: UInt8.self) }
        buffer.storeBytes(of: 0xff, toByteOffset: Self.ackOffset, as: UInt8.self)

        let head = ring.takeDescriptor()
        let data = ring.takeDescriptor()
        let ack = ring.takeDescriptor()
        ring.setDescriptor(head, address: bufferIOVA, length: 2, flags: SplitVirtqueue.descriptorNext)
        ring.setNext(head, data)
        ring.setDescriptor(data, address: bufferIOVA + UInt64(Self.payloadOffset), length: payload.count, flags: SplitVirtqueue.descriptorNext)
        ring.setNext(data, ack)
        ring.setDescriptor(ack, address: bufferIOVA + UInt64(Self.ackOffset), length: 1, flags: SplitVirtqueue.descriptorWrite)
        ring.publish(head)
        ring.commitAvail()
        ring.kick()

        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while ring.deviceUsedIndex() == ring.lastUsedIndex {
            guard clock.now < deadline else {
                // The chain stays with the device; the queue is unusable until
                // the next reset (start).
                throw DeviceError(.timedOut, "\(what): no answer from the device within \(timeout)")
            }
        }
        let entry = ring.usedEntry(ring.lastUsedIndex)
        ring.lastUsedIndex &+= 1
        guard entry.id == head else {
            throw DeviceError(.deviceFailed, "\(what): the device completed descriptor \(entry.id), not \(head)")
        }
        _ = ring.releaseChain(head)
        let answer = buffer.load(fromByteOffset: Self.ackOffset, as: UInt8.self)
        guard answer == Self.acknowledgeOK else {
            throw DeviceError(.deviceFailed, "\(what): the device answered \(answer) (VIRTIO_NET_ERR)")
        }
    }
}
