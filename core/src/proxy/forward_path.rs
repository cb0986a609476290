//! The upstream URL a pass-through request goes to, built so that it can only name a path
//! under the upstream's base: each segment of the client's path is decoded and refused when
//! it is empty, `.` or `..`, or holds a slash or a backslash (raw or percent-encoded), then
//! encoded again; the result must keep the base's scheme, host, port and path.
//!
//! Without this, `/v1/%2e%2e/%2e%2e/backend-api/…` reached any path of the upstream host
//! with the profile's credentials: URL parsers apply dot segments (`%2e%2e` is `..`, `\` is
//! `/`) after the path has been joined as a string.

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// Why a path can't be forwarded (the message is safe to show: it names no secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// A segment that is empty, `.` or `..`, or that holds a slash or a backslash.
    #[error(
        "the path segment '{0}' is not allowed (no empty, '.', '..', slash or backslash segments)"
    )]
    Segment(String),
    /// A segment that is not UTF-8 once decoded.
    #[error("the path is not valid UTF-8 once percent-decoded")]
    NotUtf8,
    /// The result left the upstream's base (it can't, but it is checked).
    #[error("the path leaves the upstream's base URL")]
    OutsideBase,
    /// The base itself is not a URL (a broken setting).
    #[error("the upstream base URL '{0}' is not a URL")]
    BadBase(String),
}

/// What is percent-encoded in a rebuilt segment: controls, space and the characters that
/// would end or split a segment (`/`, `\`, `?`, `#`, `%`).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The decoded segments of `path` (which starts with `/`), each checked.
pub fn segments(path: &str) -> Result<Vec<String>, PathError> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    rest.split('/')
        .map(|raw| {
            let decoded = percent_decode_str(raw)
                .decode_utf8()
                .map_err(|_| PathError::NotUtf8)?;
            let bad = decoded.is_empty()
                || decoded == "."
                || decoded == ".."
                || decoded.contains(['/', '\\'])
                || raw.contains('\\');
            if bad {
                return Err(PathError::Segment(raw.chars().take(64).collect()));
            }
            Ok(decoded.into_owned())
        })
        .collect()
}

/// `base` + the checked segments of `path` + `query`: the URL to send a pass-through request
/// to. `base` is an upstream base URL such as `https://api.openai.com/v1`.
pub fn upstream_url(base: &str, path: &str, query: Option<&str>) -> Result<String, PathError> {
    let parsed_base = url::Url::parse(base).map_err(|_| PathError::BadBase(base.to_owned()))?;
    let base_path = parsed_base.path().trim_end_matches('/').to_owned();
    let mut joined = base.trim_end_matches('/').to_owned();
    for segment in segments(path)? {
        joined.push('/');
        joined.extend(utf8_percent_encode(&segment, SEGMENT));
    }
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        joined.push('?');
        joined.push_str(q);
    }
    // Parsed again as the HTTP client will: it must still be under the base.
    let url = url::Url::parse(&joined).map_err(|_| PathError::OutsideBase)?;
    let same_origin = url.scheme() == parsed_base.scheme()
        && url.host_str() == parsed_base.host_str()
        && url.port_or_known_default() == parsed_base.port_or_known_default();
    let under_base = url.path() == base_path
        || url
            .path()
            .strip_prefix(&base_path)
            .is_some_and(|r| r.starts_with('/'));
    if !(same_origin && under_base) {
        return Err(PathError::OutsideBase);
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://127.0.0.1:5000/backend-api/codex";

    #[test]
    fn plain_paths_are_kept() {
        assert_eq!(
            upstream_url(BASE, "/responses/compact", None).unwrap(),
            "http://127.0.0.1:5000/backend-api/codex/responses/compact"
        );
        assert_eq!(
            upstream_url(
                "https://api.openai.com/v1/",
                "/files/file-1/content",
                Some("a=b")
            )
            .unwrap(),
            "https://api.openai.com/v1/files/file-1/content?a=b"
        );
        assert_eq!(
            upstream_url(BASE, "/models/gpt%205", None).unwrap(),
            "http://127.0.0.1:5000/backend-api/codex/models/gpt%205"
        );
        assert_eq!(upstream_url(BASE, "/", None).unwrap(), BASE);
    }

    #[test]
    fn traversal_is_refused() {
        for bad in [
            "/../../backend-api/conversations",
            "/%2e%2e/%2e%2e/backend-api/conversations",
            "/%2E%2E/x",
            "/.%2e/x",
            "/./x",
            "/%2e/x",
            "/a/..",
            "/a\\..\\..\\x",
            "/..\\x",
            "/a%2f..%2fb",
            "/a%5c..%5cb",
            "/a//b",
            "/a/",
            "/%ff",
        ] {
            assert!(upstream_url(BASE, bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_query_cannot_change_the_path() {
        let url = upstream_url(BASE, "/models", Some("x=/../../y")).unwrap();
        assert_eq!(
            url::Url::parse(&url).unwrap().path(),
            "/backend-api/codex/models"
        );
    }
}
