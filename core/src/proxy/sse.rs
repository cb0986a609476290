//! Server-sent events: parsing the upstream stream and translating it.
