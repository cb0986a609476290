//! Chat Completions <-> Responses translation.
