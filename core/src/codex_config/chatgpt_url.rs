//! Codex's `chatgpt_base_url` pointed at the router (`setup-codex --chatgpt`), so that
//! Codex's own ChatGPT calls (usage, workspace discovery, plugins, analytics) go through it
//! as the serving account, and put back as it was when the set-up is removed.
//!
//! Codex joins `chatgpt_base_url` (trailing slashes trimmed) with `/wham/…`, `/ps/…` and
//! `/codex/…` when it contains `/backend-api` (else `/api/codex/…`), so the router's URL is
//! `http://HOST:PORT/backend-api/` (`/p/NAME/backend-api/` for a pinned profile), the form
//! of Codex's default `https://chatgpt.com/backend-api/`.
//!
//! The line written carries a comment that says it is the router's and keeps the value it
//! replaced (`# codex-router replaced: chatgpt_base_url = "…"`), or that there was none
//! (`# codex-router added chatgpt_base_url`).

use toml_edit::{DocumentMut, Item, Value, value};

/// The key in `config.toml`.
const KEY: &str = "chatgpt_base_url";
/// The comment above a value the set-up replaced, followed by the old value.
const REPLACED_NOTE: &str = "# codex-router replaced: chatgpt_base_url = ";
/// The comment above a value the set-up added where there was none.
const ADDED_NOTE: &str = "# codex-router added chatgpt_base_url\n";

/// The router's `chatgpt_base_url` beside the provider URL `provider_url`
/// ([`super::provider::base_url`]): `…/v1` becomes `…/backend-api/`, so a pinned profile's
/// is `/p/NAME/backend-api/`.
pub fn beside(provider_url: &str) -> String {
    let root = provider_url.strip_suffix("/v1").unwrap_or(provider_url);
    format!("{root}/backend-api/")
}

/// The path a set-up for `profile` writes (`/backend-api/` or `/p/NAME/backend-api/`).
fn own_path(profile: Option<&str>) -> String {
    match profile {
        Some(name) => format!("/p/{name}/backend-api/"),
        None => "/backend-api/".to_owned(),
    }
}

/// The comment prefix of the key's line, if any.
fn prefix(doc: &DocumentMut) -> Option<String> {
    doc.key(KEY)
        .and_then(|k| k.leaf_decor().prefix())
        .and_then(|p| p.as_str())
        .map(str::to_owned)
}

/// Whether `doc`'s `chatgpt_base_url` is the one a set-up for `profile` wrote.
pub(super) fn is_set(doc: &DocumentMut, profile: Option<&str>) -> bool {
    let ours = prefix(doc).is_some_and(|p| p.contains(REPLACED_NOTE) || p.contains(ADDED_NOTE));
    let path = doc
        .get(KEY)
        .and_then(Item::as_str)
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| u.path().to_owned());
    ours && path.as_deref() == Some(own_path(profile).as_str())
}

/// Sets `chatgpt_base_url = url`, noting the value it replaces (once: setting up again
/// keeps the first note).
pub(super) fn set(doc: &mut DocumentMut, url: &str) {
    let before = prefix(doc).unwrap_or_default();
    let already_ours = before.contains(REPLACED_NOTE) || before.contains(ADDED_NOTE);
    let previous = doc.get(KEY).and_then(Item::as_value).cloned();
    let decor = previous.as_ref().map(|v| v.decor().clone());
    let mut new = Value::from(url);
    if let Some(decor) = decor {
        *new.decor_mut() = decor;
    }
    doc[KEY] = Item::Value(new);
    if already_ours {
        return;
    }
    let note = match previous {
        Some(mut old) => {
            old.decor_mut().clear();
            format!("{REPLACED_NOTE}{}\n", old.to_string().trim())
        }
        None => ADDED_NOTE.to_owned(),
    };
    if let Some(mut key) = doc.key_mut(KEY) {
        key.leaf_decor_mut().set_prefix(format!("{before}{note}"));
    }
}

/// Puts back what a set-up for `profile` replaced (or removes the line it added); whether
/// anything changed. A `chatgpt_base_url` that is not the set-up's is left alone.
pub(super) fn restore(doc: &mut DocumentMut, profile: Option<&str>) -> bool {
    if !is_set(doc, profile) {
        return false;
    }
    let before = prefix(doc).unwrap_or_default();
    if let Some(start) = before.rfind(REPLACED_NOTE) {
        let line = before[start + REPLACED_NOTE.len()..]
            .lines()
            .next()
            .unwrap_or("");
        if let Ok(old) = line.trim().parse::<Value>() {
            let kept = before[..start].to_owned();
            doc[KEY] = value(old.as_str().unwrap_or_default());
            if let Some(mut key) = doc.key_mut(KEY) {
                key.leaf_decor_mut().set_prefix(kept);
            }
            return true;
        }
    }
    doc.remove(KEY);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_then_restore_gives_back_the_file() {
        for existing in [
            "model = \"gpt-5.5\"\n",
            "# mine\nchatgpt_base_url = \"https://chatgpt.com/backend-api/\"\nmodel = \"m\"\n",
        ] {
            let mut doc: DocumentMut = existing.parse().unwrap();
            set(&mut doc, "http://127.0.0.1:9876/backend-api/");
            assert!(is_set(&doc, None), "{doc}");
            assert!(!is_set(&doc, Some("work")));
            // Setting up again (another port) keeps the first note.
            set(&mut doc, "http://127.0.0.1:1234/backend-api/");
            let text = doc.to_string();
            assert_eq!(text.matches("# codex-router").count(), 1, "{text}");
            assert_eq!(
                doc[KEY].as_str(),
                Some("http://127.0.0.1:1234/backend-api/")
            );
            assert!(!restore(&mut doc, Some("work")));
            assert!(restore(&mut doc, None));
            let back = doc.to_string();
            assert_eq!(back.trim(), existing.trim(), "{back}");
        }
    }

    #[test]
    fn a_users_own_value_is_not_ours() {
        let mut doc: DocumentMut = "chatgpt_base_url = \"http://127.0.0.1:9876/backend-api/\"\n"
            .parse()
            .unwrap();
        assert!(!is_set(&doc, None));
        assert!(!restore(&mut doc, None));
        assert_eq!(
            beside("http://127.0.0.1:9876/p/work/v1"),
            "http://127.0.0.1:9876/p/work/backend-api/"
        );
        assert_eq!(beside("http://[::1]:1/v1"), "http://[::1]:1/backend-api/");
    }
}
