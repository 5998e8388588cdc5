import Foundation
import GRDB

/// A store failure: which file, and what to do.
public enum StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A command that only reads found no store at the path (it never creates one).
    case missing(path: String)
    case open(path: String, detail: String)
    case database(path: String, detail: String)

    public var code: String {
        switch self {
        case .missing: "STORE-MISSING"
        case .open: "STORE-OPEN"
        case .database: "STORE-DATABASE"
        }
    }

    /// What happened and what to do, without the code.
    public var message: String {
        switch self {
        case .missing(let path):
            "no station store at \(path). Check the path: `station queue status --config FILE` names the store a station writes"
        case .open(let path, let detail):
            "cannot open the station store \(path): \(detail). Check the path (--store) and that this user may write there"
        case .database(let path, let detail):
            "the station store \(path) failed: \(detail). If another station process holds it for long, stop that one and retry"
        }
    }

    public var description: String { "[\(code)] \(message)." }
}

/// A device that passed, as the queue knows it.
public struct DeviceRecord: Hashable, Sendable {
    public var deviceID: String
    public var serial: String?
    public var iccid: String?
    public var imei: String?
    public var platformID: Int?
    public var sku: String?
    public var stationID: String
    public var passedAt: Date

    public init(deviceID: String, serial: String? = nil, iccid: String? = nil, imei: String? = nil, platformID: Int? = nil, sku: String? = nil,
                stationID: String, passedAt: Date = Date()) {
        self.deviceID = deviceID
        self.serial = serial
        self.iccid = iccid
        self.imei = imei
        self.platformID = platformID
        self.sku = sku
        self.stationID = stationID
        self.passedAt = passedAt
    }

    init(row: Row) {
        self.init(deviceID: row["device_id"], serial: row["serial"], iccid: row["iccid"], imei: row["imei"], platformID: row["platform_id"],
                  sku: row["sku"], stationID: row["station_id"], passedAt: Date(timeIntervalSince1970: row["passed_at"]))
    }
}

/// Where a device is being imported to.
public enum Destination: String, Hashable, Sendable, CaseIterable {
    case product
    /// The test account (fallback, or a connectivity line).
    case testAccount = "test-account"
}

/// An item's state. The fallback path's states are documented in ImportQueue's README.
public enum ItemState: String, Hashable, Sendable, CaseIterable {
    /// Waiting to be sent (or re-sent after a transient failure).
    case pending
    /// In the product (imported now or already present).
    case done
    /// Refused in a way a retry will not fix; the reason says why. `station queue retry`
    /// puts it back.
    case attention
    /// Handled under the test account; `station queue migrate` moves it into the product.
    case pendingMigration = "pending-migration"
}

public struct QueueItem: Hashable, Sendable {
    public var deviceID: String
    public var destination: Destination
    public var state: ItemState
    public var reason: String?
    public var attempts: Int
    public var importSIM: Bool
    public var iccid: String?
    public var serial: String?
    public var sku: String?
    public var enqueuedAt: Date
    public var nextAttemptAt: Date

    init(row: Row) {
        deviceID = row["device_id"]
        destination = Destination(rawValue: row["destination"]) ?? .product
        state = ItemState(rawValue: row["state"]) ?? .pending
        reason = row["reason"]
        attempts = row["attempts"]
        importSIM = row["import_sim"]
        iccid = row["iccid"]
        serial = row["serial"]
        sku = row["sku"]
        enqueuedAt = Date(timeIntervalSince1970: row["enqueued_at"])
        nextAttemptAt = Date(timeIntervalSince1970: row["next_attempt_at"])
    }
}

/// One request to the cloud and its result.
public struct Attempt: Hashable, Sendable {
    public var at: Date
    /// e.g. `import-devices`, `import-sims`, `sim-activate`, `claim`.
    public var kind: String
    public var httpStatus: Int?
    /// e.g. `ok`, `CLOUD-RATE-LIMITED`, `CLOUD-NETWORK`.
    public var outcome: String
    public var detail: String?

    public init(at: Date, kind: String, httpStatus: Int?, outcome: String, detail: String? = nil) {
        self.at = at
        self.kind = kind
        self.httpStatus = httpStatus
        self.outcome = outcome
        self.detail = detail
    }

    init(row: Row) {
        self.init(at: Date(timeIntervalSince1970: row["at"]), kind: row["kind"], httpStatus: row["http_status"], outcome: row["outcome"], detail: row["detail"])
    }
}

/// What an attempt did to one item.
public struct ItemUpdate: Hashable, Sendable {
    public var deviceID: String
    public var state: ItemState
    public var destination: Destination?
    public var reason: String?
    /// e.g. `updated`, `existing`, `invalidDeviceIds`, `retry`.
    public var outcome: String
    public var nextAttempt: Date?
    public var countsAsAttempt: Bool

    public init(deviceID: String, state: ItemState, destination: Destination? = nil, reason: String? = nil, outcome: String, nextAttempt: Date? = nil,
                countsAsAttempt: Bool = true) {
        self.deviceID = deviceID
        self.state = state
        self.destination = destination
        self.reason = reason
        self.outcome = outcome
        self.nextAttempt = nextAttempt
        self.countsAsAttempt = countsAsAttempt
    }
}
