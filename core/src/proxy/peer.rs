//! Who is on the other end of a loopback connection. Any local user can connect to
//! 127.0.0.1, so without a local key the endpoint serves only connections whose socket
//! belongs to the user running it. On Linux the kernel answers that for one connection
//! directly (`sock_diag` over netlink, what `ss` uses): the client's socket is the one whose
//! local address is the connection's peer and whose remote address is our end. Reading
//! `/proc/net/tcp` instead costs milliseconds per connection (it walks every socket).

use std::net::SocketAddr;

/// What the owner check says about one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    /// A socket of the user running the endpoint.
    SameUser,
    /// A socket of another user (its uid), or one no process holds any more (a client that
    /// sent its request and closed at once): refused.
    OtherUser(Option<u32>),
    /// This system can't tell: served, as before the check existed.
    Unknown,
}

/// Who owns the client end of the connection `ours` ← `peer`.
pub(crate) fn owner(ours: SocketAddr, peer: SocketAddr) -> Peer {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    match sock_diag::owner_of(peer, ours) {
        Ok(Some(uid)) if uid == me => Peer::SameUser,
        Ok(owner) => Peer::OtherUser(owner),
        Err(e) => {
            tracing::debug!(error = %e, "the kernel did not say who owns a connection");
            Peer::Unknown
        }
    }
}

#[cfg(target_os = "linux")]
mod sock_diag {
    //! One `SOCK_DIAG_BY_FAMILY` request for one TCP socket (`linux/inet_diag.h`).

    use std::io;
    use std::net::{IpAddr, SocketAddr};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    /// `nlmsghdr` (16 bytes) + `inet_diag_req_v2` (56 bytes).
    const REQUEST_LEN: usize = 16 + 56;
    /// Where `idiag_uid` and `idiag_inode` sit in the answer (after the 16-byte header).
    const UID_AT: usize = 16 + 64;
    const INODE_AT: usize = 16 + 68;

    /// The uid owning the TCP socket bound to `local` and connected to `remote`; `None`
    /// when there is none, or no process holds it any more (closed, or in TIME_WAIT).
    pub(super) fn owner_of(local: SocketAddr, remote: SocketAddr) -> io::Result<Option<u32>> {
        // SAFETY: plain socket(2); the result is checked and owned right away.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::NETLINK_SOCK_DIAG,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let timeout = libc::timeval {
            tv_sec: 1,
            tv_usec: 0,
        };
        // SAFETY: a valid timeval of the size given.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        let request = request(local, remote);
        // SAFETY: sockaddr_nl is plain data; all zero but the family addresses the kernel.
        let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: the buffer and address are valid for the lengths given.
        let sent = unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                request.as_ptr().cast(),
                request.len(),
                0,
                (&kernel as *const libc::sockaddr_nl).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut answer = [0u8; 1024];
        // SAFETY: the buffer is valid for its length.
        let got =
            unsafe { libc::recv(fd.as_raw_fd(), answer.as_mut_ptr().cast(), answer.len(), 0) };
        if got < 0 {
            return Err(io::Error::last_os_error());
        }
        parse(&answer[..got as usize])
    }

    /// The request: this one socket (exact match, cookie ignored), in any state.
    fn request(local: SocketAddr, remote: SocketAddr) -> [u8; REQUEST_LEN] {
        let mut r = [0u8; REQUEST_LEN];
        r[0..4].copy_from_slice(&(REQUEST_LEN as u32).to_ne_bytes());
        r[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        r[6..8].copy_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
        r[8..12].copy_from_slice(&1u32.to_ne_bytes());
        let body = &mut r[16..];
        body[0] = match local.ip() {
            IpAddr::V4(_) => libc::AF_INET as u8,
            IpAddr::V6(_) => libc::AF_INET6 as u8,
        };
        body[1] = libc::IPPROTO_TCP as u8;
        body[4..8].copy_from_slice(&u32::MAX.to_ne_bytes());
        body[8..10].copy_from_slice(&local.port().to_be_bytes());
        body[10..12].copy_from_slice(&remote.port().to_be_bytes());
        put_ip(&mut body[12..28], local.ip());
        put_ip(&mut body[28..44], remote.ip());
        body[48..56].fill(0xff);
        r
    }

    fn put_ip(slot: &mut [u8], ip: IpAddr) {
        match ip {
            IpAddr::V4(ip) => slot[..4].copy_from_slice(&ip.octets()),
            IpAddr::V6(ip) => slot.copy_from_slice(&ip.octets()),
        }
    }

    /// Reads the kernel's answer: a socket record, or an error (`ENOENT`: no such socket).
    fn parse(answer: &[u8]) -> io::Result<Option<u32>> {
        let word = |at: usize| -> io::Result<u32> {
            answer
                .get(at..at + 4)
                .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "short sock_diag answer"))
        };
        let kind = answer
            .get(4..6)
            .map(|b| u16::from_ne_bytes([b[0], b[1]]))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "empty sock_diag answer"))?;
        if kind == libc::NLMSG_ERROR as u16 {
            let errno = -(word(16)? as i32);
            return match errno {
                libc::ENOENT => Ok(None),
                e => Err(io::Error::from_raw_os_error(e)),
            };
        }
        if kind != SOCK_DIAG_BY_FAMILY {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unexpected netlink message type {kind}"),
            ));
        }
        // A socket no process holds (closed, TIME_WAIT) has no inode; its uid means nothing.
        if word(INODE_AT)? == 0 {
            return Ok(None);
        }
        word(UID_AT).map(Some)
    }
}

#[cfg(not(target_os = "linux"))]
mod sock_diag {
    //! No per-connection owner lookup on this system yet.

    use std::io;
    use std::net::SocketAddr;

    pub(super) fn owner_of(_local: SocketAddr, _remote: SocketAddr) -> io::Result<Option<u32>> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no connection owner lookup on this system",
        ))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn a_live_loopback_connection_of_ours_is_our_own_on_v4_and_v6() {
        for bind in ["127.0.0.1:0", "[::1]:0"] {
            let Ok(listener) = TcpListener::bind(bind) else {
                continue; // no IPv6 here
            };
            let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (server, peer) = listener.accept().unwrap();
            assert_eq!(
                owner(server.local_addr().unwrap(), peer),
                Peer::SameUser,
                "{bind}"
            );
            drop(client);
        }
    }

    #[test]
    fn a_client_that_closed_at_once_has_no_owner() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, peer) = listener.accept().unwrap();
        drop(client);
        assert_eq!(
            owner(server.local_addr().unwrap(), peer),
            Peer::OtherUser(None)
        );
    }

    #[test]
    fn no_such_connection_has_no_owner() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let nobody: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(
            owner(listener.local_addr().unwrap(), nobody),
            Peer::OtherUser(None)
        );
    }
}
