// The Dataplane library: one import for applications.
@_exported import NetDevice
@_exported import Packets
@_exported import Platform
@_exported import Wire
