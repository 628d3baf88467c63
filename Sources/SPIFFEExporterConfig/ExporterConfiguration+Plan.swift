import Foundation
import Logging
import SPIFFEExporterCollectors
import SPIFFEExporterCore

// Everything that turns a configuration into collectors, in one place: the collectors' own
// configuration types and initialisers are used here and nowhere else in this module.

extension ExporterConfiguration.Collectors {
    /// The collectors of this configuration, built on the shared store, board, registry and agent
    /// connections: Workload API sources, certificate files, an agent health check per Workload
    /// API source, the SPIRE agent itself, the Delegated Identity API, Envoy admin endpoints,
    /// federation bundle endpoints, and the served-certificate probe.
    public func plan(context: CollectorContext) -> CollectorSupervisor.Plan {
        var plan = CollectorSupervisor.Plan(services: [], contributors: [], sources: sources)
        for source in workloadAPI {
            plan.services.append(WorkloadAPICollector(configuration: source.collectorConfiguration, context: context))
        }
        if !certFiles.isEmpty {
            // SVIDs go to the shared store, glob certificates to a scrape contributor.
            let collector = CertFilesCollector(sources: certFiles, context: context)
            plan.services.append(collector)
            plan.contributors.append(collector.contributor)
        }
        if agentHealth.enabled {
            for source in workloadAPI {
                plan.services.append(
                    AgentHealthCollector(configuration: agentHealth.configuration(for: source), context: context))
            }
        }
        if let agent {
            plan.services.append(AgentCollector(configuration: agent.collectorConfiguration, context: context))
        }
        if let delegated {
            plan.services.append(
                DelegatedIdentityCollector(configuration: delegated.collectorConfiguration, context: context))
        }
        for admin in envoy.admins {
            let collector = EnvoyCollector(
                configuration: EnvoyCollectorConfiguration(
                    source: admin.name, endpoint: admin.endpoint, interval: envoy.interval, timeout: envoy.timeout),
                context: context)
            plan.services.append(collector)
            plan.contributors.append(collector.contributor)
        }
        for endpoint in federation.endpoints {
            plan.services.append(
                FederationCollector(
                    configuration: FederationCollectorConfiguration(endpoint: endpoint, interval: federation.interval),
                    context: context))
        }
        if !probe.targets.isEmpty {
            // The probe presents the client source's SVID and may authenticate servers with the
            // bundles of every source that has them (Workload API sources, spiffe-helper directories).
            let collector = ProbeCollector(
                configuration: probe, identities: probeIdentities(context: context), registry: context.registry,
                board: context.board,
                logger: context.logger)
            plan.services.append(collector)
            plan.contributors.append(collector.contributor)
            plan.targets = Set(probe.targets.map(\.name))
        }
        return plan
    }

    /// What the probes (scheduled and `/probe`) present and trust: the client source's SVID, the
    /// bundles of every source that has them (Workload API sources, spiffe-helper directories).
    public func probeIdentities(context: CollectorContext) -> StoreProbeIdentities {
        StoreProbeIdentities(
            store: context.store, board: context.board, clientSource: probe.clientSource,
            bundleSources: workloadAPI.map(\.name) + certFiles.map(\.name))
    }

    /// Every `source` label this configuration feeds into the store (a reload removes the others).
    public var sources: Set<String> {
        Set(
            workloadAPI.map(\.name) + certFiles.map(\.name) + (delegated?.subscriptions.subscriptions.map(\.name) ?? [])
                + (agent.map { [$0.name] } ?? []) + envoy.admins.map(\.name) + federation.endpoints.map(\.name))
    }
}

extension ExporterConfiguration.WorkloadAPISource {
    public var collectorConfiguration: WorkloadAPICollectorConfiguration {
        WorkloadAPICollectorConfiguration(
            source: name, address: address, firstResponseTimeout: timeout, jwtAudiences: jwtAudiences,
            jwtInterval: jwtInterval)
    }
}

extension ExporterConfiguration.Agent {
    public var collectorConfiguration: AgentCollectorConfiguration {
        AgentCollectorConfiguration(
            source: name, adminAddress: adminAddress, dataFile: dataFile, interval: interval, timeout: timeout)
    }
}

extension ExporterConfiguration.Delegated {
    public var collectorConfiguration: DelegatedIdentityCollectorConfiguration {
        DelegatedIdentityCollectorConfiguration(delegated: subscriptions, firstResponseTimeout: timeout)
    }
}

extension ExporterConfiguration.AgentHealth {
    /// The check of `source`'s agent, labelled with the source's name.
    public func configuration(for source: ExporterConfiguration.WorkloadAPISource) -> AgentHealthConfiguration {
        AgentHealthConfiguration(source: source.name, address: source.address, interval: interval, timeout: timeout)
    }
}

extension ExporterConfiguration.Identities {
    /// Makes the store show identities this way (at start and on every reload).
    public func apply(to store: IdentityStore, now: Date) {
        store.configure(spiffeIDLabels: spiffeIDLabels, issuerBackdate: issuerBackdate.seconds)
        store.expectations.configure(expected, now: now)
    }
}

extension ExporterConfiguration {
    /// `GET /probe`, on the same identities as the scheduled probes.
    public func probeEndpoint(context: CollectorContext) -> ProbeEndpoint {
        ProbeEndpoint(
            settings: probeEndpoint, identities: collectors.probeIdentities(context: context), registry: context.registry,
            logger: context.logger)
    }
}
