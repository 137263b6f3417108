//! The flow runtime: triggers, the operation registry, templating and runs.
//!
//! Empty until the engine lands (issue 4); the crate exists so the workspace layout is final.
