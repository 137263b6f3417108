//! The flowline server: configuration, database start-up, auth and the HTTP routes.
//! Kept thin: all behaviour lives in the domain and schema crates.

pub mod app;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod export;
pub mod flow_api;
pub mod graphql;
pub mod mcp;
pub mod openapi;
pub mod rest;
pub mod runs;
pub mod trigger;

pub use app::{AppState, router};
