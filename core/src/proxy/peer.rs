//! Who is on the other end of a loopback connection. Any local user can connect to
//! 127.0.0.1, so without a local key the endpoint serves only connections whose socket
//! belongs to the user running it. On Linux the kernel says who owns each TCP socket in
//! `/proc/net/tcp` (and `tcp6`): the client's socket is the row whose local address is the
//! connection's peer and whose remote address is our end.

use std::net::{IpAddr, SocketAddr};

/// What the owner check says about one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    /// A socket of the user running the endpoint.
    SameUser,
    /// A socket of another user (its uid), or one whose owner the kernel no longer shows (a
    /// client that closed at once): refused.
    OtherUser(Option<u32>),
    /// This system can't tell (no `/proc/net/tcp`): served, as before the check existed.
    Unknown,
}

/// Who owns the client end of the connection `ours` ← `peer`.
pub(crate) fn owner(ours: SocketAddr, peer: SocketAddr) -> Peer {
    let table = match (ours.ip(), peer.ip()) {
        (IpAddr::V4(_), IpAddr::V4(_)) => "/proc/net/tcp",
        _ => "/proc/net/tcp6",
    };
    let Ok(text) = std::fs::read_to_string(table) else {
        return Peer::Unknown;
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    match socket_owner(&text, peer, ours) {
        Some(uid) if uid == me => Peer::SameUser,
        other => Peer::OtherUser(other),
    }
}

/// The uid of the socket whose local address is `local` and remote address `remote` in a
/// `/proc/net/tcp`-style table.
fn socket_owner(table: &str, local: SocketAddr, remote: SocketAddr) -> Option<u32> {
    let (local, remote) = (proc_addr(local), proc_addr(remote));
    table.lines().skip(1).find_map(|line| {
        let mut fields = line.split_whitespace();
        let l = fields.nth(1)?;
        let r = fields.next()?;
        if !(l.eq_ignore_ascii_case(&local) && r.eq_ignore_ascii_case(&remote)) {
            return None;
        }
        // st, tx_queue:rx_queue, tr:tm->when, retrnsmt, then uid.
        fields.nth(4)?.parse().ok()
    })
}

/// An address as the kernel prints it there: each 32-bit word of the IP in host byte order
/// as hex, then the port as hex.
fn proc_addr(addr: SocketAddr) -> String {
    let words: Vec<[u8; 4]> = match addr.ip() {
        IpAddr::V4(ip) => vec![ip.octets()],
        IpAddr::V6(ip) => ip
            .octets()
            .chunks_exact(4)
            .map(|c| [c[0], c[1], c[2], c[3]])
            .collect(),
    };
    let mut out: String = words
        .into_iter()
        .map(|w| format!("{:08X}", u32::from_ne_bytes(w)))
        .collect();
    out.push_str(&format!(":{:04X}", addr.port()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_endian = "little")]
    fn addresses_are_written_as_the_kernel_writes_them() {
        assert_eq!(
            proc_addr("127.0.0.1:9876".parse().unwrap()),
            "0100007F:2694"
        );
        assert_eq!(
            proc_addr("[::1]:443".parse().unwrap()),
            "00000000000000000000000001000000:01BB"
        );
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn the_row_of_the_client_end_gives_its_owner() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2694 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 11 1 0 100 0 0 10 0
   1: 0100007F:2694 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 12 1 0 20 4 30 10 -1
   2: 0100007F:C350 0100007F:2694 01 00000000:00000000 00:00000000 00000000  1001        0 13 1 0 20 4 30 10 -1
";
        let ours: SocketAddr = "127.0.0.1:9876".parse().unwrap();
        let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        assert_eq!(socket_owner(table, peer, ours), Some(1001));
        let gone: SocketAddr = "127.0.0.1:50001".parse().unwrap();
        assert_eq!(socket_owner(table, gone, ours), None);
    }

    #[test]
    fn a_real_loopback_connection_is_our_own() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, peer) = listener.accept().unwrap();
        let expected = if std::path::Path::new("/proc/net/tcp").exists() {
            Peer::SameUser
        } else {
            Peer::Unknown
        };
        assert_eq!(owner(server.local_addr().unwrap(), peer), expected);
        drop(client);
    }
}
