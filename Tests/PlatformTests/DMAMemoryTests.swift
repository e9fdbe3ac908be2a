import Testing
@testable import Platform
#if canImport(Glibc)
import Glibc
#endif

let isRoot = getuid() == 0

@Suite("DMA memory")
struct DMAMemoryTests {
    @Test("a zero size is refused with a clear error")
    func zeroSizeIsRefused() {
        #expect(throws: PlatformError.self) { try DMAMemory(size: 0, policy: .anonymous, iovaMode: .virtual) }
        do {
            _ = try DMAMemory(size: 0, policy: .anonymous, iovaMode: .virtual)
        } catch {
            #expect(error.kind == .invalidArgument)
            #expect(error.description.contains("positive"))
        }
    }

    @Test("anonymous fallback with IOVA = virtual address translates by offset")
    func anonymousVirtualIOVA() throws {
        let memory = try DMAMemory(size: 10_000, policy: .anonymous, iovaMode: .virtual)
        #expect(memory.backing == .anonymous)
        #expect(!memory.isHugepageBacked)
        #expect(memory.size >= 10_000 && memory.size % memory.pageSize == 0)
        let base = UInt64(UInt(bitPattern: memory.base))
        #expect(memory.iova(atOffset: 0) == base)
        #expect(memory.iova(atOffset: 4097) == base + 4097)
        #expect(memory.iova(of: memory.base + 123) == base + 123)
        #expect(memory.contains(memory.base + memory.size - 1))
        #expect(!memory.contains(memory.base + memory.size))
        // The region is zeroed and writable.
        #expect(memory.base.load(fromByteOffset: 5000, as: UInt8.self) == 0)
        memory.base.storeBytes(of: 0xAB, toByteOffset: 5000, as: UInt8.self)
        #expect(memory.base.load(fromByteOffset: 5000, as: UInt8.self) == 0xAB)
    }

    @Test("IOVA = physical address comes from pagemap, page by page", .enabled(if: isRoot, "pagemap shows frame numbers to root only"))
    func anonymousPhysicalIOVA() throws {
        let memory = try DMAMemory(size: 3 * 4096, policy: .anonymous, iovaMode: .physical)
        for page in 0..<3 {
            let offset = page * memory.pageSize + 100
            let expected = try PageMap.physicalAddress(of: memory.base + offset)
            #expect(expected != 0)
            #expect(memory.iova(atOffset: offset) == expected)
            #expect(memory.iova(atOffset: offset) % 4096 == 100)
        }
        #expect(memory.isPhysicallyContiguous(offset: 0, length: 4096))
        #expect(!memory.isPhysicallyContiguous(offset: 4000, length: 200))
    }

    @Test("hugepages required without free hugepages names the fix",
          .enabled(if: HugepageInfo.all().allSatisfy { $0.free == 0 }, "this machine has free hugepages"))
    func missingHugepagesExplainsTheFix() {
        do {
            _ = try DMAMemory(size: 4 << 20, policy: .hugepagesRequired, iovaMode: .virtual)
            Issue.record("expected an error without hugepages")
        } catch {
            #expect(error.kind == .noHugepages)
            #expect(error.description.contains("nr_hugepages") || error.description.contains("no hugepages"))
        }
    }

    @Test("the fallback policy gives anonymous memory when no hugepages are free",
          .enabled(if: HugepageInfo.all().allSatisfy { $0.free == 0 }, "this machine has free hugepages"))
    func fallbackWithoutHugepages() throws {
        let memory = try DMAMemory(size: 1 << 20, policy: .hugepagesOrAnonymousFallback, iovaMode: .virtual)
        #expect(memory.backing == .anonymous)
    }

    @Test("hugepage counts are read from sysfs and the shortage message is actionable")
    func hugepageInfoFromFixture() throws {
        let root = try FixtureTree([
            "hugepages-2048kB/nr_hugepages": "4\n", "hugepages-2048kB/free_hugepages": "1\n",
            "hugepages-1048576kB/nr_hugepages": "0\n", "hugepages-1048576kB/free_hugepages": "0\n",
        ])
        let infos = HugepageInfo.all(sysfsRoot: root.path)
        #expect(infos == [
            HugepageInfo(pageSize: 2 << 20, total: 4, free: 1),
            HugepageInfo(pageSize: 1 << 30, total: 0, free: 0),
        ])
        let message = infos[0].shortageMessage(needed: 3)
        #expect(message.contains("1 free 2048 kB hugepages"))
        #expect(message.contains("write 6 to /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"))
    }
}
