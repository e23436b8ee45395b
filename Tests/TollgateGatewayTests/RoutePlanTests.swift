import Testing
import TollgateCore
import TollgateGateway
import TollgateWire

/// `GatewaySnapshot.plan`: which providers a requested model goes to, in which order. Snapshots
/// are built from config JSON as the daemon builds them; no server runs.
@Suite struct RoutePlanTests {
    /// Providers: `a` (priority 2, falls back to `b/m2`), `b` (priority 1), `c` (priority 2, after `a`
    /// in the file) and `d` (priority 1, disabled: its key's variable is unset).
    static let json = """
        {
          "providers": {
            "a": {"type": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "api_key": "ka", "priority": 2,
                  "models": ["m1", "shared"], "fallbacks": ["b/m2", "c/m3"]},
            "b": {"type": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "api_key": "kb", "priority": 1,
                  "models": ["m2", "shared"]},
            "c": {"type": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "api_key": "env:C_KEY", "priority": 2,
                  "models": ["shared", "m3"]},
            "d": {"type": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "api_key": "env:D_KEY", "priority": 1,
                  "models": ["shared", "only-d"]}
          },
          "routes": {"fast": ["c/m3", "d/only-d", "a/m1"], "dead": ["d/only-d"]},
          "models": {
            "a/m1": {"capabilities": ["chat", "tools"]},
            "b/m2": {"capabilities": ["chat"]},
            "c/m3": {"capabilities": ["chat", "tools", "vision"]},
            "c/extra": {"context_window": 1000}
          }
        }
        """

    static func snapshot(_ json: String = json, environment: [String: String] = ["C_KEY": "kc"]) throws -> GatewaySnapshot {
        let config = try Config.parse(Array(json.utf8))
        let resolved = try WireRegistry.resolve(config, environment: environment)
        return GatewaySnapshot(config: config, providers: resolved.providers)
    }

    /// The plan as `provider/model` strings, or the error.
    static func plan(_ model: String, pinned: String? = nil, needs: Set<Capability> = []) throws -> Result<[String], GatewayError> {
        try snapshot().plan(model: model, pinned: pinned, needs: needs).map { $0.map { "\($0.provider.name)/\($0.model)" } }
    }

    @Test func anAliasGoesToItsTargetsInOrderWithoutDisabledOnes() throws {
        #expect(try Self.plan("fast").get() == ["c/m3", "a/m1"])
    }

    @Test func providerSlashModelGoesThereThenToItsFallbacks() throws {
        #expect(try Self.plan("a/m1").get() == ["a/m1", "b/m2", "c/m3"])
        // The model need not be listed: the provider is asked for it as named.
        #expect(try Self.plan("a/brand-new").get() == ["a/brand-new", "b/m2", "c/m3"])
        #expect(try Self.plan("b/org/model").get() == ["b/org/model"])
    }

    @Test func aBareModelIdGoesToItsProvidersByPriorityTiesInConfigOrder() throws {
        // b and d have priority 1 (d is disabled), a and c priority 2 with a first in the file.
        #expect(try Self.plan("shared").get() == ["b/shared", "a/shared", "c/shared"])
        #expect(try Self.plan("m2").get() == ["b/m2"])
    }

    @Test func equalPrioritiesKeepFileOrderWhateverTheNames() throws {
        let json = """
            {"providers": {
              "zed": {"type": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "api_key": "k", "models": ["x"]},
              "amy": {"type": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "api_key": "k", "models": ["x"]},
              "max": {"type": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "api_key": "k", "models": ["x"],
                      "priority": 7}
            }}
            """
        let plan = try Self.snapshot(json).plan(model: "x").get()
        #expect(plan.map(\.provider.name) == ["max", "zed", "amy"])
    }

    @Test func aModelOnlyTheConfigMentionsIsServed() throws {
        let snapshot = try Self.snapshot()
        #expect(snapshot.servedModels["c"] == ["shared", "m3", "extra"])
        #expect(try Self.plan("extra").get() == ["c/extra"])
        let candidate = try #require(try snapshot.plan(model: "extra").get().first)
        #expect(candidate.info.contextWindow == 1000)
    }

    @Test func pinningKeepsOneProvider() throws {
        #expect(try Self.plan("shared", pinned: "c").get() == ["c/shared"])
        #expect(try Self.plan("fast", pinned: "a").get() == ["a/m1"])
        #expect(try Self.plan("a/m1", pinned: "b").get() == ["b/m2"])  // its fallback's model
    }

