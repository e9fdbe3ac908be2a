// The Dataplane library: one import for Swift applications (Docs/SWIFT.md).
// Every layer an application touches, bottom first: memory and cores,
// packets, addresses and wire formats, the device contract, ports by name
// and their bring-up on one core or N (with the software steering their
// spreads name), the stack with its TCP configuration and statistics, and
// the sockets (blocking, non-blocking, readiness, async/await).
@_exported import Platform
@_exported import Packets
@_exported import LinkAddress
@_exported import Wire
@_exported import NetDevice
@_exported import Steering
@_exported import Ports
@_exported import TCP
@_exported import Stack
@_exported import Sockets
@_exported import Capture
// From the runtime only what Swift programs use: its dp_* functions are the
// C API (dataplane.h) and would only crowd a Swift program's namespace.
@_exported import class DataplaneRuntime.DataplaneCores
// The errno of every SocketError: nameable without a dependency on swift-system.
@_exported import struct SystemPackage.Errno
