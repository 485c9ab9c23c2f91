//! Integration tests: each test spawns the real app on a random port with a fresh database
//! (SQLite, or PostgreSQL with `CAIRN_TEST_DATABASE=postgres`) and talks to it over HTTP.

// A failed expectation should panic with the value: that is what a test is for.
#![allow(clippy::unwrap_used)]

mod support;

mod accounts;
mod activity;
mod admin;
mod affiliates;
mod analytics;
mod assignments;
mod billing;
mod comments;
mod export;
mod import;
mod journeys;
mod oauth;
mod organize;
mod orgs;
mod permissions;
mod platform;
mod prompts;
mod public;
mod rest_api;
mod scheduler;
mod searches;
mod seats;
mod sequences;
mod storage;
mod stripe;
mod test_panel;
mod webhooks;