    @Test func pinningAProviderOutsideThePlanAsksItForTheModel() throws {
        #expect(try Self.plan("m1", pinned: "b").get() == ["b/m1"])
        #expect(try Self.plan("c/m3", pinned: "a").get() == ["a/m3"])
        #expect(try Self.plan("never-heard-of", pinned: "a").get() == ["a/never-heard-of"])
    }

    @Test func pinningAnUnknownProviderIsTheClientsMistake() throws {
        let error = try #require(try Self.plan("shared", pinned: "nobody").failure)
        #expect(error.status == 400)
        #expect(error.code == "unknown_provider")
        #expect(error.message.contains(#""nobody""#))
    }

    @Test func pinningADisabledProviderSaysItIsDisabled() throws {
        let error = try #require(try Self.plan("shared", pinned: "d").failure)
        #expect(error.status == 503)
        #expect(error.code == "provider_disabled")
    }

    @Test func anUnknownModelListsWhatIsAvailable() throws {
        let error = try #require(try Self.plan("gpt-9").failure)
        #expect(error.status == 404)
        #expect(error.kind == .notFound)
        #expect(error.message.hasPrefix(#"The model "gpt-9" does not exist here. Available: fast, b/m2, b/shared, a/m1"#))
        #expect(!error.message.contains("only-d"))
        #expect(!error.message.contains("dead"))
    }

    @Test func onlyDisabledProvidersMeansUnavailable() throws {
        for model in ["dead", "only-d", "d/only-d"] {
            let error = try #require(try Self.plan(model).failure, "\(model)")
            #expect(error.status == 503)
            #expect(error.code == "provider_disabled")
            #expect(error.message.contains(#"provider "d" is disabled"#))
            #expect(error.message.contains("D_KEY"))
        }
    }

    @Test func aMissingCredentialDisablesAProviderEverywhere() throws {
        let snapshot = try Self.snapshot(environment: [:])  // C_KEY unset as well
        #expect(try snapshot.plan(model: "shared").get().map(\.provider.name) == ["b", "a"])
        #expect(try snapshot.plan(model: "fast").get().map(\.provider.name) == ["a"])
        #expect(!snapshot.availableModelIDs().contains("c/m3"))
    }

    @Test func candidatesLackingANeededCapabilityAreLeftOut() throws {
        #expect(try Self.plan("fast", needs: [.vision]).get() == ["c/m3"])
        #expect(try Self.plan("a/m1", needs: [.tools]).get() == ["a/m1", "c/m3"])
        #expect(try Self.plan("a/m1", needs: [.chat]).get() == ["a/m1", "b/m2", "c/m3"])
    }

    @Test func modelsWithUnknownCapabilitiesAreTried() throws {
        // Nothing is known about "shared": it may well support vision.
        #expect(try Self.plan("shared", needs: [.vision, .tools]).get() == ["b/shared", "a/shared", "c/shared"])
    }

    @Test func whenNoCandidateCanTheErrorNamesWhatIsMissing() throws {
        let error = try #require(try Self.plan("b/m2", needs: [.vision, .chat]).failure)
        #expect(error.status == 400)
        #expect(error.code == "capability_not_supported")
        #expect(error.message == #"This request needs vision, which no candidate for "b/m2" supports (b/m2)."#)

        // a/m1 has tools but not vision: only vision is named.
        let both = try #require(try Self.plan("fast", pinned: "a", needs: [.tools, .vision]).failure)
        #expect(both.message == #"This request needs vision, which no candidate for "fast" supports (a/m1)."#)
    }

    @Test func candidatesCarryCatalogInfoWithOverrides() throws {
        let plan = try Self.snapshot().plan(model: "a/m1").get()
        #expect(plan.map { $0.info.capabilities } == [[.chat, .tools], [.chat], [.chat, .tools, .vision]])
    }

    @Test func theModelListShowsWhatCanBeRequested() throws {
        let ids = try Self.snapshot().availableModelIDs()
        #expect(ids == ["fast", "b/m2", "b/shared", "a/m1", "a/shared", "c/shared", "c/m3", "c/extra",
                        "m2", "shared", "m1", "m3", "extra"])
    }
}

extension Result {
    var failure: Failure? { if case .failure(let e) = self { e } else { nil } }
}
