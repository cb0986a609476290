//! One proxy: its URL as set (`http://[user:password@]host[:port]`, the scheme optional),
//! parsed once, with the credentials kept for `Proxy-Authorization` and left out of
//! everything shown.

use super::NetError;
use base64::Engine;
use percent_encoding::percent_decode_str;
use url::Url;

/// A proxy reached over plain HTTP, tunnelling with `CONNECT` (and forwarding `http://`
/// requests). Debug and the redacted form never show the password.
#[derive(Clone)]
pub struct ProxyTarget {
    url: Url,
    authority: String,
    basic_auth: Option<String>,
    source_name: String,
}

impl ProxyTarget {
    /// Parses `value` set by `source_name` (an environment variable or a `state.json` key).
    pub(super) fn parse(value: &str, source_name: String) -> Result<Self, NetError> {
        let fail = |detail: &str| NetError::Proxy {
            source_name: source_name.clone(),
            detail: detail.to_owned(),
        };
        let value = value.trim();
        let with_scheme = if value.contains("://") {
            value.to_owned()
        } else {
            format!("http://{value}")
        };
        let url = Url::parse(&with_scheme).map_err(|_| fail("not a URL"))?;
        if url.scheme() != "http" {
            return Err(fail(
                "only http:// proxies are supported, not socks or https:// ones",
            ));
        }
        let host = match url.host_str() {
            Some(h) if !h.is_empty() => h.to_owned(),
            _ => return Err(fail("no host")),
        };
        let port = url.port_or_known_default().unwrap_or(80);
        let basic_auth = (!url.username().is_empty()).then(|| {
            let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            let pair = format!(
                "{}:{}",
                decode(url.username()),
                decode(url.password().unwrap_or(""))
            );
            base64::engine::general_purpose::STANDARD.encode(pair)
        });
        Ok(Self {
            authority: format!("{host}:{port}"),
            url,
            basic_auth,
            source_name,
        })
    }

    /// The URL with its credentials (for the HTTP client only; never show it).
    pub(super) fn url(&self) -> &Url {
        &self.url
    }

    /// `host:port` of the proxy.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The value of `Proxy-Authorization` (`Basic …`) when the URL carries credentials.
    pub(super) fn authorization(&self) -> Option<String> {
        self.basic_auth.as_ref().map(|b| format!("Basic {b}"))
    }

    /// The URL with any user and password replaced by `***`.
    pub fn redacted(&self) -> String {
        let mut shown = self.url.clone();
        if !shown.username().is_empty() || shown.password().is_some() {
            let _ = shown.set_password(None);
            let _ = shown.set_username("***");
        }
        shown.to_string()
    }

    /// The variable or `state.json` key that set it.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }
}

impl std::fmt::Debug for ProxyTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ProxyTarget({} from {})",
            self.redacted(),
            self.source_name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_become_basic_auth_and_stay_hidden() {
        let p = ProxyTarget::parse("http://me%40corp:p%3Ass@proxy:3128", "X".into()).unwrap();
        assert_eq!(p.authority(), "proxy:3128");
        // base64("me@corp:p:ss")
        assert_eq!(p.authorization().unwrap(), "Basic bWVAY29ycDpwOnNz");
        assert_eq!(p.redacted(), "http://***@proxy:3128/");
        assert!(!format!("{p:?}").contains("ss"));
        let bare = ProxyTarget::parse("proxy.corp", "X".into()).unwrap();
        assert_eq!(bare.authority(), "proxy.corp:80");
        assert!(bare.authorization().is_none());
    }
}
