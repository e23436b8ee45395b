import Synchronization
import Testing
import TollgateCore
import TollgateGateway

/// A clock the test moves by hand (monotonic nanoseconds).
final class ManualClock: Sendable {
    private let nanos = Atomic<UInt64>(1_000_000_000_000)
    func now() -> UInt64 { nanos.load(ordering: .relaxed) }
    func advance(_ seconds: Double) { nanos.add(UInt64(seconds * 1e9), ordering: .relaxed) }
}

/// The circuit breaker of `ProviderHealth`, on a clock the test controls.
@Suite struct ProviderHealthTests {
    static func make(threshold: Int = 3, cooldown: Double = 30, maxCooldown: Double = 300) -> (ProviderHealth, ManualClock) {
        var settings = FailoverSettings()
        settings.failureThreshold = threshold
        settings.cooldownSeconds = cooldown
        settings.maxCooldownSeconds = maxCooldown
        let clock = ManualClock()
        return (ProviderHealth(settings: settings, clock: { clock.now() }), clock)
    }

    static let serverError = ProviderHealth.Outcome.failure(status: 503, message: "down", retryAfter: nil)

    /// Admits one request to `p` and reports `outcome` for it; returns the admission.
    @discardableResult
    static func attempt(_ health: ProviderHealth, _ outcome: ProviderHealth.Outcome, provider p: String = "p") -> ProviderHealth.Admission {
        let admission = health.admit(p)
        switch admission {
        case .allowed: health.report(p, outcome, wasProbe: false)
        case .probe: health.report(p, outcome, wasProbe: true)
        case .coolingDown: break
        }
        return admission
    }

    @Test func theBreakerOpensAtTheThreshold() {
        let (health, _) = Self.make(threshold: 3)
        #expect(Self.attempt(health, Self.serverError) == .allowed)
        #expect(Self.attempt(health, Self.serverError) == .allowed)
        #expect(health.status(of: "p").state == .healthy)
        #expect(health.status(of: "p").consecutiveFailures == 2)
        #expect(Self.attempt(health, Self.serverError) == .allowed)
        #expect(health.admit("p") == .coolingDown(remaining: 30))
        let status = health.status(of: "p")
        #expect(status.state == .coolingDown)
        #expect(status.consecutiveFailures == 3)
        #expect(status.failures == 3)
        #expect(status.lastError?.status == 503)
        #expect(status.lastError?.message == "down")
        // Other providers are not affected.
        #expect(health.admit("other") == .allowed)
    }

    @Test(arguments: [ProviderHealth.Outcome.success, .requestError])
    func aSuccessOrARequestErrorResetsTheCount(reset: ProviderHealth.Outcome) {
        let (health, _) = Self.make(threshold: 3)
        Self.attempt(health, Self.serverError)
        Self.attempt(health, Self.serverError)
        Self.attempt(health, reset)
        #expect(health.status(of: "p").consecutiveFailures == 0)
        Self.attempt(health, Self.serverError)
        Self.attempt(health, Self.serverError)
        #expect(health.admit("p") == .allowed)
        #expect(health.status(of: "p").state == .healthy)
    }

    @Test func requestErrorsAreNeitherSuccessesNorFailures() {
        let (health, _) = Self.make()
        Self.attempt(health, .requestError)
        Self.attempt(health, .success)
        Self.attempt(health, Self.serverError)
        Self.attempt(health, .abandoned)
        let status = health.status(of: "p")
        #expect(status.successes == 1)
        #expect(status.failures == 1)
        #expect(status.consecutiveFailures == 1)  // an abandoned request says nothing
        #expect(status.inFlight == 0)
    }

    @Test func cooldownsDoubleUpToTheMaximum() {
        let (health, clock) = Self.make(threshold: 1, cooldown: 30, maxCooldown: 100)
        Self.attempt(health, Self.serverError)
        for expected in [30.0, 60, 100, 100] {
            #expect(health.admit("p") == .coolingDown(remaining: expected))
            clock.advance(expected - 1)
            #expect(health.admit("p") == .coolingDown(remaining: 1))
            clock.advance(1)
            #expect(Self.attempt(health, Self.serverError) == .probe)  // the probe fails: a longer cooldown
        }
        // A probe that succeeds closes the breaker and the next cooldown starts from the base again.
        clock.advance(100)
        #expect(Self.attempt(health, .success) == .probe)
        #expect(health.status(of: "p").state == .healthy)
        #expect(Self.attempt(health, .success) == .allowed)
        Self.attempt(health, Self.serverError)
        #expect(health.admit("p") == .coolingDown(remaining: 30))
    }

