/// Where the three parts of a split virtqueue of `size` entries lie in one
/// memory area (virtio 1.x, 2.7): descriptor table, available ring, then
/// the used ring on a 4 KiB boundary, which is the legacy transport's
/// layout and suits the modern one too.
struct SplitVirtqueueLayout: Equatable {
    let size: Int
    let descriptorsOffset: Int
    let availOffset: Int
    let usedOffset: Int
    let totalSize: Int

    static let descriptorSize = 16
    static let alignment = 4096

    init(size: Int) {
        self.size = size
        descriptorsOffset = 0
        availOffset = Self.descriptorSize * size
        // flags, idx, ring[size], used_event
        let availEnd = availOffset + 4 + 2 * size + 2
        usedOffset = (availEnd + Self.alignment - 1) / Self.alignment * Self.alignment
        // flags, idx, ring[size] of (id, len), avail_event
        let usedEnd = usedOffset + 4 + 8 * size + 2
        totalSize = (usedEnd + Self.alignment - 1) / Self.alignment * Self.alignment
    }

    var isLegacyLayout: Bool { descriptorsOffset == 0 && usedOffset % Self.alignment == 0 }
}
