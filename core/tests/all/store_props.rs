//! Property tests of the profile store: any sequence of switch, save, rename, remove,
//! refresh and "Codex rewrote auth.json" (non-atomically, sometimes with a store operation
//! while the file is half-written) over two to four logins, two of them members of one Team
//! workspace (same account id) and one the same person in another workspace, keeps:
//!
//! - every login's newest refresh token on disk where it will be used: in its profile, or
//!   in `auth.json` when that login is the active one; and `auth.json` never holds an older
//!   copy of its login than the newest (Codex would present a spent token);
//! - at most one profile per identity;
//! - no temp file or staging folder behind;
//! - every file parseable, every profile usable, and `current` naming the active login's
//!   profile.
//!
//! Removing a profile is the user's explicit choice, so the sequences only remove a profile
//! whose login is the active one (it lives on in `auth.json`, and `save` can keep it again).
//! A forced switch, which discards an unsaved login on purpose, is not generated.

use codex_router_core::auth_file::AuthFile;
use codex_router_core::files::TEMP_PREFIX;
use codex_router_core::home::{CodexHome, ProfileName};
use codex_router_core::store::{Store, StoreError};
use codex_router_testkit::home::{TempHome, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Profile names the operations pick from (some are never created, some collide).
const NAMES: &[&str] = &["p0", "p1", "p2", "p3", "work", "team-b"];

/// The logins: two members of one Team workspace, one other account, and the first person
/// again in a workspace of her own.
fn people() -> Vec<Identity> {
    vec![
        Identity::new("alice", "team").in_account("acct-team"),
        Identity::new("bob", "team").in_account("acct-team"),
        Identity::new("carol", "plus"),
        Identity::new("alice", "plus").in_account("acct-alice-personal"),
    ]
}

/// Which profile an operation acts on: mostly one that exists.
#[derive(Debug, Clone)]
enum Pick {
    /// One of the existing profiles (any name when there is none).
    Profile(Index),
    /// A name from [`NAMES`], which may or may not exist.
    Name(usize),
}

impl Pick {
    fn name(&self, profiles: &BTreeMap<String, (usize, u32)>) -> String {
        match self {
            Self::Profile(i) if !profiles.is_empty() => profiles
                .keys()
                .nth(i.index(profiles.len()))
                .unwrap()
                .clone(),
            Self::Profile(i) => NAMES[i.index(NAMES.len())].to_owned(),
            Self::Name(n) => NAMES[*n].to_owned(),
        }
    }
}

/// A store operation.
#[derive(Debug, Clone)]
enum Op {
    Switch(Pick),
    /// Save the login in `auth.json` under this name.
    Save(usize),
    Rename(Pick, usize),
    /// Only applied when the profile's login is the active one.
    Remove(Pick),
    /// `adopt_newer`, then a rotated token written with `persist_refreshed`.
    Refresh(Pick),
    /// `list`, `current` and `status` (only read).
    Look,
    /// Codex refreshed the active login and rewrote `auth.json` in place. With `cut`, the
    /// file is first left cut short at that point while `during` runs.
    CodexRewrite {
        cut: Option<Index>,
        during: Option<Box<Op>>,
    },
}

fn name() -> impl Strategy<Value = usize> {
    0..NAMES.len()
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        4 => any::<Index>().prop_map(Pick::Profile),
        1 => name().prop_map(Pick::Name),
    ]
}

/// The router's own operations.
fn plain_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => pick().prop_map(Op::Switch),
        2 => name().prop_map(Op::Save),
        2 => (pick(), name()).prop_map(|(a, b)| Op::Rename(a, b)),
        2 => pick().prop_map(Op::Remove),
        3 => pick().prop_map(Op::Refresh),
        1 => Just(Op::Look),
    ]
}

/// Any operation; the router's own ones three times as often as a Codex rewrite.
fn op() -> impl Strategy<Value = Op> {
    // What may run while `auth.json` is half-written (removing is left out: whether the
    // profile's login is the active one cannot be known then).
    let during = prop_oneof![
        pick().prop_map(Op::Switch),
        name().prop_map(Op::Save),
        (pick(), name()).prop_map(|(a, b)| Op::Rename(a, b)),
        pick().prop_map(Op::Refresh),
        Just(Op::Look),
    ];
    let rewrite = (
        proptest::option::weighted(0.5, any::<Index>()),
        proptest::option::weighted(0.3, during),
    )
        .prop_map(|(cut, during)| Op::CodexRewrite {
            during: cut.as_ref().and(during).map(Box::new),
            cut,
        });
    prop_oneof![6 => plain_op(), 2 => rewrite]
}

/// The starting point: how many logins, which one `auth.json` holds, and whether that one
/// is saved as a profile too (every other login is).
#[derive(Debug, Clone)]
struct Start {
    logins: usize,
    active: usize,
    active_saved: bool,
}

