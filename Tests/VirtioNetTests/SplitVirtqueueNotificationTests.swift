import Packets
import Testing
@testable import VirtioNet

/// Registers that accept and forget writes (a doorbell nobody listens to).
private final class SilentRegisters: VirtioRegisters {
    var size: Int { 64 }
    func read8(_ offset: Int) -> UInt8 { 0 }
    func read16(_ offset: Int) -> UInt16 { 0 }
    func read32(_ offset: Int) -> UInt32 { 0 }
    func write8(_ offset: Int, _ value: UInt8) {}
    func write16(_ offset: Int, _ value: UInt16) {}
    func write32(_ offset: Int, _ value: UInt32) {}
}

/// Used-buffer notifications of an interrupt-driven idle core (virtio 1.x
/// 2.7.7): the avail ring's flag without EVENT_IDX, used_event with it.
@Suite struct SplitVirtqueueNotificationTests {
    func withQueue(eventIndex: Bool, _ body: (inout SplitVirtqueue) -> Void) {
        let layout = SplitVirtqueueLayout(size: 8)
        let area = UnsafeMutableRawPointer.allocate(byteCount: layout.totalSize, alignment: 4096)
        let slots = UnsafeMutablePointer<UnsafeMutablePointer<PacketHeader>?>.allocate(capacity: 8)
        defer { area.deallocate(); slots.deallocate() }
        var queue = SplitVirtqueue(index: 0, layout: layout, area: area, slots: slots,
                                   notifier: VirtqueueNotifier(registers: SilentRegisters(), offset: 0, queueIndex: 0), eventIndex: eventIndex)
        body(&queue)
    }

    func availFlags(_ queue: SplitVirtqueue) -> UInt16 { queue.avail.load(as: UInt16.self) }
    func usedEvent(_ queue: SplitVirtqueue) -> UInt16 { queue.avail.load(fromByteOffset: 4 + 2 * queue.size, as: UInt16.self) }

    @Test func withoutEventIndexTheFlagTurnsNotificationsOnAndOff() {
        withQueue(eventIndex: false) { queue in
            #expect(availFlags(queue) == SplitVirtqueue.availNoInterrupt)  // polling from the start
            queue.enableUsedNotifications()
            #expect(availFlags(queue) == 0)
            queue.disableUsedNotifications()
            #expect(availFlags(queue) == SplitVirtqueue.availNoInterrupt)
        }
    }

    @Test func withEventIndexUsedEventNamesTheNextEntry() {
        withQueue(eventIndex: true) { queue in
            #expect(usedEvent(queue) == UInt16.max)  // one behind entry 0: no interrupt while polling
            queue.lastUsedIndex = 5
            queue.enableUsedNotifications()
            #expect(usedEvent(queue) == 5)  // vring_need_event fires when used.idx passes 5
            queue.disableUsedNotifications()
            #expect(usedEvent(queue) == 4)
            queue.lastUsedIndex = 0
            queue.disableUsedNotifications()
            #expect(usedEvent(queue) == UInt16.max)
        }
    }
}
