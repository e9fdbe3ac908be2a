// swift-tools-version: 6.2
// Dataplane: a userspace, poll-mode network data plane in Swift.
// The folder layout mirrors the layers (see Docs/ARCHITECTURE.md):
// Platform -> Packets -> NetDevice -> Drivers -> Wire/Stack -> Sockets.
import PackageDescription

/// Settings for modules on the per-packet path: exclusivity checks cost a
/// call per class-property access, and these modules own their memory
/// explicitly (one core, no sharing), so the dynamic check buys nothing.
let fastPath: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"]),
]

/// What `import Dataplane` re-exports (Sources/Dataplane/Dataplane.swift),
/// bottom layer first; DataplaneRuntime contributes `DataplaneCores` only.
let umbrellaModules = [
    "Platform", "Packets", "LinkAddress", "Wire", "NetDevice", "Steering", "Ports", "Capture",
    "TCP", "Stack", "Sockets", "DataplaneRuntime",
]

let package = Package(
    name: "Dataplane",
    products: [
        // Swift applications: `import Dataplane` (ports, cores, stack, sockets;
        // see Docs/SWIFT.md). Every module the umbrella re-exports is in the
        // product, so a file may also import one of them alone.
        .library(name: "Dataplane", targets: ["Dataplane"] + umbrellaModules),
        // Specialist: the drivers themselves, for programs that drive a
        // device without the stack or read a driver's own counters.
        .library(name: "DataplaneDrivers", targets: ["E1000", "VirtioNet", "TapDriver", "LoopbackDriver", "NullDriver"]),
        .executable(name: "dp-bench", targets: ["dp-bench"]),
        .executable(name: "dp-echo", targets: ["dp-echo"]),
        // Operations: live counters of a running process, and capture from outside it (Docs/OPERATIONS.md).
        .executable(name: "dp-stat", targets: ["dp-stat"]),
        .executable(name: "dp-dumpcap", targets: ["dp-dumpcap"]),
        // What C applications link: the BSD-shaped dp_* API (dataplane.h).
        .library(name: "dataplane", type: .dynamic, targets: ["CDataplane", "DataplaneRuntime"]),
        // What an unmodified program loads with LD_PRELOAD (DP_ARGS configures it).
        .library(name: "dataplane-preload", type: .dynamic, targets: ["CDataplanePreload", "DataplaneRuntime"]),
        .executable(name: "dp-stack-bench", targets: ["dp-stack-bench"]),
        .executable(name: "dp-wire-alloc", targets: ["dp-wire-alloc"]),
        .executable(name: "dp-lab", targets: ["dp-lab"]),
        .executable(name: "dp-testpmd", targets: ["dp-testpmd"]),
        .executable(name: "dp-devbind", targets: ["dp-devbind"]),
        .executable(name: "dp-probe", targets: ["dp-probe"]),
        .executable(name: "dp-tcp-bench", targets: ["dp-tcp-bench"]),
        .executable(name: "dp-virtio-test", targets: ["dp-virtio-test"]),
        .executable(name: "dp-tcp-check", targets: ["dp-tcp-check"]),
        .executable(name: "dp-conn-bench", targets: ["dp-conn-bench"]),
        .executable(name: "dp-impair", targets: ["dp-impair"]),
        // SwiftNIO on the data plane: event loops that are the cores, bootstraps, channels.
        .library(name: "DataplaneNIO", targets: ["DataplaneNIO"]),
        .executable(name: "dp-nio-http", targets: ["dp-nio-http"]),
        .executable(name: "dp-hb-http", targets: ["dp-hb-http"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        // Logs of the libraries (Platform's DataplaneLog: process, pid and core in each line).
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        // Only DataplaneNIO, its tools and tests use these; the core library does not.
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        // DataplaneNIO's timer heap (swift-nio depends on this package already).
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
    ],
    targets: [
        // MARK: Platform: C shim, system libraries, memory, PCI, cores, clock
        .target(name: "CPlatform", path: "Sources/CPlatform"),
        .systemLibrary(
            name: "CNuma", path: "Sources/CNuma", pkgConfig: "numa",
            providers: [.apt(["libnuma-dev"])]),
        .systemLibrary(
            name: "CPCI", path: "Sources/CPCI", pkgConfig: "libpci",
            providers: [.apt(["libpci-dev"])]),
        .target(
            name: "Platform", dependencies: ["CPlatform", "CNuma", "CPCI", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Platform"),

        // MARK: Packets: buffers, pools, rings
        .target(
            name: "Packets",
            dependencies: ["Platform", "CPlatform", .product(name: "Atomics", package: "swift-atomics"),
                           .product(name: "Logging", package: "swift-log")],
            path: "Sources/Packets", swiftSettings: fastPath),

        // MARK: Wire formats (pure, no state) and the device contract
        // The MAC address alone, a leaf both Wire and NetDevice build on.
        .target(name: "LinkAddress", path: "Sources/LinkAddress", swiftSettings: fastPath),
        .target(name: "Wire", dependencies: ["LinkAddress"], path: "Sources/Wire", swiftSettings: fastPath),
        .target(
            name: "NetDevice", dependencies: ["Packets", "LinkAddress"],
            path: "Sources/NetDevice", swiftSettings: fastPath),

        // MARK: Host drivers (tests, benchmarks, Linux peers)
        .target(
            name: "TapDriver", dependencies: ["NetDevice", "Packets", "Wire", "CPlatform"],
            path: "Drivers/Tap", swiftSettings: fastPath),
        .target(
            name: "LoopbackDriver", dependencies: ["NetDevice", "Packets", "Wire"],
            path: "Drivers/Loopback", swiftSettings: fastPath),
        .target(
            name: "NullDriver", dependencies: ["NetDevice", "Packets", "Wire"],
            path: "Drivers/Null", swiftSettings: fastPath),

        // Software RSS: one port's queue spread over several cores through rings.
        .target(
            name: "Steering", dependencies: ["NetDevice", "Packets", "Wire", "LinkAddress"],
            path: "Drivers/Steering", swiftSettings: fastPath),

        // MARK: Packet capture to pcapng (the stack's hook records bursts; a thread writes the file)
        .target(
            name: "Capture",
            dependencies: ["Packets", "Platform", "Wire", .product(name: "Atomics", package: "swift-atomics")],
            path: "Sources/Capture", swiftSettings: fastPath),

        // MARK: Telemetry: a Unix socket per process, JSON commands answered by the cores between bursts
        .target(
            name: "Telemetry",
            dependencies: ["Capture", "Stack", "TCP", "NetDevice", "Packets", "Platform", "Wire", "CPlatform",
                           .product(name: "Atomics", package: "swift-atomics")],
            path: "Sources/Telemetry"),

        // MARK: The per-core network stack
        .target(
            name: "Stack", dependencies: ["Capture", "CPlatform", "NetDevice", "Packets", "Platform", "TCP", "Wire",
                                          .product(name: "Atomics", package: "swift-atomics")],
            path: "Sources/Stack", swiftSettings: fastPath),
        // MARK: TCP: the connection state machine and endpoint table (pure, no devices)
        .target(name: "TCP", dependencies: ["Wire"], path: "Sources/TCP", swiftSettings: fastPath),

        // MARK: Sockets: the per-core BSD socket API (Swift), and its C face
        .target(
            name: "Sockets",
            dependencies: ["Stack", "Wire", "Platform", "CPlatform",
                           .product(name: "SystemPackage", package: "swift-system"),
                           .product(name: "Atomics", package: "swift-atomics")],
            path: "Sources/Sockets", swiftSettings: fastPath),
        .target(name: "CDataplane", path: "Sources/CDataplane"),
        // libc's socket, epoll, poll, read/write family routed by descriptor (LD_PRELOAD).
        .target(name: "CDataplanePreload", dependencies: ["CDataplane"], path: "Sources/CDataplanePreload",
                linkerSettings: [.linkedLibrary("dl")]),
        .target(
            name: "DataplaneRuntime",
            dependencies: ["Capture", "Telemetry", "Sockets", "CDataplane", "Stack", "TCP", "Ports", "Steering", "NetDevice", "Packets",
                           "Platform", "Wire", "CPlatform",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "SystemPackage", package: "swift-system"),
                           .product(name: "Atomics", package: "swift-atomics")],
            path: "Sources/DataplaneRuntime"),
        // MARK: Drivers
        .target(
            name: "E1000", dependencies: ["NetDevice", "Packets", "Platform", "CPlatform", "Wire"],
            path: "Drivers/E1000", swiftSettings: fastPath),
        // Opens ports by name for tools and the C runtime (PCI by IDs, host
        // drivers) and brings them up, ready to attach to a stack.
        .target(
            name: "Ports", dependencies: ["E1000", "VirtioNet", "Steering", "NullDriver", "TapDriver", "LoopbackDriver",
                                          "NetDevice", "Packets", "Platform", "Stack", "Wire"],
            path: "Drivers/Ports", swiftSettings: fastPath),
        .target(
            name: "VirtioNet", dependencies: ["CPlatform", "Platform", "Packets", "Wire", "NetDevice",
                                              .product(name: "Logging", package: "swift-log")],
            path: "Drivers/VirtioNet", swiftSettings: fastPath),

        // MARK: Umbrella library
        .target(
            name: "Dataplane",
            dependencies: umbrellaModules.map { .target(name: $0) }
                + [.product(name: "SystemPackage", package: "swift-system")],
            path: "Sources/Dataplane"),

        // MARK: Tools
        .executableTarget(
            name: "dp-bench",
            dependencies: [
                "Packets", "Platform",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ],
            path: "Tools/bench", exclude: ["plot.py", "dpdk-pktmbuf-perf.c", "dpdk-ring-loop.c", "instructions.sh"], swiftSettings: fastPath),
        .executableTarget(
            name: "dp-wire-alloc",
            dependencies: ["Wire", .product(name: "MallocInterposerSwift", package: "malloc-interposer")],
            path: "Tools/wire-alloc", swiftSettings: fastPath),

        .executableTarget(
            name: "dp-echo",
            dependencies: [
                "Capture", "Telemetry", "Stack", "Sockets", "TCP", "Ports", "Steering", "TapDriver", "NetDevice", "Packets", "Platform", "Wire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tools/echo", swiftSettings: fastPath),

        .executableTarget(
            name: "dp-stat",
            dependencies: ["Telemetry", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/stat"),

        .executableTarget(
            name: "dp-dumpcap",
            dependencies: ["Telemetry", "Platform", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/dumpcap"),

        .executableTarget(
            name: "dp-stack-bench",
            dependencies: [
                "Capture", "Telemetry", "Stack", "Sockets", "TCP", "Ports", "NetDevice", "Packets", "Platform", "Wire", "CPlatform",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            path: "Tools/stack-bench", swiftSettings: fastPath),

        .executableTarget(
            name: "dp-testpmd",
            dependencies: [
                "Ports", "E1000", "VirtioNet", "NullDriver", "TapDriver", "NetDevice", "Packets", "Platform", "CPlatform", "Wire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            path: "Tools/testpmd", swiftSettings: fastPath),

        // The guest lab (host side) and the guest-side tools it boots with.
        .target(name: "LabKit", path: "Tools/lab/LabKit"),
        .executableTarget(
            name: "dp-lab",
            dependencies: ["LabKit", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/lab/dp-lab"),
        .target(name: "DevBindKit", dependencies: ["Platform"], path: "Tools/devbind/DevBindKit"),
        .executableTarget(
            name: "dp-devbind",
            dependencies: ["DevBindKit", "Platform", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/devbind/dp-devbind"),
        .executableTarget(
            name: "dp-probe",
            dependencies: ["Platform", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/probe"),

        .executableTarget(
            name: "dp-tcp-bench",
            dependencies: [
                "TCP", "Wire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ],
            path: "Tools/tcp-bench", swiftSettings: fastPath),
        // Our stack as a TCP client against Linux servers (Tools/test.d/57-tcp-linux-connections.sh).
        .executableTarget(
            name: "dp-tcp-check",
            dependencies: [
                "Stack", "Sockets", "TCP", "Ports", "NetDevice", "Packets", "Platform", "Wire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Tools/tcp-check"),
        // Many idle connections on a tap, with memory accounting (Tools/demo/conn-scale.sh).
        .executableTarget(
            name: "dp-conn-bench",
            dependencies: [
                "Stack", "Sockets", "TCP", "Ports", "NetDevice", "Packets", "Platform", "Wire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tools/conn-bench"),
        // The guest half of the virtio lab tests (Tools/test.d/30-virtio-lab.sh).
        .executableTarget(
            name: "dp-virtio-test",
            dependencies: [
                "VirtioNet", "NetDevice", "Packets", "Platform", "Wire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            path: "Tools/virtio-test"),

        // The impairment relay between two Linux interfaces (Tools/test.d/56-tcp-linux-transfer.sh):
        // the decisions and the delay queue (Impairment, unit-tested), AF_PACKET in C, the tool.
        .target(name: "Impairment", path: "Tools/impair/Impairment"),
        .target(name: "CPacketSocket", path: "Tools/impair/CPacketSocket"),
        .executableTarget(
            name: "dp-impair",
            dependencies: ["Impairment", "CPacketSocket", "CPlatform", "Platform",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/impair/dp-impair"),

        // MARK: SwiftNIO transport (Docs/NIO.md)
        .target(
            name: "DataplaneNIO",
            dependencies: ["Sockets", "Stack", "TCP", "Ports", "Telemetry", "NetDevice", "Packets", "Platform", "Wire",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                           .product(name: "Atomics", package: "swift-atomics"),
                           .product(name: "HeapModule", package: "swift-collections")],
            path: "Sources/DataplaneNIO"),
        .target(name: "NIOToolOptions", dependencies: ["DataplaneNIO", "Stack"], path: "Tools/nio-options"),
        // NIO's HTTP/1.1 server pipeline over the data plane (or NIOPosix with --kernel).
        .executableTarget(
            name: "dp-nio-http",
            dependencies: ["DataplaneNIO", "NIOToolOptions", "Ports", "Platform", "Wire",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio")],
            path: "Tools/nio-http"),
        // A Hummingbird 2 application over the data plane (or NIOPosix with --kernel).
        .executableTarget(
            name: "dp-hb-http",
            dependencies: ["DataplaneNIO", "NIOToolOptions", "Platform", "Wire",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio")],
            path: "Tools/hb-http"),

        // MARK: Tests
        .testTarget(name: "PlatformTests", dependencies: ["Platform", .product(name: "Logging", package: "swift-log")], path: "Tests/PlatformTests"),
        .testTarget(
            name: "E1000Tests",
            dependencies: [
                "E1000", "NetDevice", "Packets", "Platform", "Wire", "TestSupport",
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ],
            path: "Tests/E1000Tests"),
        .testTarget(name: "LabTests", dependencies: ["LabKit"], path: "Tests/LabTests"),
        .testTarget(name: "DevBindTests", dependencies: ["DevBindKit", "Platform"], path: "Tests/DevBindTests"),
        .testTarget(name: "PacketsTests", dependencies: ["Packets", "Platform"], path: "Tests/PacketsTests"),
        .target(name: "TestSupport", dependencies: ["CPlatform", "NetDevice", "Packets", "Wire"], path: "Tests/Support"),
        .testTarget(
            name: "HostDriverTests",
            dependencies: ["TapDriver", "LoopbackDriver", "NullDriver", "NetDevice", "Packets", "Platform", "Wire", "TestSupport"],
            path: "Tests/HostDriverTests"),
        .testTarget(
            name: "PortsTests",
            dependencies: ["Ports", "NetDevice", "Packets", "Platform"],
            path: "Tests/PortsTests"),
        .testTarget(
            name: "StackTests",
            dependencies: ["Capture", "Stack", "TCP", "Ports", "LoopbackDriver", "TapDriver", "NetDevice", "Packets", "Platform", "Wire",
                           "TestSupport", "CPlatform"],
            path: "Tests/StackTests"),
        .testTarget(name: "WireTests", dependencies: ["Wire"], path: "Tests/WireTests"),
        .testTarget(
            name: "TelemetryTests",
            dependencies: ["Telemetry", "Capture", "DataplaneRuntime", "Stack", "Ports", "LoopbackDriver", "NetDevice", "Packets",
                           "Platform", "Wire", .product(name: "Atomics", package: "swift-atomics")],
            path: "Tests/TelemetryTests"),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "Packets", "Platform", "Wire"], path: "Tests/CaptureTests"),
        // What an application sees: the umbrella alone.
        .testTarget(name: "DataplaneTests", dependencies: ["Dataplane"], path: "Tests/DataplaneTests"),
        .testTarget(
            name: "SteeringTests",
            dependencies: ["Steering", "Ports", "Stack", "NetDevice", "Packets", "Wire", "LinkAddress"],
            path: "Tests/SteeringTests"),
        .testTarget(name: "TCPTests", dependencies: ["TCP", "Wire"], path: "Tests/TCPTests"),
        .testTarget(name: "ImpairmentTests", dependencies: ["Impairment"], path: "Tests/ImpairmentTests"),
        .testTarget(
            name: "SocketsTests",
            dependencies: ["Sockets", "DataplaneRuntime", "Stack", "TCP", "Ports", "LoopbackDriver", "TapDriver", "NetDevice",
                           "Packets", "Platform", "Wire", "TestSupport",
                           .product(name: "SystemPackage", package: "swift-system")],
            path: "Tests/SocketsTests"),
        .testTarget(
            name: "VirtioNetTests",
            dependencies: [
                "VirtioNet", "NetDevice", "Packets", "Platform", "Wire", "TestSupport",
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ],
            path: "Tests/VirtioNetTests"),
        .testTarget(
            name: "DataplaneNIOTests",
            dependencies: ["DataplaneNIO", "Sockets", "Stack", "TCP", "Ports", "LoopbackDriver", "NetDevice", "Packets", "Wire",
                           "TestSupport", "Platform",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio")],
            path: "Tests/DataplaneNIOTests"),
    ]
)

// Whole-stack fuzz targets (Tools/fuzz/stack, Docs/ROBUSTNESS.md): declared only
// when Tools/fuzz-stack.sh builds with DP_FUZZ_STACK=1 and --sanitize=fuzzer in a
// scratch path of its own, so plain builds never link libFuzzer.
if Context.environment["DP_FUZZ_STACK"] == "1" {
    // --sanitize=fuzzer makes libFuzzer's main the entry point (the targets define
    // LLVMFuzzerTestOneInput); the ASan runtime the -Xswiftc compiles need is linked here.
    // DP_FUZZ_SANITIZE=fuzzer: the long run's build without ASan (Docs/ROBUSTNESS.md).
    let stackFuzzSanitizers = Context.environment["DP_FUZZ_SANITIZE"] ?? "fuzzer,address"
    let stackFuzzLink: [LinkerSetting] = [.unsafeFlags(["-sanitize=\(stackFuzzSanitizers)"])]
    package.targets += [
        .target(
            name: "StackFuzzSupport",
            dependencies: ["Stack", "Sockets", "TCP", "LoopbackDriver", "NetDevice", "Packets", "Wire"],
            path: "Tools/fuzz/stack/Support"),
        .executableTarget(name: "dp-fuzz-stack", dependencies: ["StackFuzzSupport"], path: "Tools/fuzz/stack/stack",
                          linkerSettings: stackFuzzLink),
        .executableTarget(name: "dp-fuzz-tcp", dependencies: ["StackFuzzSupport"], path: "Tools/fuzz/stack/tcp",
                          linkerSettings: stackFuzzLink),
    ]
    package.products += [
        .executable(name: "dp-fuzz-stack", targets: ["dp-fuzz-stack"]),
        .executable(name: "dp-fuzz-tcp", targets: ["dp-fuzz-tcp"]),
    ]
}
