import ArgumentParser
import SPIFFEExporterConfig

/// `--collector.agent.*`: the SPIRE agent itself, its own SVID and its sync with the server.
struct AgentOptions: ParsableArguments {
    @Flag(
        name: .customLong("collector.agent"), inversion: .prefixedNo,
        help:
            "Watch the SPIRE agent itself (its own SVID, server sync, caches) when an admin socket or data file is known. (default: --collector.agent)"
    )
    var enabled: Bool?

    @Option(
        name: .customLong("collector.agent.admin-address"),
        help: ArgumentHelp(
            "The agent's admin socket (admin_socket_path), polled with spire.agent.debug.v1.Debug/GetInfo, as [NAME=]unix:///path; NAME is the source label (default: agent). (default: --collector.delegated.address)",
            valueName: "[name=]unix:///path"))
    var adminAddress: String?

    @Option(
        name: .customLong("collector.agent.data-file"),
        help: ArgumentHelp(
            "The agent's data file, read every interval: <data_dir>/agent-data.json (SPIRE 1.9 or later), agent_svid.der (earlier), or the data directory (only those two files are opened in it), as [NAME=]PATH.",
            valueName: "[name=]path"))
    var dataFile: String?

    @Option(
        name: .customLong("collector.agent.interval"),
        help: "Time between reads of the agent (the agent caches GetInfo for 5s). (default: 30s)")
    var interval: String?

    @Option(name: .customLong("collector.agent.timeout"), help: "Deadline of one GetInfo. (default: 5s)")
    var timeout: String?

    var settings: CommandLineSettings.Agent {
        CommandLineSettings.Agent(
            enabled: enabled, adminAddress: adminAddress, dataFile: dataFile, interval: interval, timeout: timeout)
    }
}
