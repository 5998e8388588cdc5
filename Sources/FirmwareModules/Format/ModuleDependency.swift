/// A module's identity as the dependency rule sees it.
public struct ModuleIdentity: Hashable, Sendable, Codable {
    public var function: ModuleFunction
    public var index: UInt8
    public var version: UInt16

    public init(function: ModuleFunction, index: UInt8, version: UInt16) {
        self.function = function
        self.index = index
        self.version = version
    }
}

/// A dependency slot of the prefix: the function, index and **minimum** version required.
/// Function 0 means "no dependency"; then index and version are 0 too.
///
/// Spec: `module_dependency_t` in Device OS `dynalib/inc/module_info.h`.
public struct ModuleDependency: Hashable, Sendable {
    public var function: ModuleFunction
    public var index: UInt8
    public var version: UInt16

    public init(function: ModuleFunction, index: UInt8, version: UInt16) {
        self.function = function
        self.index = index
        self.version = version
    }

    public static let none = ModuleDependency(function: .none, index: 0, version: 0)

    public var isNone: Bool { function == .none }

    /// Whether a set of installed modules meets this dependency: some module of the same
    /// function and index has a version >= the required one. Not transitive.
    ///
    /// Spec: `validate_module_dependencies`, Device OS `hal/src/nRF52840/ota_flash_hal.cpp`.
    public func isSatisfied<S: Sequence<ModuleIdentity>>(by installed: S) -> Bool {
        if isNone { return true }
        return installed.contains { $0.function == function && $0.index == index && $0.version >= version }
    }
}
