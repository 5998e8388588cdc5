import Foundation

/// JSON decoding that rejects keys the types do not know, so that data files with a typo
/// fail loudly instead of silently losing a fact.
enum StrictJSON {
    struct Failure: Error { let reason: String }

    static func decode<T: Codable>(_ type: T.Type, from data: Data) throws(Failure) -> T {
        let value: T
        do {
            value = try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw Failure(reason: String(describing: error))
        }
        // Re-encode and compare key paths: a key in the source that the type did not keep
        // is unknown (keys whose value is null may be absent from the re-encoding).
        do {
            let source = try JSONSerialization.jsonObject(with: data)
            let kept = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value))
            if let unknown = firstUnknownKey(source: source, kept: kept, path: "") {
                throw Failure(reason: "unknown key '\(unknown)'")
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(reason: String(describing: error))
        }
        return value
    }

    private static func firstUnknownKey(source: Any, kept: Any, path: String) -> String? {
        if let object = source as? [String: Any] {
            let keptObject = kept as? [String: Any] ?? [:]
            for (key, child) in object.sorted(by: { $0.key < $1.key }) {
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                guard let keptChild = keptObject[key] else {
                    if child is NSNull { continue }
                    return childPath
                }
                if let found = firstUnknownKey(source: child, kept: keptChild, path: childPath) {
                    return found
                }
            }
        } else if let array = source as? [Any], let keptArray = kept as? [Any] {
            for (index, child) in array.enumerated() where index < keptArray.count {
                if let found = firstUnknownKey(source: child, kept: keptArray[index], path: "\(path)[\(index)]") {
                    return found
                }
            }
        }
        return nil
    }
}

extension Error {
    var reason: String {
        (self as? StrictJSON.Failure)?.reason ?? String(describing: self)
    }
}
