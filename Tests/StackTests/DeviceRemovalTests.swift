import Stack
import Testing
import Wire

/// A removed port's TCP connections fail with ENETDOWN at once
/// (NetStack.interfaceRemoved; the lab version is Tools/test.d/71-faults-lab.sh).
@Suite("Stack: a removed device")
struct DeviceRemovalTests {
    @Test func connectionsOnARemovedInterfaceFailWithNetworkDown() throws {
        let net = try TwoStacks()
        let listener = try net.b.tcpListen(address: .any, port: 5001, backlog: 4, options: TCPStreamOptions())
        let (client, _) = try net.a.tcpConnect(from: TwoStacks.addressA, port: nil, to: TwoStacks.addressB, port: 5001,
                                               options: TCPStreamOptions())
        var server: TCPStreamHandle?
        #expect(net.pump(until: { server = server ?? net.b.tcpAccept(listener)?.0; return server != nil }))
        #expect(net.a.tcpStatus(client)?.failure == nil)
        #expect(net.a.interfaceRemoved(0) == 1)
        #expect(net.a.tcpStatus(client)?.failure == .networkDown)
        // The other side is untouched: no RST went out (there is no way out).
        net.pump()
        #expect(net.b.tcpStatus(server!)?.failure == nil)
        #expect(net.a.interfaceRemoved(0) == 0)
        net.a.tcpRelease(client)
    }
}
