import Platform
import Wire

/// A port named on a command line: `pci:0000:00:10.0`, `tap:dp0`,
/// `null:0`, or a bare PCI address.
public enum PortSpec: Equatable, Sendable, CustomStringConvertible {
    case pci(String)
    case tap(String, mac: MACAddress?)
    case null(Int)

    /// Nil when `text` names no port (`expected` says what would).
    public init?(_ text: String) {
        if text.hasPrefix("pci:") {
            let address = String(text.dropFirst(4))
            guard PCIAddress(address) != nil else { return nil }
            self = .pci(address)
        } else if text.hasPrefix("tap:") {
            let name = String(text.dropFirst(4))
            guard !name.isEmpty, name.utf8.count < 16 else { return nil }
            self = .tap(name, mac: nil)
        } else if text.hasPrefix("null:") {
            guard let index = Int(text.dropFirst(5)), index >= 0 else { return nil }
            self = .null(index)
        } else if PCIAddress(text) != nil {
            self = .pci(text)
        } else {
            return nil
        }
    }

    public static let expected = "pci:DOMAIN:BUS:DEVICE.FUNCTION (or the bare address), tap:NAME or null:N"

    public var description: String {
        switch self {
        case .pci(let address): return "pci:\(address)"
        case .tap(let name, _): return "tap:\(name)"
        case .null(let index): return "null:\(index)"
        }
    }
}