    @Test func halfOpenLetsOneProbeThrough() {
        let (health, clock) = Self.make(threshold: 1, cooldown: 10)
        Self.attempt(health, Self.serverError)
        clock.advance(10)
        #expect(health.status(of: "p").state == .halfOpen)
        #expect(health.admit("p") == .probe)
        #expect(health.admit("p") == .coolingDown(remaining: 0))
        #expect(health.admit("p") == .coolingDown(remaining: 0))
        #expect(health.inFlight("p") == 1)
        health.report("p", .success, wasProbe: true)
        #expect(health.status(of: "p").state == .healthy)
        #expect(health.admit("p") == .allowed)
        #expect(health.admit("p") == .allowed)
        #expect(health.inFlight("p") == 2)
    }

    @Test func anAbandonedProbeLetsTheNextRequestProbe() {
        let (health, clock) = Self.make(threshold: 1, cooldown: 10)
        Self.attempt(health, Self.serverError)
        clock.advance(10)
        #expect(health.admit("p") == .probe)
        health.report("p", .abandoned, wasProbe: true)
        #expect(health.status(of: "p").state == .halfOpen)
        #expect(health.admit("p") == .probe)
    }

    @Test func aRateLimitWithRetryAfterCoolsDownAtOnce() {
        let (health, clock) = Self.make(threshold: 3, cooldown: 30, maxCooldown: 300)
        Self.attempt(health, .failure(status: 429, message: "slow down", retryAfter: 12))
        #expect(health.admit("p") == .coolingDown(remaining: 12))
        #expect(health.status(of: "p").state == .coolingDown)
        clock.advance(12)
        #expect(Self.attempt(health, .success) == .probe)
        #expect(health.admit("p") == .allowed)
    }

    @Test func aRetryAfterIsCappedAtTheMaximumCooldown() {
        let (health, _) = Self.make(threshold: 3, cooldown: 30, maxCooldown: 300)
        Self.attempt(health, .failure(status: 429, message: "tomorrow", retryAfter: 86_400))
        #expect(health.admit("p") == .coolingDown(remaining: 300))
    }

    @Test func aRateLimitWithoutAHintIsAnOrdinaryFailure() {
        let (health, _) = Self.make(threshold: 2)
        #expect(Self.attempt(health, .failure(status: 429, message: "x", retryAfter: nil)) == .allowed)
        #expect(Self.attempt(health, .failure(status: 429, message: "x", retryAfter: 0)) == .allowed)
        #expect(health.admit("p") == .coolingDown(remaining: 30))
    }

    @Test func aShorterRetryAfterDoesNotShortenACooldown() {
        let (health, _) = Self.make(threshold: 1, cooldown: 30)
        Self.attempt(health, Self.serverError)
        // A request admitted before the breaker opened reports a 429 late.
        health.report("p", .failure(status: 429, message: "x", retryAfter: 5), wasProbe: false)
        #expect(health.admit("p") == .coolingDown(remaining: 30))
    }

    @Test func lateReportsDoNotMoveAnOpenBreaker() {
        let (health, clock) = Self.make(threshold: 1, cooldown: 30)
        #expect(health.admit("p") == .allowed)
        #expect(health.admit("p") == .allowed)
        #expect(health.admit("p") == .allowed)
        health.report("p", Self.serverError, wasProbe: false)
        clock.advance(10)
        health.report("p", Self.serverError, wasProbe: false)  // does not restart or lengthen the cooldown
        #expect(health.admit("p") == .coolingDown(remaining: 20))
        health.report("p", .success, wasProbe: false)  // nor does a late success close it
        #expect(health.admit("p") == .coolingDown(remaining: 20))
        #expect(health.inFlight("p") == 0)
    }

    @Test func inFlightCountsAdmittedRequestsOnly() {
        let (health, _) = Self.make(threshold: 1)
        #expect(health.inFlight("p") == 0)
        _ = health.admit("p")
        _ = health.admit("p")
        #expect(health.inFlight("p") == 2)
        #expect(health.status(of: "p").inFlight == 2)
        health.report("p", Self.serverError, wasProbe: false)
        #expect(health.inFlight("p") == 1)
        _ = health.admit("p")  // refused: cooling down
        #expect(health.inFlight("p") == 1)
        health.report("p", .abandoned, wasProbe: false)
        health.report("p", .abandoned, wasProbe: false)  // never below zero
        #expect(health.inFlight("p") == 0)
    }

    @Test func newSettingsApplyToTheNextDecision() {
        let (health, _) = Self.make(threshold: 5)
        Self.attempt(health, Self.serverError)
        var settings = FailoverSettings()
        settings.failureThreshold = 2
        health.update(settings: settings)
        Self.attempt(health, Self.serverError)
        #expect(health.admit("p") == .coolingDown(remaining: 30))
    }

    @Test func lastErrorsAreShortened() {
        let (health, _) = Self.make()
        Self.attempt(health, .failure(status: 500, message: String(repeating: "x", count: 1000), retryAfter: nil))
        #expect(health.status(of: "p").lastError?.message.count == 300)
    }

    @Test func theDefaultClockStillWorks() {
        let health = ProviderHealth(settings: FailoverSettings())
        #expect(health.admit("p") == .allowed)
        health.report("p", .success, wasProbe: false)
        #expect(health.status(of: "p").successes == 1)
    }
}
