import Wire

/// The stack's counters as its core counts them: two blocks of plain
/// integers the stack owns, counted in place. Readers get a
/// `StackCounters` copy (`NetStack.counters`). An `Array` here cost a
/// copy-on-write uniqueness call on every count, several per received
/// frame (Docs/STACK.md, "Receive path instructions").
struct CounterBlock {
    let values: UnsafeMutableBufferPointer<UInt64>
    let malformedValues: UnsafeMutableBufferPointer<UInt64>

    init() {
        values = .allocate(capacity: StackCounter.allCases.count)
        values.initialize(repeating: 0)
        malformedValues = .allocate(capacity: ProtocolLayer.allCases.count * StackCounters.reasonStride)
        malformedValues.initialize(repeating: 0)
    }

    /// Frees the blocks (the stack's deinit).
    func deallocate() {
        values.deallocate()
        malformedValues.deallocate()
    }

    @inline(__always)
    subscript(_ counter: StackCounter) -> UInt64 {
        get { values[counter.rawValue] }
        nonmutating set { values[counter.rawValue] = newValue }
    }

    @inline(__always)
    func countMalformed(_ layer: ProtocolLayer, _ error: WireError) {
        malformedValues[StackCounters.index(layer, error)] += 1
    }

    /// A copy in arrays of its own.
    var snapshot: StackCounters {
        StackCounters(values: Array(values), malformedValues: Array(malformedValues))
    }
}
