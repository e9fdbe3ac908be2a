import ArgumentParser
import DevBindKit
import Platform
#if canImport(Glibc)
import Glibc
#endif

@main
struct DPDevBind: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-devbind",
        abstract: "Show network PCI devices and bind them to vfio-pci, uio_pci_generic or a kernel driver.",
        discussion: "bind and unbind run only inside the dp-lab guest; they never touch the device carrying the default route.",
        subcommands: [Status.self, Bind.self, Unbind.self])
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List network-class PCI devices: address, IDs, name, driver, interface, activity.")

    func run() throws {
        let devices = try NetworkDeviceStatus.all(in: SystemView())
        if devices.isEmpty { print("no network-class PCI devices") }
        for device in devices { print(device.line) }
    }
}

struct SafetyOptions: ParsableArguments {
    @Flag(help: "Also rebind a device whose interface is up, addressed or routed (never the default-route one).")
    var force = false

    @Flag(name: .customLong("outside-lab"), help: "Allow running outside the dp-lab guest (disposable test machines only).")
    var outsideLab = false
}

struct Bind: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bind devices to a driver (vfio-pci, uio_pci_generic or a kernel driver).")

    @Option(help: "The driver: vfio-pci, uio_pci_generic, or a kernel driver such as e1000.")
    var driver: String

    @OptionGroup var safety: SafetyOptions

    @Argument(help: "PCI addresses, e.g. 0000:00:10.0.")
    var addresses: [String]

    func run() throws {
        try DriverBinder.refuseOutsideLab(allowOutsideLab: safety.outsideLab)
        let binder = DriverBinder(view: SystemView(), force: safety.force, loadModule: modprobe)
        var failed = false
        for text in addresses {
            guard let address = PCIAddress(text) else { throw ValidationError("\(text) is not a PCI address like 0000:00:10.0") }
            do { print(try binder.bind(address, to: driver)) } catch {
                printError("dp-devbind: \(error)")
                failed = true
            }
        }
        if failed { throw ExitCode.failure }
    }
}

struct Unbind: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Unbind devices from their driver.")

    @OptionGroup var safety: SafetyOptions

    @Argument(help: "PCI addresses, e.g. 0000:00:10.0.")
    var addresses: [String]

    func run() throws {
        try DriverBinder.refuseOutsideLab(allowOutsideLab: safety.outsideLab)
        let binder = DriverBinder(view: SystemView(), force: safety.force, loadModule: modprobe)
        var failed = false
        for text in addresses {
            guard let address = PCIAddress(text) else { throw ValidationError("\(text) is not a PCI address like 0000:00:10.0") }
            do { print(try binder.unbind(address)) } catch {
                printError("dp-devbind: \(error)")
                failed = true
            }
        }
        if failed { throw ExitCode.failure }
    }
}

/// Runs `modprobe MODULE`; true when it exits 0.
@Sendable func modprobe(_ module: String) -> Bool {
    var pid: pid_t = 0
    let arguments: [UnsafeMutablePointer<CChar>?] = [strdup("modprobe"), strdup(module), nil]
    defer { for argument in arguments { free(argument) } }
    guard posix_spawnp(&pid, "modprobe", nil, nil, arguments, environ) == 0 else { return false }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status == 0
}

func printError(_ text: String) {
    let line = Array((text + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
