//! The end-to-end suite: every test drives the real router against a real database (a fresh
//! SQLite file, and a fresh PostgreSQL schema when `TEST_DATABASE_URL` is set).
//!
//! One test binary, so that the helpers below are compiled and the application linked once
//! for the whole suite; each module is one concern of the API.

mod common;
mod flows_support;
mod rest_support;
mod smtp_support;

mod auth;
mod events;
mod filter_property;
mod flow_api;
mod flows_branches;
mod flows_exec;
mod flows_filters;
mod flows_items;
mod flows_mail;
mod flows_manual;
mod flows_operations;
mod flows_reload;
mod flows_request;
mod flows_return_path;
mod flows_runlog;
mod flows_trigger_op;
mod flows_webhook;
mod graphql_aggregate;
mod graphql_errors;
mod graphql_filter;
mod graphql_plain;
mod graphql_read;
mod graphql_validation;
mod graphql_write;
mod hostile;
mod items_rest;
mod mcp;
mod openapi;
mod permissions;
mod replicas;
mod rest_errors;
mod rest_parity;
mod rest_query;
mod rest_read;
mod rest_write;
mod run_queue;
mod runs_data;
mod schedule;
mod schema_sdl;
mod smoke;
mod subscriptions;
mod webhook_cache;
