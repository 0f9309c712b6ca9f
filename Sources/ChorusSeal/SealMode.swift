/// How a node treats plaintext while a cluster moves to encryption node by node
/// (memberlist's verify-outgoing / verify-incoming steps).
///
/// Migration: give every node the keyring in `.open` (it can open sealed messages but sends
/// plaintext), then move every node to `.acceptPlaintext` (sealed out, both in), then to
/// `.required`. At each step every pair of nodes still understands each other.
public enum SealMode: String, Sendable, CaseIterable {
    /// Sends plaintext; opens sealed messages it has a key for and takes plaintext.
    case open
    /// Sends sealed messages; still takes plaintext from nodes not moved yet.
    case acceptPlaintext = "accept_plaintext"
    /// Sends sealed messages and refuses plaintext.
    case required

    public var seals: Bool { self != .open }
    public var takesPlaintext: Bool { self != .required }
}
