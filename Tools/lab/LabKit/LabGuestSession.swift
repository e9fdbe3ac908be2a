#if canImport(Glibc)
import Glibc
#endif

/// The run loop's state while a guest runs: QEMU's console, the peers
/// started once the guest is ready, and what the result says so far.
struct LabGuestSession {
    let options: LabRunOptions
    let namespace: LabNamespace
    let qemu: Subprocess
    let start: Double
    let log: (String) -> Void
    let progress: Progress

    var result = LabRunResult(totalSeconds: 0)
    var peers: [(process: Subprocess, buffer: LineBuffer)] = []
    /// QEMU's QMP socket, given to the peers as DP_LAB_QMP.
    var qmpSocket: String?
    var qemuOutput = LineBuffer()
    var qemuOpen = true
    /// Boot lines not shown (shown on failure before init started).
    var hiddenLines = [String]()
    var initStarted = false
    var exitSeen: Double?

    init(options: LabRunOptions, namespace: LabNamespace, qemu: Subprocess, start: Double, log: @escaping (String) -> Void) {
        self.options = options
        self.namespace = namespace
        self.qemu = qemu
        self.start = start
        self.log = log
        progress = Progress(enabled: options.progress, log: log)
    }

    /// One pass of the run loop: waits up to 100 ms for output and
    /// handles it. False when the run is over.
    mutating func step(onLine: (String) -> Void) throws(LabError) -> Bool {
        if shouldEnd(at: MonotonicClock.now) { return false }
        waitForOutput()
        if qemuOpen { try readQEMU(onLine: onLine) }
        readPeers(onLine: onLine)
        return !qemuHasEnded()
    }

    /// Ctrl-C, the timeout, or the grace period after the exit status;
    /// updates the boot progress line otherwise.
    private mutating func shouldEnd(at now: Double) -> Bool {
        if interruptSignal != 0 {
            result.interrupted = true
            progress.clear()
            log("dp-lab: interrupted, tearing down")
            return true
        }
        if now - start > options.timeout {
            result.timedOut = true
            progress.clear()
            log("dp-lab: timed out after \(format(options.timeout)) s (--timeout), tearing down")
            if !initStarted { hiddenLines.suffix(30).forEach(log) }
            return true
        }
        if result.bootSeconds == nil, now - start > options.effectiveBootLimit {
            result.bootStalled = true
            progress.clear()
            log("dp-lab: the guest was not ready \(format(options.effectiveBootLimit)) s after QEMU started: its boot stalled")
            hiddenLines.suffix(10).forEach(log)
            return true
        }
        if result.bootSeconds == nil { progress.update(now - start, initStarted: initStarted) }
        // After the status, give the guest a moment to power off.
        if let exitSeen, now - exitSeen > 5 { return true }
        return false
    }

    /// Polls QEMU's and the peers' output for up to 100 ms.
    private func waitForOutput() {
        var fds = [pollfd]()
        if qemuOpen { fds.append(pollfd(fd: qemu.outputFD!, events: Int16(POLLIN), revents: 0)) }
        for peer in peers where peer.buffer.open { fds.append(pollfd(fd: peer.process.outputFD!, events: Int16(POLLIN), revents: 0)) }
        if fds.isEmpty {
            usleep(50_000)
        } else {
            _ = Glibc.poll(&fds, nfds_t(fds.count), 100)
        }
    }

    /// QEMU's console: the init markers, then guest lines.
    private mutating func readQEMU(onLine: (String) -> Void) throws(LabError) {
        qemuOpen = qemuOutput.read(qemu.outputFD!)
        for line in qemuOutput.takeLines() {
            if line.hasPrefix(InitScript.startedMarker) {
                initStarted = true
                continue
            }
            if line.hasPrefix(InitScript.readyMarker) {
                try guestReady()
                continue
            }
            if line.hasPrefix(InitScript.exitMarker) {
                result.status = Int32(line.dropFirst(InitScript.exitMarker.count).trimmingWhitespace())
                exitSeen = MonotonicClock.now
                continue
            }
            // The kernel's last word at power-off is noise.
            if line.hasSuffix("reboot: Power down") && !options.verbose { continue }
            if initStarted || options.verbose {
                progress.clear()
                result.guestLines.append(line)
                onLine(line)
            } else {
                hiddenLines.append(line)
            }
        }
    }

    /// The guest is up: note the boot time and start the peers.
    private mutating func guestReady() throws(LabError) {
        result.bootSeconds = MonotonicClock.now - start
        progress.clear()
        progress.ready(result.bootSeconds!)
        for command in options.peers {
            let environment = qmpSocket.map { ["env", "DP_LAB_QMP=\($0)"] } ?? []
            let process = try Subprocess(namespace.command(environment + ["sh", "-c", command]), captureOutput: true)
            peers.append((process, LineBuffer()))
        }
    }

    private mutating func readPeers(onLine: (String) -> Void) {
        for index in peers.indices where peers[index].buffer.open {
            peers[index].buffer.open = peers[index].buffer.read(peers[index].process.outputFD!)
            for line in peers[index].buffer.takeLines() { onLine("peer: " + line) }
        }
    }

    /// True once QEMU's output closed and the process exited.
    private func qemuHasEnded() -> Bool {
        guard !qemuOpen, qemu.poll() != nil else { return false }
        if result.status == nil {
            progress.clear()
            log("dp-lab: QEMU ended (status \(qemu.poll()!)) before the guest command reported its status")
            if !initStarted { hiddenLines.suffix(40).forEach(log) }
        }
        return true
    }

    /// Teardown: reports and stops the peers, then QEMU.
    func stopPeersAndQEMU() {
        for (index, peer) in peers.enumerated() {
            if let status = peer.process.poll() {
                log("dp-lab: peer \(index + 1) exited with status \(status)")
            } else {
                peer.process.terminate()
                log("dp-lab: peer \(index + 1) was still running and was stopped")
            }
        }
        qemu.terminate()
    }
}
