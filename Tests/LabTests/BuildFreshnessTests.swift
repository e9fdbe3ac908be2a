import Testing
@testable import LabKit

/// dp-lab hands a product to `swift build` only when it was not built from
/// the current files (LabBuildFreshness).
@Suite struct BuildFreshnessTests {
    let fingerprint = "3f2a"

    @Test func aProductBuiltFromTheseFilesIsNotBuiltAgain() {
        let stamp = LabBuildFreshness.stampText(fingerprint, products: ["dp-echo", "dp-nio-http"])
        let needed = LabBuildFreshness.productsToBuild(["dp-echo"], stamp: stamp, fingerprint: fingerprint) { _ in true }
        #expect(needed.isEmpty)
    }

    @Test func anotherProductOrAMissingExecutableIsBuilt() {
        let stamp = LabBuildFreshness.stampText(fingerprint, products: ["dp-echo"])
        #expect(LabBuildFreshness.productsToBuild(["dp-echo", "dp-hb-http"], stamp: stamp, fingerprint: fingerprint) { _ in true }
                == ["dp-hb-http"])
        #expect(LabBuildFreshness.productsToBuild(["dp-echo"], stamp: stamp, fingerprint: fingerprint) { $0 != "dp-echo" }
                == ["dp-echo"])
    }

    @Test func changedFilesOrNoStampBuildEverything() {
        let stamp = LabBuildFreshness.stampText("older", products: ["dp-echo"])
        #expect(LabBuildFreshness.productsToBuild(["dp-echo"], stamp: stamp, fingerprint: fingerprint) { _ in true } == ["dp-echo"])
        #expect(LabBuildFreshness.productsToBuild(["dp-echo"], stamp: nil, fingerprint: fingerprint) { _ in true } == ["dp-echo"])
        // A stamp of the earlier format (the fingerprint alone) names no product.
        #expect(LabBuildFreshness.productsBuilt(stamp: fingerprint + "\n", fingerprint: fingerprint).isEmpty)
    }

    @Test func theStampKeepsEveryProductBuiltFromTheSameFiles() {
        let stamp = LabBuildFreshness.stampText(fingerprint, products: ["dp-hb-http", "dp-echo"])
        #expect(stamp == "3f2a\ndp-echo\ndp-hb-http\n")
        #expect(LabBuildFreshness.productsBuilt(stamp: stamp, fingerprint: fingerprint) == ["dp-echo", "dp-hb-http"])
    }
}
