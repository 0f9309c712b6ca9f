import Foundation
import ChorusSeal

/// The keyring file: one key a line as 64 hex digits, the primary first; blank lines and
/// lines starting with `#` are ignored. Invariant: what `load` returns is a valid keyring
/// (at least one key, at most `Keyring.maxKeys`, all well formed); `save` writes the same form.
public enum KeyringFile {
    public static func parse(_ text: String, source: String) throws(AgentStartError) -> Keyring {
        var keyring = Keyring()
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let key = SealKey(hex: line) else {
                throw .invalidSetting("keyring file \(source) line \(n + 1): expected a key of 64 hex digits")
            }
            do { try keyring.install(key) } catch { throw .invalidSetting("keyring file \(source): \(error)") }
        }
        guard !keyring.isEmpty else { throw .invalidSetting("keyring file \(source) holds no key") }
        if let why = SealLibrary.unavailableReason { throw .invalidSetting("keyring file \(source): \(why)") }
        return keyring
    }

    public static func load(path: String) throws(AgentStartError) -> Keyring {
        guard let data = FileManager.default.contents(atPath: path), data.count <= 64 * 1024,
              let text = String(data: data, encoding: .utf8) else {
            throw .invalidSetting("keyring file \(path) cannot be read (or is not small UTF-8 text)")
        }
        return try parse(text, source: path)
    }

    public static func text(_ keyring: Keyring) -> String {
        "# chorus keyring: the primary first\n" + keyring.keys.map { $0.hex + "\n" }.joined()
    }

    /// Replaces the file atomically (so a restart reads the rotated keyring).
    static func save(_ keyring: Keyring, path: String) -> Bool {
        (try? Data(text(keyring).utf8).write(to: URL(fileURLWithPath: path), options: [.atomic])) != nil
    }
}
