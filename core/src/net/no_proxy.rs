//! `NO_PROXY`: the hosts reached directly. Entries are comma-separated; `*` matches every
//! host; an IP address or a network (`10.0.0.0/8`, `fd00::/8`) matches the addresses in
//! it; any other entry is a domain matching itself and its subdomains (a leading `.` or
//! `*.` is the same). A `:port` after an entry is ignored, as curl does.

use std::net::IpAddr;

/// A parsed `NO_PROXY` list.
#[derive(Debug, Clone)]
pub(super) struct NoProxy {
    entries: Vec<Entry>,
    listing: String,
}

#[derive(Debug, Clone)]
enum Entry {
    Everything,
    Network(IpAddr, u8),
    Domain(String),
}

impl NoProxy {
    /// Parses a list; entries that mean nothing are left out.
    pub(super) fn parse(list: &str) -> Self {
        let entries: Vec<Entry> = list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(entry)
            .collect();
        let listing = list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        Self { entries, listing }
    }

    /// The list as set, tidied.
    pub(super) fn listing(&self) -> &str {
        &self.listing
    }

    /// Whether `host` (a name, or an address with or without brackets) is reached directly.
    pub(super) fn matches(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let ip: Option<IpAddr> = host.parse().ok();
        self.entries.iter().any(|e| match e {
            Entry::Everything => true,
            Entry::Network(net, bits) => ip.is_some_and(|ip| in_network(ip, *net, *bits)),
            Entry::Domain(d) => {
                host == *d
                    || (host.len() > d.len()
                        && host.ends_with(d.as_str())
                        && host.as_bytes()[host.len() - d.len() - 1] == b'.')
            }
        })
    }
}

fn entry(raw: &str) -> Entry {
    if raw == "*" {
        return Entry::Everything;
    }
    let (addr, bits) = match raw.split_once('/') {
        Some((a, b)) => (a, b.parse::<u8>().ok()),
        None => (raw, None),
    };
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = addr.parse::<IpAddr>() {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        return Entry::Network(ip, bits.unwrap_or(max).min(max));
    }
    // A name, perhaps with a port (ignored) and a leading `.` or `*.`.
    let name = raw.rsplit_once(':').map_or(raw, |(n, _)| n);
    let name = name.trim_start_matches("*.").trim_start_matches('.');
    Entry::Domain(name.trim_end_matches('.').to_ascii_lowercase())
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_subdomains_addresses_and_networks() {
        let n =
            NoProxy::parse(" .corp.example, localhost:8080,127.0.0.1, 10.0.0.0/8, ::1, *.svc ,");
        for direct in [
            "corp.example",
            "api.corp.example",
            "LOCALHOST",
            "127.0.0.1",
            "10.200.3.4",
            "[::1]",
            "a.svc",
        ] {
            assert!(n.matches(direct), "{direct}");
        }
        for proxied in [
            "notcorp.example",
            "127.0.0.2",
            "11.0.0.1",
            "chatgpt.com",
            "svc2",
        ] {
            assert!(!n.matches(proxied), "{proxied}");
        }
        assert_eq!(
            n.listing(),
            ".corp.example, localhost:8080, 127.0.0.1, 10.0.0.0/8, ::1, *.svc"
        );
        assert!(NoProxy::parse("*").matches("anything.at.all"));
        assert!(!NoProxy::parse("").matches("x"));
    }
}
