import TollgateCore

/// Orders candidates for one request: by tier (priority), and within a tier of several by the
/// balance mode, so several keys of one provider or several local servers share the load.
public enum CandidateOrder {
    /// What balancing needs to know of a candidate.
    public struct Entry: Sendable, Equatable {
        public var tier: Int
        public var weight: Double
        public var inFlight: Int
        public init(tier: Int, weight: Double = 1, inFlight: Int = 0) {
            self.tier = tier
            self.weight = weight
            self.inFlight = inFlight
        }
    }

    /// Indexes of `entries` in the order they should be tried. `random` returns values in [0, 1).
    public static func order(_ entries: [Entry], mode: BalanceMode, random: () -> Double) -> [Int] {
        // Stable by tier: candidates keep their planned order between tiers.
        let byTier = entries.indices.sorted { (entries[$0].tier, $0) < (entries[$1].tier, $1) }
        guard mode != .ordered else { return byTier }
        var result: [Int] = []
        var start = 0
        while start < byTier.count {
            var end = start + 1
            while end < byTier.count, entries[byTier[end]].tier == entries[byTier[start]].tier { end += 1 }
            let group = Array(byTier[start..<end])
            if group.count == 1 {
                result += group
            } else {
                let shuffled = weightedShuffle(group, weight: { entries[$0].weight }, random: random)
                if mode == .leastBusy {
                    // Fewest in flight first; equally busy ones in weighted random order.
                    let rank = Dictionary(uniqueKeysWithValues: shuffled.enumerated().map { ($1, $0) })
                    result += group.sorted { (entries[$0].inFlight, rank[$0]!) < (entries[$1].inFlight, rank[$1]!) }
                } else {
                    result += shuffled
                }
            }
            start = end
        }
        return result
    }

    /// A random order in which each next item is drawn with probability proportional to its weight.
    static func weightedShuffle(_ items: [Int], weight: (Int) -> Double, random: () -> Double) -> [Int] {
        var left = items
        var out: [Int] = []
        while !left.isEmpty {
            let total = left.reduce(0) { $0 + max(weight($1), 0) }
            var pick = left.count - 1
            if total > 0 {
                var point = random() * total
                for (i, item) in left.enumerated() {
                    point -= max(weight(item), 0)
                    if point < 0 {
                        pick = i
                        break
                    }
                }
            }
            out.append(left.remove(at: pick))
        }
        return out
    }
}
