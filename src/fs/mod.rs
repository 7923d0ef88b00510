//! The filesystem: Landlock's ruleset, paths resolved as the caller would,
//! fs_deny, and the calls made on the job's behalf (opens, metadata,
//! names) through the opener.

pub mod deny;
pub mod landlock;
pub mod metadata;
pub mod names;
pub mod open_on_behalf;
pub mod opener;
pub mod opener_calls;
pub mod paths;