fn start() -> impl Strategy<Value = Start> {
    (2..=4usize)
        .prop_flat_map(|logins| (Just(logins), 0..logins, any::<bool>()))
        .prop_map(|(logins, active, active_saved)| Start {
            logins,
            active,
            active_saved,
        })
}

/// The test's knowledge of the logins: the newest generation of each.
struct World {
    home: TempHome,
    store: Store,
    people: Vec<Identity>,
    newest: Vec<u32>,
}

/// A refresh token that says whose it is and which generation.
fn refresh_token(login: usize, generation: u32) -> String {
    format!("rt-{login}-{generation}-SECRETREFRESH")
}

/// Which login and generation a file holds, from its refresh token.
fn whose(file: &AuthFile) -> (usize, u32) {
    let token = file.tokens.as_ref().expect("tokens").refresh_token.expose();
    let mut parts = token.split('-').skip(1);
    let login = parts.next().and_then(|s| s.parse().ok());
    let generation = parts.next().and_then(|s| s.parse().ok());
    login.zip(generation).expect("a refresh token of the test")
}

fn read(path: &Path) -> Option<AuthFile> {
    match std::fs::read(path) {
        Ok(bytes) => Some(AuthFile::parse(&bytes).unwrap_or_else(|e| {
            panic!("{} does not parse: {e}", path.display());
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

impl World {
    fn new(start: &Start) -> Self {
        let home = TempHome::new();
        let store = Store::new(CodexHome::at(home.path()));
        let world = Self {
            store,
            people: people().into_iter().take(start.logins).collect(),
            newest: vec![1; start.logins],
            home,
        };
        for login in 0..start.logins {
            if login != start.active || start.active_saved {
                world
                    .home
                    .write_profile(&format!("p{login}"), &world.login(login, 1));
            }
        }
        world.home.write_auth(&world.login(start.active, 1));
        if start.active_saved {
            world.home.write_current(&format!("p{}", start.active));
        }
        world
    }

    /// Generation `generation` of login `login`, as Codex writes it.
    fn login(&self, login: usize, generation: u32) -> Value {
        let mut v = chatgpt_auth(&self.people[login], generation, 3600);
        v["tokens"]["refresh_token"] = refresh_token(login, generation).into();
        v
    }

    fn profile_path(&self, name: &str) -> std::path::PathBuf {
        self.home.profile_path(name)
    }

    /// The login in each profile folder, by name.
    fn profiles(&self) -> BTreeMap<String, (usize, u32)> {
        let mut out = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(self.home.path().join("profiles")) else {
            return out;
        };
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let file = read(&self.profile_path(&name))
                .unwrap_or_else(|| panic!("profile {name} has no auth.json"));
            out.insert(name, whose(&file));
        }
        out
    }

    /// The login `auth.json` holds.
    fn active(&self) -> Option<(usize, u32)> {
        read(&self.home.auth_path()).map(|f| whose(&f))
    }

    /// Applies one operation and checks its result against what it should be.
    /// `writing` is the login Codex is half-way through writing to `auth.json`, if any.
    fn apply(&mut self, op: &Op, writing: Option<usize>) -> Result<(), TestCaseError> {
        let profiles = self.profiles();
        let active = if writing.is_some() {
            None
        } else {
            self.active()
        };
        let active_saved = active.is_some_and(|(l, _)| profiles.values().any(|(p, _)| *p == l));
        match op {
            Op::Switch(pick) => {
                let name = &pick.name(&profiles);
                let result = self.store.switch(name, false);
                match profiles.get(name) {
                    None => prop_assert!(matches!(result, Err(StoreError::NotFound(_)))),
                    Some((target, _)) => {
                        let unsaved_other =
                            active.is_some_and(|(l, _)| !active_saved && l != *target);
                        if unsaved_other {
                            prop_assert!(
                                matches!(result, Err(StoreError::UnsavedLogin(_))),
                                "{result:?}"
                            );
                        } else {
                            prop_assert!(result.is_ok(), "switch {name}: {result:?}");
                        }
                    }
                }
            }
            Op::Save(n) => {
                let name = NAMES[*n];
                let result = self.store.save(name);
                if profiles.contains_key(name) {
                    prop_assert!(matches!(result, Err(StoreError::Exists(_))), "{result:?}");
                } else if writing.is_some() {
                    prop_assert!(matches!(result, Err(StoreError::NoLogin(_))), "{result:?}");
                } else if active_saved {
                    prop_assert!(
                        matches!(result, Err(StoreError::AlreadySaved(_))),
                        "{result:?}"
                    );
                } else {
                    prop_assert!(result.is_ok(), "save {name}: {result:?}");
                }
            }
            Op::Rename(a, b) => {
                let (old, new) = (&a.name(&profiles), NAMES[*b]);
                let result = self.store.rename(old, new);
                if !profiles.contains_key(old) {
                    prop_assert!(matches!(result, Err(StoreError::NotFound(_))));
                } else if profiles.contains_key(new) {
                    prop_assert!(matches!(result, Err(StoreError::Exists(_))));
                } else {
                    prop_assert!(result.is_ok(), "rename {old} {new}: {result:?}");
                }
            }
            Op::Remove(pick) => {
                let name = &pick.name(&profiles);
                let is_active = matches!((profiles.get(name), active),
                    (Some((p, _)), Some((a, _))) if p == &a);
                if is_active {
                    let result = self.store.remove(name);
                    prop_assert!(result.is_ok(), "remove {name}: {result:?}");
                }
            }
            Op::Refresh(pick) => {
                let name = &pick.name(&profiles);
                let Some((login, _)) = profiles.get(name).copied() else {
                    return Ok(());
                };
                if writing == Some(login) {
                    // Codex is refreshing this very login: nobody else can hold its newest
                    // token until Codex has written it.
                    return Ok(());
                }
                let profile = ProfileName::new(name).unwrap();
                let adopted = self.store.adopt_newer(&profile);
                prop_assert!(adopted.is_ok(), "adopt_newer {name}: {adopted:?}");
                let adopted = whose(&adopted.unwrap());
                prop_assert_eq!(
                    adopted,
                    (login, self.newest[login]),
                    "the refresh of {} would present a spent token",
                    name
                );
                let generation = self.newest[login] + 1;
                let bytes = serde_json::to_vec(&self.login(login, generation)).unwrap();
                let file = AuthFile::parse(&bytes).unwrap();
                let result = self.store.persist_refreshed(&profile, &file);
                self.newest[login] = generation;
                let expected = active.is_some_and(|(l, _)| l == login);
                prop_assert!(
                    matches!(result, Ok(wrote) if wrote == expected),
                    "persist_refreshed {name}: {result:?}"
                );
            }
            Op::Look => {
                prop_assert!(self.store.list().is_ok());
                prop_assert!(self.store.current().is_ok());
                prop_assert!(self.store.status().is_ok());
            }
            Op::CodexRewrite { cut, during } => {
                let Some((login, _)) = active else {
                    return Ok(());
                };
                let generation = self.newest[login] + 1;
                let bytes = serde_json::to_vec_pretty(&self.login(login, generation)).unwrap();
                let path = self.home.auth_path();
                // Codex truncates and writes in place: a reader can see any prefix.
                if let Some(cut) = cut {
                    std::fs::write(&path, &bytes[..cut.index(bytes.len())]).unwrap();
                    if let Some(op) = during {
                        self.apply(op, Some(login))?;
                    }
                }
                std::fs::write(&path, &bytes).unwrap();
                self.newest[login] = generation;
            }
        }
        Ok(())
    }

    /// The invariants that hold after every step.
    fn check(&self) -> Result<(), TestCaseError> {
        let profiles = self.profiles();
        let active = self.active();
        // Every login's newest token is where it will be used.
        for (login, &newest) in self.newest.iter().enumerate() {
            let in_profile = profiles.values().any(|&p| p == (login, newest));
            let in_auth = active == Some((login, newest));
            prop_assert!(
                in_profile || in_auth,
                "login {} lost its newest token (generation {}): profiles {:?}, auth.json {:?}",
                login,
                newest,
                profiles,
                active
            );
        }
        if let Some((login, generation)) = active {
            prop_assert_eq!(
                generation,
                self.newest[login],
                "auth.json holds a spent token of login {}",
                login
            );
        }
        // One profile per identity, and each holds its own login.
        let mut owners = BTreeMap::new();
        for (name, (login, _)) in &profiles {
            if let Some(other) = owners.insert(*login, name) {
                prop_assert!(
                    false,
                    "login {} has two profiles: {} and {}",
                    login,
                    other,
                    name
                );
            }
        }
        // Every profile is usable, and `current` names the active login's profile.
        let listed = self
            .store
            .list()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(listed.len(), profiles.len());
        for p in &listed {
            prop_assert!(
                p.login.is_ok(),
                "profile {} unusable: {:?}",
                p.name,
                p.login
            );
        }
        let expected = active.and_then(|(login, _)| owners.get(&login).map(|n| n.to_string()));
        let current = self
            .store
            .current()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(current, expected);
        // No temp file or staging folder anywhere.
        let mut dirs = vec![
            self.home.path().to_path_buf(),
            self.home.path().join("profiles"),
            self.home.path().join("router"),
        ];
        dirs.extend(
            profiles
                .keys()
                .map(|n| self.home.path().join("profiles").join(n)),
        );
        for dir in dirs {
            for entry in std::fs::read_dir(&dir).into_iter().flatten() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                prop_assert!(
                    !name.starts_with(TEMP_PREFIX),
                    "{} left in {}",
                    name,
                    dir.display()
                );
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(Config {
        cases: 32,
        max_shrink_iters: 2000,
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn no_sequence_of_operations_loses_a_login(
        start in start(),
        ops in proptest::collection::vec(op(), 1..14),
    ) {
        let mut world = World::new(&start);
        world.check()?;
        for op in &ops {
            world.apply(op, None)?;
            world.check()?;
        }
    }
}
