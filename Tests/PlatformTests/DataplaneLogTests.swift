import Glibc
import Logging
import Platform
import Testing

@Suite struct DataplaneLogTests {
    @Test func aLineNamesProcessPidCoreAndLabel() {
        let line = DataplaneLogHandler.line(level: .warning, label: "dataplane.test", message: "pool low",
                                            metadata: ["pool": "rx", "free": "3"], core: 2)
        #expect(line.hasSuffix(" warning \(DataplaneLog.processName)[\(getpid())] core 2 dataplane.test: pool low free=3 pool=rx\n"))
        #expect(line.first?.isNumber == true && line.contains("T") && line.contains("Z "))
        let offCore = DataplaneLogHandler.line(level: .info, label: "x", message: "m", metadata: [:], core: -1)
        #expect(offCore.contains(" core - x: m\n"))
    }

    @Test func levelsParseAndTheProcessLevelFilters() {
        #expect(DataplaneLog.parseLevel("WARN") == .warning)
        #expect(DataplaneLog.parseLevel("debug") == .debug)
        #expect(DataplaneLog.parseLevel("loud") == nil)
        let saved = DataplaneLog.level
        defer { DataplaneLog.level = saved }
        DataplaneLog.level = .error
        #expect(DataplaneLog.logger("dataplane.test").logLevel == .error)
        DataplaneLog.level = .debug
        #expect(DataplaneLog.logger("dataplane.test").logLevel == .debug)
    }
}
