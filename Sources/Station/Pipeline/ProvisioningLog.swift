import Foundation
import ParticleDevices

/// What a finished attempt does to the import queue, written with its record in one
/// transaction.
public enum ImportChange: Hashable, Sendable {
    case none
    /// A PASS: queue the device (its platform, for a bench serving several products).
    case enqueue(platformID: Int?)
    /// A FAIL after the device was queued: take the import back.
    case withdraw(reason: String)
}

/// Where jobs, attempt records, imports and events go (the station store, through an
/// adapter). A failure is reported to the technician; nothing is silently dropped.
public protocol ProvisioningLog: Sendable {
    func save(_ job: Job) async throws
    /// The attempt's record, the job as it ends (saved as `save` would) and what it does to
    /// the import queue: all or none, so a crash never leaves a job marked finished without
    /// its record (a restart would never record it) or a record without its import.
    func record(_ job: Job, _ detail: AttemptDetail, then change: ImportChange) async throws
    func enqueueImport(_ job: Job, platformID: Int?) async throws
    /// Takes back a queued import (the device failed after it was queued).
    func withdrawImport(_ job: Job, reason: String) async throws
    func event(_ kind: String, deviceID: DeviceID?, detail: String) async throws
    /// The jobs saved before a restart.
    func savedJobs() async throws -> [Job]
}

/// What an attempt did, beyond the job itself: for the durable record.
public struct AttemptDetail: Hashable, Sendable {
    public var startedAt: Date
    public var finishedAt: Date
    public var modulesBefore: [DeviceIdentity.Module]
    public var modulesAfter: [DeviceIdentity.Module]
    public var written: [FlashOutcome.Written]
}
