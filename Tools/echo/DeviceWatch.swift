import Foundation
import NetDevice
import Platform
import Ports
import Stack

/// --watch-devices: every 100 ms, each PCI port's driver health check
/// (DeviceHealthMonitoring: link, device reset, removal; Docs/ROBUSTNESS.md).
/// Changes are printed as "DP-FAULT port N ..." lines; a removed port's
/// TCP connections fail with ENETDOWN (NetStack.interfaceRemoved). One core
/// only: a recovery rebuilds rings that other cores would be polling.
final class DeviceWatch {
    private let monitors: [(index: Int, label: String, device: any DeviceHealthMonitoring)]
    private var last: [Int: String] = [:]
    private var removed: Set<Int> = []
    private var nextCheck: UInt64 = 0
    static let interval: UInt64 = 100_000_000

    init?(ports: StartedPorts) {
        monitors = ports.ports.enumerated().compactMap { index, port in
            (port.device as? any DeviceHealthMonitoring).map { (index, port.label, $0) }
        }
        guard !monitors.isEmpty else { return nil }
    }

    /// Checks when due; true once every watched port is removed (the run ends).
    func poll(_ stack: NetStack) -> Bool {
        let now = TSCClock.monotonicNanoseconds()
        guard now >= nextCheck else { return false }
        nextCheck = now + Self.interval
        for (index, label, device) in monitors where !removed.contains(index) {
            let health = device.checkHealth()
            var line = health.description
            if case .removed = health {
                removed.insert(index)
                line += "; \(stack.interfaceRemoved(index)) TCP connection(s) failed with ENETDOWN"
            }
            if case .recovered = health { last[index] = nil } else if last[index] == line { continue } else { last[index] = line }
            say("DP-FAULT port \(index) \(label) \(line)")
        }
        return removed.count == monitors.count
    }

    private func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
