import Foundation
import Testing
import Yams

/// The deployment files are part of the product: they must parse and keep their security posture.
@Suite struct DeploymentManifestTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func read(_ path: String) throws -> String {
        try String(contentsOf: Self.repository.appendingPathComponent(path), encoding: .utf8)
    }

    /// Every YAML document of a file, as dictionaries.
    func documents(_ path: String) throws -> [[String: Any]] {
        try Yams.load_all(yaml: read(path)).compactMap { $0 as? [String: Any] }
    }

    func value(_ object: Any?, _ path: String) -> Any? {
        var current = object
        for part in path.split(separator: ".") {
            if let index = Int(part), let array = current as? [Any] {
                current = index < array.count ? array[index] : nil
            } else {
                current = (current as? [String: Any])?[String(part)]
            }
        }
        return current
    }

    @Test func daemonSetMountsTheAgentSocketReadOnlyAndRunsUnprivileged() throws {
        let docs = try documents("deploy/kubernetes/daemonset.yaml")
        let daemonSet = try #require(docs.first { $0["kind"] as? String == "DaemonSet" })
        #expect(value(daemonSet, "apiVersion") as? String == "apps/v1")
        let pod = value(daemonSet, "spec.template.spec")
        #expect(value(pod, "automountServiceAccountToken") as? Bool == false)
        #expect(value(pod, "securityContext.runAsNonRoot") as? Bool == true)
        let container = value(pod, "containers.0")
        #expect(value(container, "securityContext.readOnlyRootFilesystem") as? Bool == true)
        #expect(value(container, "securityContext.allowPrivilegeEscalation") as? Bool == false)
        #expect(value(container, "securityContext.capabilities.drop") as? [String] == ["ALL"])
        let mount = try #require((value(container, "volumeMounts") as? [[String: Any]])?.first)
        #expect(mount["readOnly"] as? Bool == true)
        let volume = try #require((value(pod, "volumes") as? [[String: Any]])?.first { $0["name"] as? String == mount["name"] as? String })
        #expect(value(volume, "hostPath.path") as? String == mount["mountPath"] as? String)
        let args = value(container, "args") as? [String] ?? []
        #expect(args.contains { $0.hasPrefix("--collector.workload-api.address=unix://\(mount["mountPath"] as? String ?? "")/") })
        #expect(value(container, "livenessProbe.httpGet.path") as? String == "/healthz")
        #expect(value(container, "readinessProbe.httpGet.path") as? String == "/readyz")
        #expect(value(container, "ports.0.containerPort") as? Int == 9841)
        // No RBAC objects: the exporter never talks to the Kubernetes API.
        let kinds = try ["daemonset", "service", "servicemonitor", "podmonitor", "kustomization"].flatMap {
            try documents("deploy/kubernetes/\($0).yaml").compactMap { $0["kind"] as? String }
        }
        #expect(!kinds.contains { $0.contains("Role") })
    }

    @Test func monitorsSelectThePods() throws {
        let labels = try #require(
            value(try documents("deploy/kubernetes/daemonset.yaml").first, "spec.template.metadata.labels") as? [String: String])
        let service = try #require(try documents("deploy/kubernetes/service.yaml").first)
        let selector = try #require(value(service, "spec.selector") as? [String: String])
        #expect(selector.allSatisfy { labels[$0.key] == $0.value })
        #expect(value(service, "spec.ports.0.port") as? Int == 9841)
        let serviceMonitor = try #require(try documents("deploy/kubernetes/servicemonitor.yaml").first)
        #expect(value(serviceMonitor, "kind") as? String == "ServiceMonitor")
        #expect(value(serviceMonitor, "spec.endpoints.0.port") as? String == "metrics")
        let podMonitor = try #require(try documents("deploy/kubernetes/podmonitor.yaml").first)
        let podSelector = try #require(value(podMonitor, "spec.selector.matchLabels") as? [String: String])
        #expect(podSelector.allSatisfy { labels[$0.key] == $0.value })
        let kustomization = try #require(try documents("deploy/kubernetes/kustomization.yaml").first)
        for resource in value(kustomization, "resources") as? [String] ?? [] {
            #expect(FileManager.default.fileExists(atPath: Self.repository.appendingPathComponent("deploy/kubernetes/\(resource)").path))
        }
    }

    @Test func systemdUnitIsHardened() throws {
        let unit = try read("deploy/systemd/spiffe-exporter.service")
        var sections: [String: [String: String]] = [:]
        var current = ""
        var pending = ""
        for raw in unit.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = String(raw)
            if !pending.isEmpty { line = pending + line.trimmingCharacters(in: .whitespaces); pending = "" }
            if line.hasSuffix("\\") { pending = String(line.dropLast()) + " "; continue }
            if line.hasPrefix("#") || line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            if line.hasPrefix("[") { current = String(line.dropFirst().dropLast()); continue }
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            sections[current, default: [:]][parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        let service = try #require(sections["Service"])
        for (key, expected) in [
            ("DynamicUser", "yes"), ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
            ("CapabilityBoundingSet", ""),
        ] {
            #expect(service[key] == expected, "\(key)")
        }
        #expect(service["ExecStart"]?.contains("/usr/local/bin/spiffe-exporter") == true)
        #expect(service["ExecStart"]?.contains("--collector.workload-api.address=unix://") == true)
        #expect(sections["Install"]?["WantedBy"] == "multi-user.target")
    }

    @Test func dockerfileIsMultiStageStaticAndNonRoot() throws {
        let lines = try read("Dockerfile").split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.filter { $0.hasPrefix("FROM ") }.count >= 2)
        #expect(lines.contains { $0.contains("--static-swift-stdlib") })
        let user = try #require(lines.last { $0.hasPrefix("USER ") })
        #expect(!user.contains("root") && !user.hasSuffix(" 0") && !user.contains(" 0:"))
        #expect(lines.contains { $0.hasPrefix("ENTRYPOINT") && $0.contains("spiffe-exporter") })
    }
}
