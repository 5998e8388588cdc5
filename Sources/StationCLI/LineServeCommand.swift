import ArgumentParser
import Dashboard
import Foundation
import PostgresLine
import StationReports
import StationStore

/// `station line serve (--database URL | --store PATH...) [--listen HOST:PORT]
/// [--viewer-token-file FILE]`: the QA lead's dashboard, live, over the line database (on
/// read-only sessions) or station stores opened read-only.
struct LineServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "The QA lead's dashboard: a live web view of a station or a whole line.",
        discussion: """
            Pages: / (the line now), /stations/ID, /devices/ID (by device ID; the search box also \
            takes a serial number, an ICCID or an IMEI); their data as JSON under /api/. Listens on \
            127.0.0.1:8080 by default. Any other address needs --viewer-token-file (a 0600 file \
            holding one line of at least 16 characters): every request then needs the token, through \
            the sign-in form (pages) or Authorization: Bearer TOKEN (the API). The line database is \
            read on read-only sessions and the stores are opened read-only: the dashboard never writes.
            """)

    @OptionGroup var line: LineDatabaseOptions
    @Option(name: .long, help: "A station store to show (repeatable: a line of stations).", completion: .file()) var store: [String] = []
    @Option(name: .long, help: "Where to listen: HOST:PORT (port 0: any free port, printed).") var listen = DashboardListen.loopback.description
    @Option(name: .long, help: "The viewer token file (mode 0600); needed for any address off loopback.", completion: .file()) var viewerTokenFile: String?

    func validate() throws {
        guard store.isEmpty != (line.database == nil) else {
            throw ValidationError("Name the line database with --database URL, or one or more --store PATH (a station's SQLite file); not both.")
        }
    }

    func run() async throws {
        let server: DashboardServer
        do {
            let address = try DashboardListen.parse(listen)
            let token = try viewerTokenFile.map { path throws(DashboardError) in try ViewerToken.read(path) }
            let source: any DashboardSource
            if line.database != nil {
                let (url, file) = try line.resolve()
                let password: String?
                do { password = try LinePassword.resolve(url, file: file, environment: ProcessInfo.processInfo.environment) } catch { throw CommandFailure.line(error) }
                source = LineDashboardSource(url: url, password: password, explain: ReportCommand.explain)
            } else {
                source = try StoreDashboardSource(paths: store, explain: ReportCommand.explain)
            }
            server = try DashboardServer(source: source, listen: address, token: token)
        } catch let error as DashboardError {
            throw CommandFailure(error.kind == .tokenFile ? .dataError : .usage, error.code, error.message)
        } catch let error as StoreError {
            throw CommandFailure.from(error)!
        }
        let name = server.source.name
        try await server.run { address in
            // Unbuffered: a script waiting for the address reads it at once.
            FileHandle.standardOutput.write(Data("dashboard: \(address) (\(name)); Ctrl-C stops it\n".utf8))
        }
    }
}
