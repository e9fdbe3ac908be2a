import ArgumentParser

@main
struct TCPCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-tcp-check",
        abstract: "Runs the Dataplane stack on a tap as a TCP client against a Linux server and checks one scenario.",
        discussion: """
            Each scenario prints one line, 'ok: ...' or 'FAIL: ...', and exits non-zero on failure.
            The tap's kernel side (address, link up) is configured by the caller; use a fixed --mac when
            the tool runs several times on one tap, so the kernel's ARP entry stays right.
            Example:
              ip netns exec NS dp-tcp-check cycles --tap dpc0 --ip 10.79.1.2/24 --to 10.79.1.1:7 --count 10000
            """,
        subcommands: [Cycles.self, HalfClose.self, ExpectReset.self, ExpectRefused.self, Concurrent.self, Abort.self, ServeCloseFirst.self, KeepAlive.self])
}
