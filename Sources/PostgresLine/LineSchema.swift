/// The line database's schema, as numbered migrations. Shipped migrations never change; a new
/// need is a new one. `LineDatabase.migrate` applies the missing ones in one transaction under
/// an advisory lock, so stations starting at once apply each exactly once.
enum LineSchema {
    /// The advisory lock every migration run takes (any constant the line's other users do
    /// not take).
    static let lockKey: Int64 = 0x5354_4154_494f_4e31  // "STATION1"

    static let migrations: [(version: Int, name: String, statements: [String])] = [
        (1, "stations, store cursors, attempts, events, devices, import states", [
            """
            CREATE TABLE line_station (
                station_id TEXT PRIMARY KEY,
                line TEXT,
                last_contact TIMESTAMPTZ,
                lag_seconds DOUBLE PRECISION NOT NULL DEFAULT 0
            )
            """,
            """
            CREATE TABLE line_cursor (
                station_id TEXT NOT NULL REFERENCES line_station(station_id),
                store_id TEXT NOT NULL,
                shipped_seq BIGINT NOT NULL DEFAULT 0,
                PRIMARY KEY (station_id, store_id)
            )
            """,
            """
            CREATE TABLE line_attempt (
                station_id TEXT NOT NULL,
                device_id TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                line TEXT,
                operator TEXT,
                started_at TIMESTAMPTZ NOT NULL,
                finished_at TIMESTAMPTZ NOT NULL,
                passed BOOLEAN NOT NULL,
                failure_code TEXT,
                failure_message TEXT,
                platform TEXT,
                serial TEXT,
                iccid TEXT,
                imei TEXT,
                device_os TEXT,
                device_os_after TEXT,
                scan TEXT,
                protection TEXT,
                detail JSONB NOT NULL,
                shipped_by TEXT NOT NULL,
                PRIMARY KEY (station_id, device_id, attempt)
            )
            """,
            "CREATE INDEX line_attempt_by_time ON line_attempt (finished_at)",
            """
            CREATE TABLE line_event (
                store_id TEXT NOT NULL,
                local_id BIGINT NOT NULL,
                station_id TEXT NOT NULL,
                at TIMESTAMPTZ NOT NULL,
                device_id TEXT,
                kind TEXT NOT NULL,
                detail TEXT,
                PRIMARY KEY (store_id, local_id)
            )
            """,
            """
            CREATE TABLE line_device (
                station_id TEXT NOT NULL,
                device_id TEXT NOT NULL,
                serial TEXT,
                iccid TEXT,
                imei TEXT,
                platform_id INTEGER,
                sku TEXT,
                passed_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (station_id, device_id)
            )
            """,
            """
            CREATE TABLE line_import (
                station_id TEXT NOT NULL,
                device_id TEXT NOT NULL,
                destination TEXT NOT NULL,
                state TEXT NOT NULL,
                reason TEXT,
                attempts INTEGER NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (station_id, device_id)
            )
            """,
        ]),
        // The dashboard: a device by any ID on its sticker, a station's range, in an index
        // each (found by `station benchmark dashboard` on 1,000,000 attempts).
        (2, "indexes for the dashboard: a device by device ID, serial, ICCID or IMEI; a station's attempts by time", [
            "CREATE INDEX line_attempt_by_device ON line_attempt (lower(device_id))",
            "CREATE INDEX line_attempt_by_serial ON line_attempt (lower(serial))",
            "CREATE INDEX line_attempt_by_iccid ON line_attempt (lower(iccid))",
            "CREATE INDEX line_attempt_by_imei ON line_attempt (imei)",
            "CREATE INDEX line_attempt_by_station_time ON line_attempt (station_id, finished_at)",
        ]),
    ]

    static var latest: Int { migrations.map(\.version).max() ?? 0 }
}
